package io.github.muthuishere.vsync;

/** Nothing was pushed under the config's bucket and prefix: run a push for that env first. */
public class ManifestNotFoundException extends VSyncException {
    private static final long serialVersionUID = 1L;

    public ManifestNotFoundException(String code, String message) {
        super(code, message);
    }
}
