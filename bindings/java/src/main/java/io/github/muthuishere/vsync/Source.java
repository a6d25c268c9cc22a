package io.github.muthuishere.vsync;

/** Where a value came from; the constants are in the order of the lookup chain (SPEC §8). */
public enum Source {
    VAULT("vault"),
    ENV("env"),
    DEFAULT("default"),
    MISSING("missing");

    private final String label;

    Source(String label) {
        this.label = label;
    }

    /** The spec's label: {@code "vault"}, {@code "env"}, {@code "default"} or {@code "missing"}. */
    public String label() {
        return label;
    }

    /** The core's source number (1 vault … 4 missing). */
    static Source fromNumber(int n) {
        return values()[n - 1];
    }
}
