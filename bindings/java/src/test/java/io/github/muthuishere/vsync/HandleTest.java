package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The handle over a payload (no S3): chain, assets, close, redaction, concurrency. */
class HandleTest {
    static final String PAYLOAD = "{\"kv\":{\"A\":\"va\",\"SECRET\":\"s3cr3t-value\",\"EMPTY\":\"\"},"
            + "\"assets\":{\"cert.pem\":\"AAEC/w==\"}}";

    static Vsync vault(Map<String, String> env) {
        Map<String, String> defaults = new LinkedHashMap<>();
        defaults.put("D", "dv");
        defaults.put("A", "default-a");
        return Testing.openPayload(PAYLOAD.getBytes(StandardCharsets.UTF_8), "dev", null, defaults, env);
    }

    @Test
    void chainOrderWithAnInjectedEnvironmentReadAtLookupTime() {
        Map<String, String> env = new HashMap<>();
        try (Vsync v = vault(env)) {
            assertEquals("va", v.getEnv("A"));
            assertEquals(Source.VAULT, v.envSource("A"));
            assertEquals("dv", v.getEnv("D"));
            assertEquals(Source.DEFAULT, v.envSource("D"));
            assertNull(v.getEnv("X"));
            assertFalse(v.hasEnv("X"));
            assertEquals(Source.MISSING, v.envSource("X"));
            // The environment changes after open: the next lookup sees it.
            env.put("X", "from-env");
            env.put("D", "");
            env.put("A", "env-a");
            assertEquals("from-env", v.getEnv("X"));
            assertEquals(Source.ENV, v.envSource("X"));
            assertEquals("", v.getEnv("D"), "an empty variable counts as set");
            assertEquals(Source.ENV, v.envSource("D"));
            assertEquals("va", v.getEnv("A"), "the vault wins over the environment");
            assertTrue(v.hasEnv("EMPTY"));
            assertEquals("", v.getEnv("EMPTY"));
        }
    }

    @Test
    void defaultEnvLookupIsSystemGetenv() {
        String path = System.getenv("PATH");
        try (Vsync v =
                Testing.openPayload(PAYLOAD.getBytes(StandardCharsets.UTF_8), "dev", null, Map.of(), System.getenv())) {
            assertEquals(path, v.getEnv("PATH"));
            assertEquals(Source.ENV, v.envSource("PATH"));
        }
        assertTrue(VsyncOptions.defaults().getEnvLookup().apply("PATH") != null);
    }

    @Test
    void assetsAreDefensiveCopies() {
        try (Vsync v = vault(Map.of())) {
            byte[] a = v.getAsContent("cert.pem");
            assertArrayEquals(new byte[] {0, 1, 2, (byte) 0xff}, a);
            a[0] = 42;
            assertArrayEquals(new byte[] {0, 1, 2, (byte) 0xff}, v.getAsContent("cert.pem"));
            assertArrayEquals("va".getBytes(StandardCharsets.UTF_8), v.getAsContent("A"), "a key's value as UTF-8");
            assertNull(v.getAsContent("nope"));
            assertEquals(List.of("A", "SECRET", "EMPTY"), v.keys());
            assertThrows(UnsupportedOperationException.class, () -> v.keys().add("x"));
        }
    }

    @Test
    void closeIsIdempotentThenEveryAccessorThrows() {
        Vsync v = vault(Map.of());
        assertEquals(0, v.generation());
        v.close();
        v.close();
        assertThrows(IllegalStateException.class, () -> v.getEnv("A"));
        assertThrows(IllegalStateException.class, () -> v.hasEnv("A"));
        assertThrows(IllegalStateException.class, () -> v.envSource("A"));
        assertThrows(IllegalStateException.class, () -> v.getAsContent("cert.pem"));
        assertThrows(IllegalStateException.class, v::keys);
        assertThrows(IllegalStateException.class, v::generation);
        assertThrows(IllegalStateException.class, v::remoteGeneration);
        assertThrows(IllegalStateException.class, v::hasNewVersion);
        assertEquals("<vsync:redacted gen=0 env=dev>", v.toString());
    }

    @Test
    void aPayloadHandleHasNoRemote() {
        try (Vsync v = vault(Map.of())) {
            assertThrows(ConfigMissingException.class, v::remoteGeneration);
        }
    }

    @Test
    void redaction() {
        try (Vsync v = vault(Map.of())) {
            assertEquals("<vsync:redacted gen=0 env=dev>", v.toString());
            assertEquals("<vsync:redacted gen=0 env=dev>", String.valueOf(v));
            assertFalse(v.toString().contains("s3cr3t"));
        }
        VsyncOptions o =
                VsyncOptions.builder().defaults(Map.of("TOKEN", "hunter2")).build();
        assertFalse(o.toString().contains("hunter2"));
    }

    @Test
    void closeRacingWithManyReadersNeverCrashes() throws Exception {
        for (int round = 0; round < 20; round++) {
            Vsync v = vault(Map.of("E", "e"));
            CloseRace.run(v, 8, 2000, round % 3, () -> {
                String a = v.getEnv("A");
                byte[] c = v.getAsContent("cert.pem");
                String e = v.getEnv("E");
                if (!"va".equals(a) || c.length != 4 || !"e".equals(e)) {
                    throw new AssertionError("torn read: " + a + " " + c.length + " " + e);
                }
            });
            assertThrows(IllegalStateException.class, () -> v.getEnv("A"));
        }
    }

    @Test
    void unreachableHandlesAreFreedByTheCleaner() throws Exception {
        // Many handles dropped without close(): the Cleaner wipes and frees them; no crash.
        for (int i = 0; i < 2000; i++) {
            vault(Map.of()).getEnv("A");
        }
        System.gc();
        Thread.sleep(100);
        try (Vsync v = vault(Map.of())) {
            assertEquals("va", v.getEnv("A"));
        }
    }

    @Test
    void theLibraryWasExtractedPrivatelyAndUnlinked() throws Exception {
        assertTrue(Testing.nativeLoadNanos() > 0);
        Path maps = Path.of("/proc/self/maps");
        if (Files.exists(maps) && System.getProperty("vsync.native.lib") == null) {
            String line = Files.readAllLines(maps).stream()
                    .filter(l -> l.contains("libvsync_jni"))
                    .findFirst()
                    .orElseThrow();
            assertTrue(line.contains("/vsync-jni-"), line);
            assertTrue(line.endsWith("(deleted)"), "the extracted copy is unlinked once loaded: " + line);
        }
    }
}
