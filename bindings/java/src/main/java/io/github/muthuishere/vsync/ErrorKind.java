package io.github.muthuishere.vsync;

import java.util.NoSuchElementException;
import java.util.function.BiFunction;

/**
 * THE table from the core's error kinds to Java exceptions. The native library hands over the
 * core's {@code (class name, code, message)} and throws what {@link #create} returns; the codes
 * are the core's, never spelled here.
 *
 * <p>The seven taxonomy classes are ours; a bug caught at the boundary is the root
 * {@link VSyncException} (as in every vsync binding); the other kinds outside the taxonomy are
 * Java's own exceptions.
 */
enum ErrorKind {
    INTERNAL("InternalError", VSyncException::new),
    CONFIG_MISSING("ConfigMissingError", ConfigMissingException::new),
    CONFIG_UNSUPPORTED_VERSION("ConfigUnsupportedVersionError", ConfigUnsupportedVersionException::new),
    S3_UNREACHABLE("S3UnreachableError", S3UnreachableException::new),
    MANIFEST_NOT_FOUND("ManifestNotFoundError", ManifestNotFoundException::new),
    WRONG_PASSPHRASE("WrongPassphraseError", WrongPassphraseException::new),
    BUNDLE_CORRUPT("BundleCorruptError", BundleCorruptException::new),
    UNSUPPORTED_SPEC_VERSION("UnsupportedSpecVersionError", UnsupportedSpecVersionException::new),
    CLOSED("ClosedError", (code, message) -> new IllegalStateException(message)),
    NOT_FOUND("NotFoundError", (code, message) -> new NoSuchElementException(message)),
    INVALID_ARGUMENT("InvalidArgumentError", (code, message) -> new IllegalArgumentException(message));

    private final String coreClassName;
    private final BiFunction<String, String, RuntimeException> factory;

    ErrorKind(String coreClassName, BiFunction<String, String, RuntimeException> factory) {
        this.coreClassName = coreClassName;
        this.factory = factory;
    }

    /** The core's canonical class name of this kind ({@code ErrorKind::class_name}). */
    String coreClassName() {
        return coreClassName;
    }

    /**
     * The exception for the core's kind {@code coreClassName}. Called by the native library
     * (JNI ignores Java access): it then throws the result. A kind this table does not know
     * (never, while the jar and its library are built together) is the root class.
     */
    static RuntimeException create(String coreClassName, String code, String message) {
        for (ErrorKind k : values()) {
            if (k.coreClassName.equals(coreClassName)) {
                return k.factory.apply(code, message);
            }
        }
        return new VSyncException(code, message);
    }
}
