package io.github.muthuishere.vsync;

/** S3 could not be reached or refused the request (network, DNS, TLS, time-out, 403, a missing bucket). */
public class S3UnreachableException extends VSyncException {
    private static final long serialVersionUID = 1L;

    public S3UnreachableException(String code, String message) {
        super(code, message);
    }
}
