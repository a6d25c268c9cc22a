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
import io.github.muthuishere.vsync.harness.CliHarness;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
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

    @RegisterExtension
    static final CliHarness cli = new CliHarness("java-spring");

    // --- the application -----------------------------------------------------------------------

    // Records: bound through their constructor, as Boot 3 and 4 bind immutable properties.
    @ConfigurationProperties("database")
    public record DatabaseProperties(String url) {}

    @ConfigurationProperties("pool")
    public record PoolProperties(int size) {}

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
                    context.getBean(DatabaseProperties.class).url());
            assertEquals(7, context.getBean(PoolProperties.class).size());

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
                cli.file("pass", PASS).toString());
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
        String config = cli.token(cli.uniquePrefix()); // a real bucket and prefix, no push
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

    static String pushedVault() throws Exception {
        String config = cli.token(cli.uniquePrefix());
        cli.run(
                "push",
                "--config",
                config,
                "--passphrase-file",
                cli.file("pass", PASS).toString(),
                "--env-file",
                cli.file("env", VAULT).toString());
        return config;
    }
}
