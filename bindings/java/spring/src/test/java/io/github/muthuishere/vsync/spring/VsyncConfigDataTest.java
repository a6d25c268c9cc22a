package io.github.muthuishere.vsync.spring;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.muthuishere.vsync.ConfigMissingException;
import io.github.muthuishere.vsync.Vsync;
import io.github.muthuishere.vsync.WrongPassphraseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.SpringBootVersion;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;
import org.springframework.core.env.MutablePropertySources;
import org.springframework.stereotype.Component;

/**
 * Real Spring Boot applications (SpringApplication.run, no web server) importing {@code vsync:} from
 * vaults pushed by the vsync CLI to the real S3 server of scripts/with-s3.sh. The same class runs on
 * Boot 4.0 (this module) and on Boot 3.5 (boot3/). Fails (never skips) without the harness.
 */
class VsyncConfigDataTest {
    static final String PASS = "correct horse battery staple";
    static final String VAULT = "DATABASE_URL=postgres://app@db/staging\n"
            + "API_TOKEN=tok-s3cr3t-123\n"
            + "POOL_SIZE=7\n"
            + "GREETING=from-vault\n"
            + "OVERRIDDEN=from-vault\n";

    static String endpoint;
    static String accessKey;
    static String secretKey;
    static String bucket;
    static String bin;
    static Path work;

    @BeforeAll
    static void harness() throws IOException {
        endpoint = requireEnv("VSYNC_TEST_ENDPOINT");
        accessKey = requireEnv("VSYNC_TEST_ACCESS_KEY");
        secretKey = requireEnv("VSYNC_TEST_SECRET_KEY");
        bucket = requireEnv("VSYNC_TEST_BUCKET");
        bin = requireEnv("VSYNC_BIN");
        work = Files.createTempDirectory("vsync-spring-it-");
    }

    @AfterAll
    static void cleanup() throws IOException {
        if (work != null) {
            try (var s = Files.walk(work)) {
                s.sorted((a, b) -> b.getNameCount() - a.getNameCount())
                        .forEach(p -> p.toFile().delete());
            }
        }
    }

    // --- the application -----------------------------------------------------------------------

    @ConfigurationProperties("database")
    public static class DatabaseProperties {
        private String url;

        public String getUrl() {
            return url;
        }

        public void setUrl(String url) {
            this.url = url;
        }
    }

    @ConfigurationProperties("pool")
    public static class PoolProperties {
        private int size;

        public int getSize() {
            return size;
        }

        public void setSize(int size) {
            this.size = size;
        }
    }

    @Component
    public static class Settings {
        @Value("${DATABASE_URL}")
        String databaseUrl;

        @Value("${api.token}")
        String apiToken;

        @Value("${GREETING}")
        String greeting;

        @Value("${OVERRIDDEN}")
        String overridden;

        @Value("${ONLY_IN_PROCESS_ENV}")
        String onlyInProcessEnv;
    }

    @SpringBootConfiguration
    @EnableConfigurationProperties({DatabaseProperties.class, PoolProperties.class})
    @Import(Settings.class)
    static class App {}

    /** The bootstrap inputs as Spring properties (here the lowest: SpringApplication's defaults). */
    static ConfigurableApplicationContext start(Map<String, Object> vsyncProperties, String... args) {
        SpringApplication app = new SpringApplication(App.class);
        app.setWebApplicationType(WebApplicationType.NONE);
        app.setDefaultProperties(vsyncProperties);
        return app.run(args);
    }

    static Map<String, Object> inputs(String config, String passphrase) {
        return Map.of("vsync.config", config, "vsync.passphrase", passphrase);
    }

    // --- tests ---------------------------------------------------------------------------------

    @Test
    void runsOnTheBootLineItIsMeantTo() {
        String line = System.getProperty("vsync.test.bootLine");
        assertNotNull(line, "set by surefire (pom.xml)");
        assertTrue(SpringBootVersion.getVersion().startsWith(line), SpringBootVersion.getVersion());
    }

