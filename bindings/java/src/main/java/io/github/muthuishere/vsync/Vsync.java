package io.github.muthuishere.vsync;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * An open vault. Thread-safe: any number of threads may read while another closes.
 *
 * <p>Lifecycle of the native handle: {@link #close()} wipes every value, asset, default and the
 * credentials at once (the core takes its write lock, so it waits for readers in flight; later
 * calls throw {@link IllegalStateException}). The few bytes of the emptied handle are released
 * by a {@link Cleaner} once this object is unreachable, which is the only moment no thread can
 * still be inside a native call with it; every native call is followed by
 * {@link Reference#reachabilityFence} (one helper, {@code fenced}) so the object stays reachable
 * for the call's duration.
 * A vault never closed is wiped by the same Cleaner.
 */
public final class Vsync implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final long handle;
    private final Function<String, String> envLookup;
    private final Supplier<? extends Collection<String>> envNames;

    Vsync(long handle, Function<String, String> envLookup, Supplier<? extends Collection<String>> envNames) {
        this.handle = handle;
        this.envLookup = envLookup;
        this.envNames = envNames;
        CLEANER.register(this, new Release(handle));
    }

    /** Frees the native handle; holds no reference to the {@link Vsync}. */
    private static final class Release implements Runnable {
        private final long handle;

        Release(long handle) {
            this.handle = handle;
        }

        @Override
        public void run() {
            Natives.free(handle);
        }
    }

    /** A native call on this vault's handle. */
    @FunctionalInterface
    private interface HandleCall<T> {
        T apply(long handle);
    }

    /**
     * Runs {@code call} with the handle, keeping this object reachable until it returns: the
     * Cleaner frees the handle only once this object is unreachable, so it cannot run while a
     * native call still uses the pointer. Every native call on the handle goes through here.
     */
    private <T> T fenced(HandleCall<T> call) {
        try {
            return call.apply(handle);
        } finally {
            Reference.reachabilityFence(this);
        }
    }

    /** The value of {@code key} through the chain vault → environment → defaults, or null. */
    public String getEnv(String key) {
        Objects.requireNonNull(key, "key");
        String fromEnv = envLookup.apply(key);
        return fenced(h -> Natives.getEnv(h, key, fromEnv));
    }

    /** True iff {@link #getEnv} would return a value (vault, environment or defaults). */
    public boolean hasEnv(String key) {
        Objects.requireNonNull(key, "key");
        String fromEnv = envLookup.apply(key);
        return fenced(h -> Natives.hasEnv(h, key, fromEnv));
    }

    /** Where {@code key} resolves, without the value; safe to log. */
    public Source envSource(String key) {
        Objects.requireNonNull(key, "key");
        String fromEnv = envLookup.apply(key);
        return fenced(h -> Source.fromNumber(Natives.envSource(h, key, fromEnv)));
    }

    /**
     * The resolved view: every name {@link #getEnv} answers, with the value it answers (vault,
     * else the environment as it is now, else the defaults), in name order (code-point order of
     * the names, the same in every vsync language). A snapshot, unmodifiable. The environment is
     * the one of {@link VsyncOptions.Builder#environment(Map)}, else the names of
     * {@link System#getenv()} read through the handle's {@code envLookup}.
     *
     * <p>The values are the secrets themselves, in Java strings that {@link #close()} cannot
     * wipe: hand them to what needs them rather than keeping the map.
     */
    public Map<String, String> environ() {
        Map<String, String> env = new LinkedHashMap<>();
        for (String name : envNames.get()) {
            String value = envLookup.apply(name);
            if (value != null) {
                env.put(name, value);
            }
        }
        String[] flat = fenced(h -> Natives.environ(h, Natives.flatten(env)));
        Map<String, String> view = new LinkedHashMap<>(flat.length);
        for (int i = 0; i + 1 < flat.length; i += 2) {
            view.put(flat[i], flat[i + 1]);
        }
        return Collections.unmodifiableMap(view);
    }

    /** The bytes of asset {@code name}, else of the key/value of that name (UTF-8), else null.
     *  A fresh array every call: the caller may wipe it ({@code Arrays.fill(b, (byte) 0)}). */
    public byte[] getAsContent(String name) {
        Objects.requireNonNull(name, "name");
        return fenced(h -> Natives.getAsContent(h, name));
    }

    /** The vault's key names in payload order (no values). */
    public List<String> keys() {
        return fenced(h -> Collections.unmodifiableList(Arrays.asList(Natives.keys(h))));
    }

    /** The generation read at open time (memory only). */
    public long generation() {
        return fenced(Natives::generation);
    }

    /** The generation in the bucket now: one HEAD on a bucket our writer wrote. */
    public long remoteGeneration() {
        return fenced(Natives::remoteGeneration);
    }

    /** {@code remoteGeneration() > generation()}. */
    public boolean hasNewVersion() {
        return fenced(Natives::hasNewVersion);
    }

    /** Wipes the plaintext. Idempotent; any accessor afterwards throws {@link IllegalStateException}. */
    @Override
    public void close() {
        fenced(h -> {
            Natives.close(h);
            return null;
        });
    }

    /** {@code <vsync:redacted gen=N env=E>}: never keys or values. */
    @Override
    public String toString() {
        return fenced(Natives::redacted);
    }
}
