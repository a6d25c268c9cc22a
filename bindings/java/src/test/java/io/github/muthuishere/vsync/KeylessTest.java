package io.github.muthuishere.vsync;

import static io.github.muthuishere.vsync.harness.CliHarness.requireEnv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.github.muthuishere.vsync.harness.CliHarness;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keyless runtime tokens ({@code "credentials": "ambient"}, SPEC §2) from a JVM: the AWS default
 * chain signs the S3 requests. The chain reads the process environment, which a running JVM cannot
 * change, so the reader is a child JVM started with the chain's variables, as an ECS task's or an
 * EKS pod's JVM is. Which credentials signed comes from the dev server's request log
 * ({@code VSYNC_TEST_REQUEST_LOG}: access key id and session token per request).
 */
class KeylessTest {
    private static final String PASS = "keyless java pass phrase";
    private static final String READER = "public class Reader {\n"
            + "  public static void main(String[] a) {\n"
            + "    try (var v = io.github.muthuishere.vsync.VsyncClient.open()) {\n"
            + "      System.out.println(v.getEnv(\"DATABASE_URL\") + \" gen=\" + v.remoteGeneration());\n"
            + "    } catch (io.github.muthuishere.vsync.VSyncException e) {\n"
            + "      System.out.println(e.code() + \": \" + e.getMessage());\n"
            + "    }\n"
            + "  }\n"
            + "}\n";

    @RegisterExtension
    static final CliHarness cli = new CliHarness("java-keyless");

    @TempDir
    Path tmp;

    @Test
    void containerCredentialsSignTheOpenAndRemoteGenerationOfAJvm() throws Exception {
        String keyless = keylessVault();
        String session = "java-container-" + UUID.randomUUID();
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        HttpServer container = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        container.createContext("/v2/credentials", exchange -> {
            seen.add(exchange.getRequestHeaders().getFirst("Authorization"));
            String expiration = Instant.now()
                    .plus(1, ChronoUnit.HOURS)
                    .truncatedTo(ChronoUnit.SECONDS)
                    .toString();
            byte[] body = String.format(
                            "{\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\",\"Token\":\"%s\",\"Expiration\":\"%s\"}",
                            requireEnv("VSYNC_TEST_ACCESS_KEY"), cli.secretKey(), session, expiration)
                    .getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        container.start();
        try {
            String out = readInAChildJvm(
                    keyless,
                    Map.of(
                            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                            "http://127.0.0.1:" + container.getAddress().getPort() + "/v2/credentials",
                            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                            "pod-identity-token"));
            assertEquals("postgres://keyless-java gen=1", out);
        } finally {
            container.stop(0);
        }
        List<String> signed = signedWith(session);
        assertEquals(3, signed.size(), "manifest + bundle at open, the HEAD of remoteGeneration: " + signed);
        for (String line : signed) {
            assertTrue(line.startsWith(requireEnv("VSYNC_TEST_ACCESS_KEY") + " "), line);
        }
        // Asked once per call (never cached), each time with the authorization token.
        assertEquals(List.of("pod-identity-token", "pod-identity-token"), seen);
    }

    @Test
    void noSourceIsS3UnreachableNamingTheSources() throws Exception {
        String out = readInAChildJvm(keylessVault(), Map.of());
        assertTrue(out.startsWith("VSYNC_S3_UNREACHABLE: "), out);
        for (String source : List.of(
                "AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "IMDSv2")) {
            assertTrue(out.contains(source), source + " in: " + out);
        }
    }

    /** A vault pushed with the harness's keys; its keyless twin (same prefix, same salt). */
    private String keylessVault() throws Exception {
        String prefix = cli.uniquePrefix();
        String salt = "java-keyless-" + UUID.randomUUID();
        String keyed = cli.token(prefix, "staging", cli.endpoint(), cli.secretKey(), "--salt", salt);
        cli.run(
                "push",
                "--config",
                keyed,
                "--passphrase-file",
                cli.file("pass", PASS).toString(),
                "--env-file",
                cli.file("env", "DATABASE_URL=postgres://keyless-java\n").toString());
        return cli.run(
                        "runtime-token",
                        "--ambient-credentials",
                        "--endpoint",
                        cli.endpoint(),
                        "--region",
                        "us-east-1",
                        "--bucket",
                        requireEnv("VSYNC_TEST_BUCKET"),
                        "--prefix",
                        prefix,
                        "--env",
                        "staging",
                        "--salt",
                        salt)
                .strip();
    }

    /**
     * Runs {@link #READER} in a child JVM (this build's classes and native library) whose chain has
     * only {@code chain} set: no other AWS variable, profile files that do not exist, IMDS at a
     * refused port, so the host's own credentials never take part. Its one line of output.
     */
    private String readInAChildJvm(String config, Map<String, String> chain) throws Exception {
        Path reader = tmp.resolve("Reader.java");
        Files.writeString(reader, READER);
        Path classes = Path.of(
                Vsync.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        ProcessBuilder pb = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        classes.toString(),
                        reader.toString())
                .redirectErrorStream(true);
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("AWS_") || k.startsWith("VSYNC_"));
        env.put("VSYNC_CONFIG", config);
        env.put("VSYNC_PASSPHRASE", PASS);
        env.put("AWS_CONFIG_FILE", tmp.resolve("no-config").toString());
        env.put("AWS_SHARED_CREDENTIALS_FILE", tmp.resolve("no-credentials").toString());
        env.put("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:" + refusedPort());
        env.putAll(chain);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM did not finish within 60 s");
        assertEquals(0, p.exitValue(), out);
        return out.strip();
    }

    /** A port nobody listens on: the port of a socket just closed. */
    private static int refusedPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static List<String> signedWith(String session) throws Exception {
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of(requireEnv("VSYNC_TEST_REQUEST_LOG")))) {
            String[] f = line.split(" ");
            if (f.length == 2 && f[1].equals(session)) {
                lines.add(line);
            }
        }
        return lines;
    }
}
