package io.github.muthuishere.vsync.internal;

import io.github.muthuishere.vsync.Vsync;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * The JNI entry points of {@code libvsync_jni} (bindings/java/src/lib.rs). Internal: not an API.
 *
 * <p>Handles are {@code long} pointers owned by {@link Vsync}. Errors arrive as the exception the
 * Rust side chose from the core's error kind (its {@code java_class} table, the only one).
 */
public final class Native {
    private static final long LOAD_NANOS;
    private static volatile BiFunction<Long, Function<String, String>, Vsync> factory;

    static {
        long t0 = System.nanoTime();
        NativeLoader.load();
        LOAD_NANOS = System.nanoTime() - t0;
        try {
            // Vsync registers its factory in its static initializer: run it now, so that no
            // one else can register first.
            Class.forName("io.github.muthuishere.vsync.Vsync", true, Native.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Native() {}

    /** Called once, by {@code Vsync}'s static initializer. */
    public static void registerFactory(BiFunction<Long, Function<String, String>, Vsync> f) {
        synchronized (Native.class) {
            if (factory != null) {
                throw new IllegalStateException("already registered");
            }
            factory = f;
        }
    }

    static Vsync wrap(long handle, Function<String, String> envLookup) {
        return factory.apply(handle, envLookup);
    }

    /** Nanoseconds spent locating, extracting and loading the native library. */
    static long loadNanos() {
        return LOAD_NANOS;
    }

    public static native long open(Function<String, String> lookup, String[] defaults, long timeoutMillis);

    public static native long openWith(String config, String passphrase, String[] defaults, long timeoutMillis);

    public static native String getEnv(long handle, String key, String envValue);

    public static native boolean hasEnv(long handle, String key, String envValue);

    public static native int envSource(long handle, String key, String envValue);

    public static native byte[] getAsContent(long handle, String name);

    public static native String[] keys(long handle);

    public static native long generation(long handle);

    public static native long remoteGeneration(long handle);

    public static native boolean hasNewVersion(long handle);

    public static native String redacted(long handle);

    public static native void close(long handle);

    public static native void free(long handle);

    // Test hooks (conformance/README.md), reached through Testing.
    static native long fromPayload(byte[] payload, String envLabel, String pointerTs, String[] defaults);

    static native byte[] decryptEnvelope(byte[] envelope, String passphrase, String salt, int iterations);

    static native Object[] unsealManifest(byte[] sealed, String remoteTs);

    static native String decodeConfigJson(String blob);

    static native String[] resolveBootstrap(String[] envPairs);

    static native void raise(int kindNumber);

    static native void panic();
}
