package io.github.muthuishere.vsync;

import static io.github.muthuishere.vsync.Canonical.assertRaises;
import static io.github.muthuishere.vsync.harness.CliHarness.requireEnv;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.muthuishere.vsync.harness.CliHarness;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Against the real local S3 server of scripts/with-s3.sh, with vaults pushed by the vsync CLI.
 * Fails (never skips) when the harness variables are missing.
 */
class IntegrationTest {
    static final String PASS = "correct horse battery staple";
    static final String ENV_FILE =
            "DATABASE_URL=postgres://app@db/staging\nAPI_TOKEN=tok-s3cr3t-123\nSHARED=from-vault\n";
    static final byte[] CA =
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".getBytes(StandardCharsets.UTF_8);

    @RegisterExtension
    static final CliHarness cli = new CliHarness("java");

    /** Pushes a vault with the CLI; returns the generation it reports. */
    static long push(String config, String envFile) throws Exception {
        Path pass = cli.file("pass", PASS);
        Path env = cli.file("env", envFile);
        Path ca = cli.file("ca", CA, "rw-------");
        String out = cli.run(
                "push",
                "--config",
                config,
                "--passphrase-file",
                pass.toString(),
                "--env-file",
                env.toString(),
                "--asset",
                "tls/ca.pem=" + ca);
        Matcher m = Pattern.compile("pushed gen=(\\d+) ts=\\S+").matcher(out);
        assertTrue(m.find(), "unexpected push output: " + out);
        return Long.parseLong(m.group(1));
    }

    static String pushedVault() throws Exception {
        String config = cli.token(cli.uniquePrefix());
        assertEquals(1, push(config, ENV_FILE));
        return config;
    }

    // --- opening -------------------------------------------------------------------------------

    @Test
    void openReadsTheInjectedEnvironment() throws Exception {
        String config = pushedVault();
        Map<String, String> env = new HashMap<>();
        env.put("VSYNC_CONFIG", config);
        env.put("VSYNC_PASSPHRASE", PASS);
        env.put("SHARED", "from-env");
        env.put("LOG_LEVEL", "debug");
        VsyncOptions opts = VsyncOptions.builder()
                .envLookup(env::get)
                .defaults(Map.of("PORT", "8080", "LOG_LEVEL", "info"))
                .build();
        try (Vsync v = VsyncClient.open(opts)) {
            assertEquals(1, v.generation());
            assertEquals("postgres://app@db/staging", v.getEnv("DATABASE_URL"));
            assertEquals(Source.VAULT, v.envSource("DATABASE_URL"));
            assertEquals("from-vault", v.getEnv("SHARED"));
            assertEquals("debug", v.getEnv("LOG_LEVEL"));
            assertEquals(Source.ENV, v.envSource("LOG_LEVEL"));
            assertEquals("8080", v.getEnv("PORT"));
            assertEquals(Source.DEFAULT, v.envSource("PORT"));
            assertNull(v.getEnv("NOPE"));
            assertEquals(Source.MISSING, v.envSource("NOPE"));
            assertArrayEquals(CA, v.getAsContent("tls/ca.pem"));
            assertEquals(List.of("DATABASE_URL", "API_TOKEN", "SHARED"), v.keys());
            assertEquals(1, v.remoteGeneration());
            assertFalse(v.hasNewVersion());
            assertEquals("<vsync:redacted gen=1 env=staging>", v.toString());
            // Step 2 is read at lookup time.
            env.put("PORT", "9090");
            assertEquals("9090", v.getEnv("PORT"));
        }
    }

