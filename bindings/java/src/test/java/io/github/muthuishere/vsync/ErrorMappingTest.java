package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.muthuishere.vsync.internal.Testing;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The Rust-error → Java-class table (bindings/java/src/lib.rs `java_class`), one case per variant. */
class ErrorMappingTest {

    @ParameterizedTest(name = "kind {0} → {1}")
    @CsvSource({
        "1, io.github.muthuishere.vsync.ConfigMissingException, VSYNC_CONFIG_MISSING",
        "2, io.github.muthuishere.vsync.ConfigUnsupportedVersionException, VSYNC_CONFIG_UNSUPPORTED_VERSION",
        "3, io.github.muthuishere.vsync.S3UnreachableException, VSYNC_S3_UNREACHABLE",
        "4, io.github.muthuishere.vsync.ManifestNotFoundException, VSYNC_MANIFEST_NOT_FOUND",
        "5, io.github.muthuishere.vsync.WrongPassphraseException, VSYNC_WRONG_PASSPHRASE",
        "6, io.github.muthuishere.vsync.BundleCorruptException, VSYNC_BUNDLE_CORRUPT",
        "7, io.github.muthuishere.vsync.UnsupportedSpecVersionException, VSYNC_UNSUPPORTED_SPEC_VERSION",
    })
    void taxonomyKindsMapToTheirClassAndCode(int number, String className, String code) throws Exception {
        RuntimeException e = assertThrows(RuntimeException.class, () -> Testing.raise(number));
        assertEquals(Class.forName(className), e.getClass());
        VSyncException v = assertInstanceOf(VSyncException.class, e);
        assertEquals(code, v.code());
        assertTrue(e.getMessage().contains("raised for a test"), e.getMessage());
    }

    @Test
    void closedMapsToIllegalStateException() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Testing.raise(8));
        assertFalse(VSyncException.class.isInstance(e));
    }

    @Test
    void notFoundMapsToNoSuchElement() {
        // Only reachable through the hook: getAsContent turns it into null before it is thrown.
        assertThrows(NoSuchElementException.class, () -> Testing.raise(9));
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
        for (int i = 0; i < 3; i++) {
            VSyncException e = assertThrows(VSyncException.class, Testing::panicInNative);
            assertEquals(VSyncException.class, e.getClass());
            assertEquals("VSYNC_INTERNAL", e.code());
        }
        // The JVM and the library keep working afterwards.
        assertThrows(ConfigMissingException.class, () -> Testing.raise(1));
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
