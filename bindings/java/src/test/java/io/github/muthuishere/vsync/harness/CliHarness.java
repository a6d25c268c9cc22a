package io.github.muthuishere.vsync.harness;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The harness of the integration tests that push vaults with the vsync CLI to the real S3 server of
 * scripts/with-s3.sh: its variables (read before the class's tests; a missing one fails, never
 * skips), a private temporary directory for the files handed to the CLI (deleted after them), and
 * the CLI itself. Register it as {@code @RegisterExtension static final CliHarness cli = ...}.
 * Shared with the Spring module's tests through this module's test-jar (bindings/java/pom.xml),
 * which carries this package alone.
 */
public final class CliHarness implements BeforeAllCallback, AfterAllCallback {
    private final String label;
    private String endpoint;
    private String accessKey;
    private String secretKey;
    private String bucket;
    private String bin;
    private Path work;

    /** {@code label} names this suite's prefixes in the bucket and its temporary directory. */
    public CliHarness(String label) {
        this.label = label;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        endpoint = requireEnv("VSYNC_TEST_ENDPOINT");
        accessKey = requireEnv("VSYNC_TEST_ACCESS_KEY");
        secretKey = requireEnv("VSYNC_TEST_SECRET_KEY");
        bucket = requireEnv("VSYNC_TEST_BUCKET");
        bin = requireEnv("VSYNC_BIN");
        work = Files.createTempDirectory("vsync-" + label + "-it-");
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (work != null) {
            try (var s = Files.walk(work)) {
                s.sorted((a, b) -> b.getNameCount() - a.getNameCount())
                        .forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Fails (never skips) when a variable of the test harness is missing. */
    public static String requireEnv(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            fail(name + " is not set: run the Java tests through scripts/with-s3.sh (task test:java)");
        }
        return v;
    }

    public String endpoint() {
        return endpoint;
    }

    public String secretKey() {
        return secretKey;
    }

    public Path work() {
        return work;
    }

    /** Runs the CLI; its standard output, after asserting it exited 0 within a minute. */
    public String run(String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(bin);
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "vsync " + args[0] + " timed out");
        assertEquals(0, p.exitValue(), "vsync " + args[0] + " failed");
        return out;
    }

    /**
     * A runtime token for {@code prefix} in the harness bucket (`vsync runtime-token`), with
     * {@code extra} flags (e.g. {@code --salt}).
     */
    public String token(String prefix, String env, String endpointUrl, String secret, String... extra)
            throws Exception {
        List<String> args = new ArrayList<>(List.of(
                "runtime-token",
                "--endpoint",
                endpointUrl,
                "--region",
                "us-east-1",
                "--bucket",
                bucket,
                "--prefix",
                prefix,
                "--env",
                env,
                "--access-key-id",
                accessKey,
                "--secret-access-key",
                secret));
        args.addAll(List.of(extra));
        return run(args.toArray(String[]::new)).strip();
    }

    /** The token of environment staging at {@code prefix}, with the harness's endpoint and keys. */
    public String token(String prefix) throws Exception {
        return token(prefix, "staging", endpoint, secretKey);
    }

    /** A prefix no other test uses. */
    public String uniquePrefix() {
        return label + "-" + UUID.randomUUID() + "/";
    }

    /** A new file in the temporary directory, with these bytes and permissions (e.g. rw-------). */
    public Path file(String name, byte[] content, String mode) throws IOException {
        Path p = work.resolve(name + "-" + UUID.randomUUID());
        Files.write(p, content);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(mode));
        return p;
    }

    /** A new file readable by its owner alone (as the CLI wants a passphrase file). */
    public Path file(String name, String content) throws IOException {
        return file(name, content.getBytes(StandardCharsets.UTF_8), "rw-------");
    }
}
