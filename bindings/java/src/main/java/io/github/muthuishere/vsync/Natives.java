package io.github.muthuishere.vsync;

import io.github.muthuishere.vsync.internal.Native;
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
    static {
        Native.ensureLoaded();
    }

    private Natives() {}

    static native long open(Function<String, String> lookup, String[] defaults, long timeoutMillis, long minGeneration);

    static native long openWith(
            String config, String passphrase, String[] defaults, long timeoutMillis, long minGeneration);

    static native String getEnv(long handle, String key, String envValue);

    static native boolean hasEnv(long handle, String key, String envValue);

    static native int envSource(long handle, String key, String envValue);

    static native byte[] getAsContent(long handle, String name);

    static native String[] keys(long handle);

    static native long generation(long handle);

    static native long remoteGeneration(long handle);

    static native boolean hasNewVersion(long handle);

    static native String redacted(long handle);

    static native void close(long handle);

    static native void free(long handle);
}
