package io.github.muthuishere.vsync;

import java.util.Objects;

/**
 * Opens a vsync vault: one S3 round trip, decrypted in memory.
 *
 * <pre>{@code
 * try (Vsync vault = VsyncClient.open()) {          // VSYNC_CONFIG + VSYNC_PASSPHRASE
 *     String url = vault.getEnv("DATABASE_URL");
 * }
 * }</pre>
 */
public final class VsyncClient {
    private VsyncClient() {}

    /** Opens from {@code VSYNC_CONFIG[_FILE]} and {@code VSYNC_PASSPHRASE[_FILE]} (SPEC §7). */
    public static Vsync open() {
        return open(VsyncOptions.defaults());
    }

    /** Opens from the bootstrap variables, read through {@code options}' env lookup. */
    public static Vsync open(VsyncOptions options) {
        Objects.requireNonNull(options, "options");
        long h = Natives.open(
                options.getEnvLookup(), options.flatDefaults(), options.timeoutMillis(), options.getMinGeneration());
        return new Vsync(h, options.getEnvLookup(), options.envNames());
    }

    /** Opens with explicit inputs, skipping the environment; null or empty → {@link ConfigMissingException}. */
    public static Vsync openWith(String config, String passphrase) {
        return openWith(config, passphrase, VsyncOptions.defaults());
    }

    public static Vsync openWith(String config, String passphrase, VsyncOptions options) {
        Objects.requireNonNull(options, "options");
        long h = Natives.openWith(
                config, passphrase, options.flatDefaults(), options.timeoutMillis(), options.getMinGeneration());
        return new Vsync(h, options.getEnvLookup(), options.envNames());
    }
}
