package io.github.muthuishere.vsync;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Test hooks (conformance/README.md): the core's format layers one by one, so that the conformance
 * runner checks them through this binding's normal error mapping. A test source: the shipped jar
 * has no such class, and its natives exist only in a library built with the cargo feature
 * {@code testing-hooks} (scripts/test-java.sh passes {@code -Dvsync.nativeFeatures=testing-hooks};
 * the release build does not).
 */
final class Testing {
    static {
        Natives.loadNanos(); // loads the library
    }

    private Testing() {}

    /** {@code hooks::decrypt_envelope}. */
    static byte[] decryptEnvelope(byte[] envelope, String passphrase, String salt, int iterations) {
        return decryptEnvelopeNative(envelope, passphrase, salt, iterations);
    }

    /** The result of {@link #unsealManifest}. */
    record Unsealed(String embeddedTs, byte[] payload) {}

    /** {@code hooks::unseal}; {@code remoteTs} null skips the timestamp check. */
    static Unsealed unsealManifest(byte[] sealed, String remoteTs) {
        Object[] r = unsealManifestNative(sealed, remoteTs);
        return new Unsealed((String) r[0], (byte[]) r[1]);
    }

    /** {@code hooks::decode_config_json}: the decoded config as JSON text. */
    static String decodeConfigJson(String blob) {
        return decodeConfigJsonNative(blob);
    }

    /** {@code Vault::from_payload}: a handle without S3, over a decrypted payload. */
    static Vsync openPayload(
            byte[] payload, String envLabel, String pointerTs, Map<String, String> defaults, Map<String, String> env) {
        long h = fromPayload(payload, envLabel, pointerTs, Natives.flatten(defaults));
        return new Vsync(h, env::get, env::keySet);
    }

    /** The result of {@link #resolveBootstrap}. */
    record Bootstrap(String config, String passphrase, List<String> warnings) {}

    /** {@code hooks::resolve_bootstrap} over an explicit environment. */
    static Bootstrap resolveBootstrap(Map<String, String> env) {
        String[] r = resolveBootstrapNative(Natives.flatten(env));
        return new Bootstrap(r[0], r[1], new ArrayList<>(Arrays.asList(r).subList(2, r.length)));
    }

    /** One of the core's error kinds ({@code ErrorKind::ALL}). */
    record Kind(int number, String code, String className, boolean taxonomy) {}

    /** Every error kind of the core, in the core's order: the per-kind tests iterate it. */
    static List<Kind> errorKinds() {
        String[] flat = errorKindsNative();
        List<Kind> out = new ArrayList<>();
        for (int i = 0; i + 3 < flat.length; i += 4) {
            out.add(new Kind(Integer.parseInt(flat[i]), flat[i + 1], flat[i + 2], Boolean.parseBoolean(flat[i + 3])));
        }
        return out;
    }

    /** Throws what the binding throws for the core's error kind numbered {@code kindNumber}
     *  ({@code ErrorKind::number}, see {@link #errorKinds}). */
    static void raise(int kindNumber) {
        raiseNative(kindNumber);
    }

    /** Panics inside a native method (the boundary must turn it into an exception). */
    static void panicInNative() {
        panicNative();
    }

    /** Nanoseconds the native library took to locate, extract and load. */
    static long nativeLoadNanos() {
        return Natives.loadNanos();
    }

    // The natives behind the hooks: private, reached only through the methods above (none
    // takes a raw handle; fromPayload's result is wrapped before it leaves this class).
    private static native long fromPayload(byte[] payload, String envLabel, String pointerTs, String[] defaults);

    private static native byte[] decryptEnvelopeNative(byte[] envelope, String passphrase, String salt, int iterations);

    private static native Object[] unsealManifestNative(byte[] sealed, String remoteTs);

    private static native String decodeConfigJsonNative(String blob);

    private static native String[] resolveBootstrapNative(String[] envPairs);

    private static native String[] errorKindsNative();

    private static native void raiseNative(int kindNumber);

    private static native void panicNative();
}
