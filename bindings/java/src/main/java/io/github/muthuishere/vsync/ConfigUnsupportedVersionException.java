package io.github.muthuishere.vsync;

/** The config blob is of a version this library does not read (standard base64 or padding, {@code v != 1}, or a missing/short salt). */
public class ConfigUnsupportedVersionException extends VSyncException {
    private static final long serialVersionUID = 1L;

    public ConfigUnsupportedVersionException(String code, String message) {
        super(code, message);
    }
}