    @Test
    void environIsTheChainForEveryName() throws Exception {
        String config = pushedVault();
        Map<String, String> env = new HashMap<>();
        env.put("SHARED", "from-env");
        env.put("ONLY_ENV", "e");
        env.put("EMPTY_ENV", "");
        Map<String, String> defaults = Map.of("PORT", "8080", "ONLY_ENV", "d", "API_TOKEN", "default-token");
        VsyncOptions opts =
                VsyncOptions.builder().environment(env).defaults(defaults).build();
        Vsync v = VsyncClient.openWith(config, PASS, opts);
        try (v) {
            Map<String, String> view = v.environ();
            Map<String, String> expected = new java.util.TreeMap<>();
            expected.put("API_TOKEN", "tok-s3cr3t-123");
            expected.put("DATABASE_URL", "postgres://app@db/staging");
            expected.put("EMPTY_ENV", "");
            expected.put("ONLY_ENV", "e");
            expected.put("PORT", "8080");
            expected.put("SHARED", "from-vault");
            assertEquals(expected, view);
            assertEquals(List.copyOf(expected.keySet()), List.copyOf(view.keySet()), "sorted by name");
            for (Map.Entry<String, String> e : view.entrySet()) {
                assertEquals(v.getEnv(e.getKey()), e.getValue(), e.getKey());
            }
            assertThrows(UnsupportedOperationException.class, () -> view.put("X", "y"));
            env.put("ONLY_ENV", "changed");
            assertEquals("e", view.get("ONLY_ENV"), "a snapshot");
            assertEquals("changed", v.environ().get("ONLY_ENV"));
        }
        assertThrows(IllegalStateException.class, v::environ);
        // Without an injected environment: the process's names, every one of them.
        try (Vsync p = VsyncClient.openWith(config, PASS, VsyncOptions.defaults())) {
            Map<String, String> view = p.environ();
            assertTrue(view.keySet().containsAll(System.getenv().keySet()));
            assertEquals(System.getenv("PATH"), view.get("PATH"));
            assertEquals("from-vault", view.get("SHARED"));
        }
    }

    @Test
    void openReadsFilePathsWithTheModePolicy() throws Exception {
        String config = pushedVault();
        Path cfg = cli.file("config", config + "\n");
        Path pass = cli.file("pass", PASS + "\n");
        Map<String, String> env = new HashMap<>(Map.of(
                "VSYNC_CONFIG_FILE",
                cfg.toString(),
                "VSYNC_PASSPHRASE_FILE",
                pass.toString(),
                // _FILE wins over the direct variables:
                "VSYNC_CONFIG",
                "raw-json-would-fail",
                "VSYNC_PASSPHRASE",
                "wrong"));
        VsyncOptions opts = VsyncOptions.builder().envLookup(env::get).build();
        try (Vsync v = VsyncClient.open(opts)) {
            assertEquals("tok-s3cr3t-123", v.getEnv("API_TOKEN"));
        }
        // Group/world-readable: read, with a warning on stderr.
        Files.setPosixFilePermissions(pass, PosixFilePermissions.fromString("rw-r--r--"));
        try (Vsync v = VsyncClient.open(opts)) {
            assertEquals(1, v.generation());
        }
        // World-writable: refused.
        Files.setPosixFilePermissions(cfg, PosixFilePermissions.fromString("rw-rw-rw-"));
        VSyncException e = assertRaises("ConfigMissingError", () -> VsyncClient.open(opts));
        assertTrue(e.getMessage().contains("0666"), e.getMessage());
        // Missing file.
        env.put("VSYNC_CONFIG_FILE", cli.work().resolve("does-not-exist").toString());
        e = assertRaises("ConfigMissingError", () -> VsyncClient.open(opts));
        assertTrue(e.getMessage().contains("does-not-exist"), e.getMessage());
    }

    @Test
    void openWithExplicitInputs() throws Exception {
        String config = pushedVault();
        try (Vsync v = VsyncClient.openWith(config, PASS)) {
            assertEquals("postgres://app@db/staging", v.getEnv("DATABASE_URL"));
            assertArrayEquals(CA, v.getAsContent("tls/ca.pem"));
        }
        try (Vsync v = VsyncClient.openWith(
                config + "\n",
                PASS,
                VsyncOptions.builder()
                        .defaults(Map.of("X", "dx"))
                        .envLookup(k -> null)
                        .timeout(Duration.ofSeconds(10))
                        .build())) {
            assertEquals("dx", v.getEnv("X"));
        }
    }

    @Test
    void hasNewVersionAfterASecondPush() throws Exception {
        String config = pushedVault();
        try (Vsync v = VsyncClient.openWith(config, PASS)) {
            assertFalse(v.hasNewVersion());
            assertEquals(2, push(config, "DATABASE_URL=postgres://new\n"));
            assertTrue(v.hasNewVersion());
            assertEquals(2, v.remoteGeneration());
            assertEquals(1, v.generation());
            assertEquals(
                    "postgres://app@db/staging", v.getEnv("DATABASE_URL"), "no refresh: the handle keeps what it read");
        }
        try (Vsync v = VsyncClient.openWith(config, PASS)) {
            assertEquals(2, v.generation());
            assertEquals("postgres://new", v.getEnv("DATABASE_URL"));
            assertFalse(v.hasNewVersion());
        }
    }

    // --- the seven error classes from real scenarios --------------------------------------------

