package io.github.muthuishere.vsync.internal;

import io.github.muthuishere.vsync.Vsync;
import java.util.function.BiFunction;
import java.util.function.Function;

/**
 * Loads {@code libvsync_jni} once and wraps handles made by the test hooks. Internal: not an
 * API. It declares no native method: the handle's entry points are package-private in
 * {@code io.github.muthuishere.vsync.Natives}, the test hooks' private in {@link Testing}.
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

    /** Loads the native library (once; later calls return at once). */
    public static void ensureLoaded() {
        // The static initializer above does the work, exactly once.
    }

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
}
