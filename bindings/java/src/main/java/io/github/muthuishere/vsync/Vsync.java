package io.github.muthuishere.vsync;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

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

    Vsync(long handle, Function<String, String> envLookup) {
        this.handle = handle;
        this.envLookup = envLookup;
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