    @Test
    void configMissing() {
        VsyncOptions empty = VsyncOptions.builder().envLookup(k -> null).build();
        VSyncException e = assertRaises("ConfigMissingError", () -> VsyncClient.open(empty));
        assertTrue(e.getMessage().contains("VSYNC_CONFIG"), e.getMessage());
        assertEquals("VSYNC_CONFIG_MISSING", e.code());
        assertRaises("ConfigMissingError", () -> VsyncClient.openWith(null, PASS));
        assertRaises("ConfigMissingError", () -> VsyncClient.openWith("vsync-cfg-v1:abc", ""));
        assertRaises("ConfigMissingError", () -> VsyncClient.openWith("{\"v\":1}", PASS));
    }

    @Test
    void configUnsupportedVersion() throws Exception {
        String config = cli.token(cli.uniquePrefix());
        // The same token in standard base64 or with padding is refused, never translated.
        String body = config.substring("vsync-cfg-v1:".length());
        assertRaises("ConfigUnsupportedVersionError", () -> VsyncClient.openWith(config + "=", PASS));
        String standard = "vsync-cfg-v1:" + body.replace('-', '+').replace('_', '/') + "/";
        assertRaises("ConfigUnsupportedVersionError", () -> VsyncClient.openWith(standard, PASS));
    }

    @Test
    void s3UnreachableOnAWrongSecretKey() throws Exception {
        String wrongSecret = "wrong-secret-" + UUID.randomUUID();
        String config = cli.token(cli.uniquePrefix(), "staging", cli.endpoint(), wrongSecret);
        VSyncException e = assertRaises("S3UnreachableError", () -> VsyncClient.openWith(config, PASS));
        assertFalse(e.getMessage().contains(wrongSecret), "the secret key never appears in a message");
        assertFalse(e.getMessage().contains(PASS));
    }

    @Test
    void s3UnreachableOnARefusedConnection() throws Exception {
        // A bound socket that does not listen refuses connections; holding it bound keeps another
        // process from taking the port during the test.
        try (Socket bound = new Socket()) {
            bound.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            String config = cli.token(
                    cli.uniquePrefix(), "staging", "http://127.0.0.1:" + bound.getLocalPort(), cli.secretKey());
            assertRaises("S3UnreachableError", () -> VsyncClient.openWith(config, PASS));
        }
    }

    @Test
    void s3UnreachableWhenTheTimeOutExpires() throws Exception {
        // A server that accepts connections and never answers: only the deadline ends the call.
        try (FreezableProxy silent = new FreezableProxy(null)) {
            String config = cli.token(cli.uniquePrefix(), "staging", silent.endpoint(), cli.secretKey());
            VsyncOptions opts =
                    VsyncOptions.builder().timeout(Duration.ofMillis(700)).build();
            long t0 = System.nanoTime();
            VSyncException e = assertRaises("S3UnreachableError", () -> VsyncClient.openWith(config, PASS, opts));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(e.getMessage().contains("did not answer within 700ms"), e.getMessage());
            // The deadline + 10 s: key derivation on a loaded machine included, far from "forever".
            assertTrue(ms < 700 + 10_000, "open() is bounded by its time-out; took " + ms + " ms");
        }
    }

    /**
     * docs/deadlines.md: the open's time-out also bounds remoteGeneration() and hasNewVersion(); its
     * expiry is S3UnreachableError naming it. The frozen proxy holds the connection, so only that
     * deadline can end the call, whichever thread the scheduler runs first.
     */
    @Test
    void timeoutBoundsRemoteCalls() throws Exception {
        try (FreezableProxy proxy = new FreezableProxy(cli.endpoint())) {
            String config = cli.token(cli.uniquePrefix(), "staging", proxy.endpoint(), cli.secretKey());
            assertEquals(1, push(config, ENV_FILE));
            VsyncOptions opts =
                    VsyncOptions.builder().timeout(Duration.ofSeconds(3)).build();
            try (Vsync v = VsyncClient.openWith(config, PASS, opts)) {
                assertEquals(1, v.remoteGeneration());
                proxy.freeze();
                VSyncException e = assertRaises("S3UnreachableError", v::remoteGeneration);
                assertTrue(e.getMessage().contains("did not answer within 3s"), e.getMessage());
                e = assertRaises("S3UnreachableError", v::hasNewVersion);
                assertTrue(e.getMessage().contains("did not answer within 3s"), e.getMessage());
            }
        }
    }

    /**
     * A local TCP proxy to {@code target} (host:port of an http:// URL) that forwards until frozen,
     * then holds new connections unanswered; with a null target it holds every connection.
     */
    static final class FreezableProxy implements AutoCloseable {
        private final ServerSocket listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final List<Socket> sockets = new ArrayList<>();
        private volatile boolean frozen;

