package io.github.muthuishere.vsync;

/** An envelope or manifest seal of a format version this library does not read (for example {@code RQE2}). */
public class UnsupportedSpecVersionException extends VSyncException {
    private static final long serialVersionUID = 1L;

    public UnsupportedSpecVersionException(String code, String message) {
        super(code, message);
    }
}
