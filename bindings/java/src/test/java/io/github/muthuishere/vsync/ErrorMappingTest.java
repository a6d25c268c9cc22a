package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * The core-error → Java-class table ({@code ErrorKind.java}), one dynamic test per kind of the
 * core's own list ({@code Testing.errorKinds()}), each raised through the native error path.
 */
class ErrorMappingTest {

    /** How Java raises the kinds outside the taxonomy (the root stands for a caught bug). */
    private static final Map<String, Class<? extends RuntimeException>> OUTSIDE = Map.of(
            "InternalError", VSyncException.class,
            "ClosedError", IllegalStateException.class,
            "NotFoundError", NoSuchElementException.class,
            "InvalidArgumentError", IllegalArgumentException.class);

    @TestFactory
    Stream<DynamicTest> everyCoreKindMapsToItsClassWithTheCoreCode() {
        List<Testing.Kind> kinds = Testing.errorKinds();
        assertEquals(7, kinds.stream().filter(Testing.Kind::taxonomy).count());
        assertEquals(
                OUTSIDE.keySet(),
                kinds.stream()
                        .filter(k -> !k.taxonomy())
                        .map(Testing.Kind::className)
                        .collect(Collectors.toSet()));
        return kinds.stream()
                .map(k -> DynamicTest.dynamicTest(k.className() + " → " + k.code(), () -> {
                    RuntimeException e = assertThrows(RuntimeException.class, () -> Testing.raise(k.number()));
                    assertTrue(e.getMessage().contains("raised for a test"), e.getMessage());
                    Class<?> expected = k.taxonomy()
                            ? Class.forName("io.github.muthuishere.vsync."
                                    + k.className().replaceAll("Error$", "Exception"))
                            : OUTSIDE.get(k.className());
                    assertEquals(expected, e.getClass());
                    assertEquals(k.taxonomy() || k.className().equals("InternalError"), e instanceof VSyncException);
                    if (e instanceof VSyncException v) {
                        assertEquals(k.code(), v.code());
                    }
                    rowOf(k.className()); // the table names the kind itself, not only by a fallback
                }));
    }

    private static ErrorKind rowOf(String coreClassName) {
        for (ErrorKind k : ErrorKind.values()) {
            if (k.coreClassName().equals(coreClassName)) {
                return k;
            }
        }
        throw new AssertionError("ErrorKind.java has no row for the core kind " + coreClassName);
    }

    @Test
    void theTableHasNoRowTheCoreDoesNotList() {
        Set<String> core =
                Testing.errorKinds().stream().map(Testing.Kind::className).collect(Collectors.toSet());
        for (ErrorKind k : ErrorKind.values()) {
            assertTrue(core.contains(k.coreClassName()), k.name());
        }
    }

    @Test
    void allSevenAreUncheckedSubclassesOfTheRoot() {
        Class<?>[] seven = {
            ConfigMissingException.class, ConfigUnsupportedVersionException.class, S3UnreachableException.class,
            ManifestNotFoundException.class, WrongPassphraseException.class, BundleCorruptException.class,
            UnsupportedSpecVersionException.class,
        };
        for (Class<?> c : seven) {
            assertEquals(VSyncException.class, c.getSuperclass());
        }
        assertEquals(RuntimeException.class, VSyncException.class.getSuperclass());
    }

    @Test
    void aRustPanicBecomesAnExceptionNotACrash() {
        String internal = Testing.errorKinds().stream()
                .filter(k -> k.className().equals("InternalError"))
                .findFirst()
                .orElseThrow()
                .code();
        for (int i = 0; i < 3; i++) {
            VSyncException e = assertThrows(VSyncException.class, Testing::panicInNative);
            assertEquals(VSyncException.class, e.getClass());
            assertEquals(internal, e.code());
            assertFalse(e.getMessage().contains("deliberate"), "the panic payload is not shown");
        }
        // The JVM and the library keep working afterwards.
        assertThrows(ConfigMissingException.class, () -> VsyncClient.openWith("", "p"));
    }

    @Test
    void anExceptionFromTheEnvLookupPropagatesUnchanged() {
        VsyncOptions opts = VsyncOptions.builder()
                .envLookup(k -> {
                    throw new UnsupportedOperationException("lookup failed for " + k);
                })
                .build();
        UnsupportedOperationException e =
                assertThrows(UnsupportedOperationException.class, () -> VsyncClient.open(opts));
        assertTrue(e.getMessage().contains("VSYNC_CONFIG"), e.getMessage());
    }

    @Test
    void aHugeTimeoutIsClampedNotAnArithmeticException() {
        // Issue 12 #7: Duration.toMillis() overflows past ~292 million years; the native side
        // clamps every deadline to 24 h, so the open goes on and fails on the config itself.
        for (Duration huge : new Duration[] {Duration.ofSeconds(Long.MAX_VALUE), ChronoUnit.FOREVER.getDuration()}) {
            VsyncOptions opts = VsyncOptions.builder().timeout(huge).build();
            assertThrows(BundleCorruptException.class, () -> VsyncClient.openWith("vsync-cfg-v1:x", "p", opts));
        }
    }

    @Test
    void sourceLabels() {
        assertEquals("vault", Source.VAULT.label());
        assertEquals("env", Source.ENV.label());
        assertEquals("default", Source.DEFAULT.label());
        assertEquals("missing", Source.MISSING.label());
    }
}