        FreezableProxy(String target) throws IOException {
            frozen = target == null;
            URI upstream = target == null ? null : URI.create(target);
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        Socket client = listener.accept();
                        track(client);
                        if (frozen) {
                            continue; // held, never answered
                        }
                        Socket up = new Socket(upstream.getHost(), upstream.getPort());
                        track(up);
                        pump(client, up);
                        pump(up, client);
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
        }

        String endpoint() {
            return "http://127.0.0.1:" + listener.getLocalPort();
        }

        void freeze() {
            frozen = true;
        }

        private synchronized void track(Socket s) {
            sockets.add(s);
        }

        private static void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                try {
                    from.getInputStream().transferTo(to.getOutputStream());
                } catch (IOException ignored) {
                    // a side closed
                } finally {
                    try {
                        to.close();
                    } catch (IOException ignored) {
                        // already closed
                    }
                }
            });
            t.setDaemon(true);
            t.start();
        }

        @Override
        public synchronized void close() throws IOException {
            listener.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }

    @Test
    void manifestNotFoundWhenNothingWasPushed() throws Exception {
        String config = cli.token(cli.uniquePrefix());
        VSyncException e = assertRaises("ManifestNotFoundError", () -> VsyncClient.openWith(config, PASS));
        assertTrue(e.getMessage().contains("push"), e.getMessage());
    }

    @Test
    void wrongPassphrase() throws Exception {
        String config = pushedVault();
        String wrong = "not the passphrase " + UUID.randomUUID();
        VSyncException e = assertRaises("WrongPassphraseError", () -> VsyncClient.openWith(config, wrong));
        assertFalse(e.getMessage().contains(wrong));
        assertFalse(String.valueOf(e).contains(wrong));
    }

    @Test
    void bundleCorruptAndUnsupportedSpecVersionFromSeededScenarios() throws Exception {
        // The harness seeds these buckets with `vsync vectors seed` (a torn bucket, an RQE2
        // envelope, an RQEM0002 manifest, a rolled-back pointer).
        String live = requireEnv("VSYNC_CONFORMANCE_LIVE");
        assertRaises("BundleCorruptError", () -> VsyncClient.openWith(seeded(live, "bundle-missing"), PASS));
        assertRaises("BundleCorruptError", () -> VsyncClient.openWith(seeded(live, "rollback"), PASS));
        assertRaises(
                "UnsupportedSpecVersionError", () -> VsyncClient.openWith(seeded(live, "unsupported-envelope"), PASS));
        assertRaises(
                "UnsupportedSpecVersionError", () -> VsyncClient.openWith(seeded(live, "unsupported-manifest"), PASS));
    }

    @Test
    void bundleCorruptFromABrokenToken() throws Exception {
        // A real token whose body was cut: still base64url, no longer gzip.
        String config = cli.token(cli.uniquePrefix());
        assertRaises("BundleCorruptError", () -> VsyncClient.openWith(config.substring(0, 40), PASS));
    }

    static String seeded(String live, String name) throws IOException {
        Path p = Path.of(live, "s3-scenario", name + ".config");
        assertTrue(Files.exists(p), p + " was not seeded");
        return Files.readString(p).strip();
    }

    // --- concurrency and redaction -------------------------------------------------------------

    @Test
    void concurrentReadersWhileAnotherThreadCloses() throws Exception {
        String config = pushedVault();
        Vsync v = VsyncClient.openWith(config, PASS);
        CloseRace.run(v, 8, 5000, 2, () -> {
            assertEquals("tok-s3cr3t-123", v.getEnv("API_TOKEN"));
            assertEquals(CA.length, v.getAsContent("tls/ca.pem").length);
        });
        assertThrows(IllegalStateException.class, () -> v.getEnv("API_TOKEN"));
    }

    @Test
    void redactionEverywhere() throws Exception {
        String config = pushedVault();
        VsyncOptions opts = VsyncOptions.builder()
                .defaults(Map.of("DEFAULT_SECRET", "d-s3cr3t"))
                .build();
        try (Vsync v = VsyncClient.openWith(config, PASS, opts)) {
            String s = v.toString();
            assertEquals("<vsync:redacted gen=1 env=staging>", s);
            for (String secret :
                    List.of("tok-s3cr3t-123", "postgres://", PASS, cli.secretKey(), "API_TOKEN", "d-s3cr3t")) {
                assertFalse(s.contains(secret), secret);
            }
            assertFalse(opts.toString().contains("d-s3cr3t"));
        }
    }
}
