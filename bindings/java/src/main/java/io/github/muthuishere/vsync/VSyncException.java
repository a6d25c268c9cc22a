package io.github.muthuishere.vsync;

/**
 * The root of vsync's seven error classes (SPEC §9). Unchecked.
 *
 * <p>{@link #code()} is the Rust core's stable string code of the error's kind
 * ({@code ErrorKind::code}), like the class. Thrown as itself (not a subclass) only for a bug
 * caught at the native boundary, the core's internal kind, as in every vsync binding. Messages
 * say what to do and never contain a passphrase, a secret key or a secret value.
 */
public class VSyncException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String code;

    public VSyncException(String code, String message) {
        super(message);
        this.code = code;
    }

    /** The core's stable code of this error's kind (the same string in every vsync binding). */
    public String code() {
        return code;
    }
}
