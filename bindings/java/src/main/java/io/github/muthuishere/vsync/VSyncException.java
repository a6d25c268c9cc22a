package io.github.muthuishere.vsync;

/**
 * The root of vsync's seven error classes (SPEC §9). Unchecked.
 *
 * <p>{@link #code()} is a stable string (for example {@code VSYNC_CONFIG_MISSING}) chosen by the
 * Rust core, like the class. Messages say what to do and never contain a passphrase, a secret
 * key or a secret value.
 */
public class VSyncException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String code;

    public VSyncException(String code, String message) {
        super(message);
        this.code = code;
    }

    /** The stable code of this error class, e.g. {@code VSYNC_WRONG_PASSPHRASE}. */
    public String code() {
        return code;
    }
}
