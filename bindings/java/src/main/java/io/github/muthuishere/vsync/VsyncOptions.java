package io.github.muthuishere.vsync;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Options of {@link VsyncClient#open(VsyncOptions)} and {@link VsyncClient#openWith(String, String, VsyncOptions)}.
 *
 * <pre>{@code
 * VsyncOptions.builder()
 *     .defaults(Map.of("PORT", "8080"))   // step 3 of the chain
 *     .timeout(Duration.ofSeconds(5))     // bound on open() and remoteGeneration()
 *     .build();
 * }</pre>
 *
 * <p>{@code envLookup} is step 2 of the chain and the source of the bootstrap variables of
 * {@code open()}; it defaults to {@link System#getenv(String)} and is consulted at lookup time.
 * Java cannot change its own environment, so tests inject one here. {@code environment(Map)}
 * injects a whole environment instead: step 2, the bootstrap variables and the names
 * {@link Vsync#environ()} lists (a lookup function cannot be enumerated: with {@code envLookup}
 * alone, {@code environ()} lists the names of {@link System#getenv()}, each read through the
 * lookup).
 */
public final class VsyncOptions {
    private static final VsyncOptions DEFAULTS = builder().build();

    private final Map<String, String> defaults;
    private final Duration timeout;
    private final Function<String, String> envLookup;
    private final Supplier<Set<String>> envNames;
    private final long minGeneration;

    private VsyncOptions(Builder b) {
        this.defaults = Collections.unmodifiableMap(new LinkedHashMap<>(b.defaults));
        this.timeout = b.timeout;
        this.envLookup = b.envLookup;
        this.envNames = b.envNames;
        this.minGeneration = b.minGeneration;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** No defaults, the default time-out, {@code System::getenv}. */
    public static VsyncOptions defaults() {
        return DEFAULTS;
    }

    public Map<String, String> getDefaults() {
        return defaults;
    }

    /** The time-out, or null for the library's default. */
    public Duration getTimeout() {
        return timeout;
    }

    public Function<String, String> getEnvLookup() {
        return envLookup;
    }

    /** The names of the environment {@link Vsync#environ()} lists, read when it is called. */
    Supplier<Set<String>> envNames() {
        return envNames;
    }

    /** The rollback floor, or 0 for none. */
    public long getMinGeneration() {
        return minGeneration;
    }

    /** Defaults as alternating keys and values, for the native side. */
    String[] flatDefaults() {
        return Natives.flatten(defaults);
    }

    /**
     * Milliseconds, or 0 for the library's default. A duration too long for a {@code long} of
     * milliseconds is passed as {@link Long#MAX_VALUE}; the core clamps every deadline to its
     * maximum (24 h).
     */
    long timeoutMillis() {
        if (timeout == null) {
            return 0;
        }
        try {
            return Math.max(1, timeout.toMillis());
        } catch (ArithmeticException tooLong) {
            return Long.MAX_VALUE;
        }
    }

    @Override
    public String toString() {
        // Default values may be secrets: only their names are shown.
        return "VsyncOptions{defaults=" + defaults.keySet() + ", timeout=" + timeout + ", minGeneration="
                + minGeneration + "}";
    }

    public static final class Builder {
        private final Map<String, String> defaults = new LinkedHashMap<>();
        private Duration timeout;
        private Function<String, String> envLookup = System::getenv;
        private Supplier<Set<String>> envNames = () -> System.getenv().keySet();
        private long minGeneration;

        private Builder() {}

        /** Step 3 of the chain (added to those already given; insertion order kept). */
        public Builder defaults(Map<String, String> defaults) {
            Objects.requireNonNull(defaults, "defaults");
            defaults.forEach((k, v) -> this.defaults.put(
                    Objects.requireNonNull(k, "defaults key"), Objects.requireNonNull(v, "defaults value")));
            return this;
        }

        /** One default. */
        public Builder defaultValue(String key, String value) {
            defaults.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /** Bound on the whole {@code open()} and on each {@code remoteGeneration()}; exceeding it
         *  raises {@link S3UnreachableException}. */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("timeout must be positive");
            }
            this.timeout = timeout;
            return this;
        }

        /** The process environment as this handle sees it (default {@code System::getenv}): step 2
         *  of the chain, at lookup time, and the bootstrap variables of {@code open()}. */
        public Builder envLookup(Function<String, String> envLookup) {
            this.envLookup = Objects.requireNonNull(envLookup, "envLookup");
            return this;
        }

        /** A whole environment, in place of the process's (default {@link System#getenv()}): step 2 of
         *  the chain and the bootstrap variables of {@code open()} are read from it at lookup time
         *  (it replaces {@code envLookup}), and {@link Vsync#environ()} lists its names. The map is
         *  not copied: later changes are seen, as the process environment's would be. */
        public Builder environment(Map<String, String> environment) {
            Objects.requireNonNull(environment, "environment");
            this.envLookup = environment::get;
            this.envNames = environment::keySet;
            return this;
        }

        /** The rollback floor (SPEC §4): a vault whose sealed generation is below it, or that seals
         *  none, raises {@link BundleCorruptException}. 0 (the default) is none;
         *  {@code VSYNC_MIN_GENERATION} raises it too. */
        public Builder minGeneration(long minGeneration) {
            if (minGeneration < 0) {
                throw new IllegalArgumentException("minGeneration must not be negative");
            }
            this.minGeneration = minGeneration;
            return this;
        }

        public VsyncOptions build() {
            return new VsyncOptions(this);
        }
    }
}
