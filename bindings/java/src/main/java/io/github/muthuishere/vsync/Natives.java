package io.github.muthuishere.vsync;

import java.util.Map;
import java.util.function.Function;

/**
 * The JNI entry points over a vault handle ({@code libvsync_jni}, bindings/java/src/lib.rs).
 *
 * <p>Package-private on purpose, like every method here: they take the raw native pointer, so
 * only {@link Vsync} and {@link VsyncClient}, which own it, may call them (a forged pointer
 * would crash the JVM). Errors arrive as the exception {@link ErrorKind} builds from the core's
 * {@code (class name, code, message)}.
 */
final class Natives {
    private static final long LOAD_NANOS;

    static {
        long t0 = System.nanoTime();
        NativeLoader.load();
        LOAD_NANOS = System.nanoTime() - t0;
    }

    private Natives() {}

    /** Nanoseconds spent locating, extracting and loading the native library (the tests' hooks report it). */
    static long loadNanos() {
        return LOAD_NANOS;
    }

    /** A map as alternating keys and values (the JNI side reads pairs from one String[]). */
    static String[] flatten(Map<String, String> m) {
        String[] out = new String[m.size() * 2];
        int i = 0;
        for (Map.Entry<String, String> e : m.entrySet()) {
            out[i++] = e.getKey();
            out[i++] = e.getValue();
        }
        return out;
    }

    static native long open(Function<String, String> lookup, String[] defaults, long timeoutMillis, long minGeneration);

    static native long openWith(
            String config, String passphrase, String[] defaults, long timeoutMillis, long minGeneration);

    static native String getEnv(long handle, String key, String envValue);

    static native boolean hasEnv(long handle, String key, String envValue);

    static native int envSource(long handle, String key, String envValue);

    /** The resolved view as alternating names and values, sorted by name; {@code processEnv} alternates too. */
    static native String[] environ(long handle, String[] processEnv);

    static native byte[] getAsContent(long handle, String name);

    static native String[] keys(long handle);

    static native long generation(long handle);

    static native long remoteGeneration(long handle);

    static native boolean hasNewVersion(long handle);

    static native String redacted(long handle);

    static native void close(long handle);

    static native void free(long handle);
}
