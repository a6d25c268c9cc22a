package io.github.muthuishere.vsync;

/** A fetched or given object is malformed (bad envelope, seal, payload or blob, a torn bucket, a rolled-back pointer). */
public class BundleCorruptException extends VSyncException {
    private static final long serialVersionUID = 1L;

    public BundleCorruptException(String code, String message) {
        super(code, message);
    }
}