    @Test
    void everyVaultKeyIsAPropertyTheVaultWinsOverTheProcessEnvironmentAndCloseWipes() throws Exception {
        String config = pushedVault();
        // Precondition of the order check: the forked JVM's real environment (surefire) has them.
        assertEquals("from-process-env", System.getenv("GREETING"));
        assertEquals("from-process-env", System.getenv("ONLY_IN_PROCESS_ENV"));

        ConfigurableApplicationContext context =
                start(inputs(config, PASS), "--spring.config.import=vsync:", "--OVERRIDDEN=from-command-line");
        VsyncPropertySource source;
        try {
            Settings settings = context.getBean(Settings.class);
            assertEquals("postgres://app@db/staging", settings.databaseUrl);
            assertEquals("tok-s3cr3t-123", settings.apiToken, "relaxed: ${api.token} from API_TOKEN");
            assertEquals(
                    "postgres://app@db/staging",
                    context.getBean(DatabaseProperties.class).getUrl());
            assertEquals(7, context.getBean(PoolProperties.class).getSize());

            // The order: the vault above the OS environment, below the command line.
            assertEquals("from-vault", settings.greeting);
            assertEquals("from-process-env", settings.onlyInProcessEnv);
            assertEquals("from-command-line", settings.overridden);
            MutablePropertySources sources = context.getEnvironment().getPropertySources();
            List<String> names = new ArrayList<>();
            sources.forEach(s -> names.add(s.getName()));
            assertEquals(
                    names.indexOf("systemEnvironment") - 1, names.indexOf(VsyncPropertySource.NAME), names.toString());

            // Vault keys only (Spring's own systemEnvironment source has the rest).
            source = (VsyncPropertySource) sources.get(VsyncPropertySource.NAME);
            assertNotNull(source);
            assertEquals(
                    List.of("DATABASE_URL", "API_TOKEN", "POOL_SIZE", "GREETING", "OVERRIDDEN"),
                    List.of(source.getPropertyNames()));
            assertFalse(source.toString().contains("tok-s3cr3t"), source.toString());

            // Spring's order agrees with the core's resolved view (vault, then process environment)
            // for every vault key and a name only the process environment has; the one difference
            // is deliberate: a command-line argument wins in Spring.
            Map<String, String> resolved = source.vault().environ();
            for (String name : List.of(
                    "DATABASE_URL", "API_TOKEN", "POOL_SIZE", "GREETING", "OVERRIDDEN", "ONLY_IN_PROCESS_ENV")) {
                String spring = context.getEnvironment().getProperty(name);
                if (name.equals("OVERRIDDEN")) {
                    assertEquals("from-vault", resolved.get(name));
                    assertEquals("from-command-line", spring);
                } else {
                    assertNotNull(resolved.get(name), name);
                    assertEquals(resolved.get(name), spring, name);
                }
            }
            assertEquals("from-vault", resolved.get("GREETING"));
            assertEquals("from-process-env", resolved.get("ONLY_IN_PROCESS_ENV"));
            assertFalse(String.valueOf(source.getSource()).contains("tok-s3cr3t"));
        } finally {
            context.close();
        }
        // Closed with the context: the handle is wiped, the source is empty.
        Vsync vault = source.vault();
        assertThrows(IllegalStateException.class, () -> vault.getEnv("DATABASE_URL"));
        assertNull(source.getProperty("DATABASE_URL"));
        assertEquals(0, source.getPropertyNames().length);
    }

    @Test
    void theCoreReadsItsFileVariablesThroughRelaxedBinding() throws Exception {
        // VSYNC_PASSPHRASE_FILE is asked for by the core; Spring answers it from vsync.passphrase.file.
        String config = pushedVault();
        Map<String, Object> inputs = Map.of(
                "vsync.config",
                config,
                "vsync.passphrase.file",
                file("pass", PASS).toString());
        try (ConfigurableApplicationContext context = start(inputs, "--spring.config.import=vsync:")) {
            assertEquals("postgres://app@db/staging", context.getEnvironment().getProperty("DATABASE_URL"));
        }
    }

    @Test
    void optionalWithNoVaultStarts() {
        try (ConfigurableApplicationContext context = start(Map.of(), "--spring.config.import=optional:vsync:")) {
            assertNull(context.getEnvironment().getPropertySources().get(VsyncPropertySource.NAME));
            assertNull(context.getEnvironment().getProperty("DATABASE_URL"));
            assertEquals("from-process-env", context.getEnvironment().getProperty("GREETING"));
        }
    }

    @Test
    void optionalWithNothingPushedThereStarts() throws Exception {
        String config = token(uniquePrefix()); // a real bucket and prefix, no push
        try (ConfigurableApplicationContext context =
                start(inputs(config, PASS), "--spring.config.import=optional:vsync:")) {
            assertNull(context.getEnvironment().getProperty("DATABASE_URL"));
        }
    }

    @Test
    void withoutOptionalNoVaultFailsStartUpWithTheVsyncException() {
        Throwable failure = assertThrows(Throwable.class, () -> start(Map.of(), "--spring.config.import=vsync:"));
        assertInstanceOf(ConfigMissingException.class, vsyncCause(failure));
    }

    @Test
    void wrongPassphraseFailsStartUpWithWrongPassphraseExceptionAsTheCause() throws Exception {
        String config = pushedVault();
        Throwable failure = assertThrows(
                Throwable.class, () -> start(inputs(config, "not the passphrase"), "--spring.config.import=vsync:"));
        assertInstanceOf(VsyncConfigDataException.class, failure);
        assertInstanceOf(WrongPassphraseException.class, failure.getCause());
        assertFalse(String.valueOf(failure.getMessage()).contains("not the passphrase"));

        // optional: tolerates no vault, not a vault that does not open.
        Throwable optional = assertThrows(
                Throwable.class,
                () -> start(inputs(config, "not the passphrase"), "--spring.config.import=optional:vsync:"));
        assertInstanceOf(WrongPassphraseException.class, vsyncCause(optional));
    }

    static Throwable vsyncCause(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof io.github.muthuishere.vsync.VSyncException) {
                return t;
            }
        }
        throw new AssertionError("no vsync exception in the causes", failure);
    }

    // --- the CLI -------------------------------------------------------------------------------

    static String requireEnv(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            throw new IllegalStateException(name + " is not set: run through scripts/with-s3.sh");
        }
        return v;
    }

    static String run(String... args) throws Exception {
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

    static String uniquePrefix() {
        return "java-spring-" + UUID.randomUUID() + "/";
    }

    static String token(String prefix) throws Exception {
        return run(
                        "runtime-token",
                        "--endpoint",
                        endpoint,
                        "--region",
                        "us-east-1",
                        "--bucket",
                        bucket,
                        "--prefix",
                        prefix,
                        "--env",
                        "staging",
                        "--access-key-id",
                        accessKey,
                        "--secret-access-key",
                        secretKey)
                .strip();
    }

    static Path file(String name, String content) throws IOException {
        Path p = work.resolve(name + "-" + UUID.randomUUID());
        Files.writeString(p, content);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
        return p;
    }

    static String pushedVault() throws Exception {
        String config = token(uniquePrefix());
        run(
                "push",
                "--config",
                config,
                "--passphrase-file",
                file("pass", PASS).toString(),
                "--env-file",
                file("env", VAULT).toString());
        return config;
    }
}
