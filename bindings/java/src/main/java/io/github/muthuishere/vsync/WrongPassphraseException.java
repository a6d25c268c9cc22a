package io.github.muthuishere.vsync;

/** The bundle could not be decrypted: wrong passphrase, a salt or iteration count that does not match, or tampering. */
public class WrongPassphraseException extends VSyncException {
    private static final long serialVersionUID = 1L;

    public WrongPassphraseException(String code, String message) {
        super(code, message);
    }
}
