package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.function.Executable;

/** Test helpers: the canonical SPEC §9 name of a thrown exception, and assertions on it. */
final class Canonical {
    private Canonical() {}

    /** {@code ConfigMissingException} → {@code ConfigMissingError}; anything else: its class name. */
    static String name(Throwable t) {
        String n = t.getClass().getSimpleName();
        if (t instanceof VSyncException && n.endsWith("Exception")) {
            return n.substring(0, n.length() - "Exception".length()) + "Error";
        }
        return t.getClass().getName();
    }

    /** Runs {@code body}, expects it to throw the canonical class {@code expected}. */
    static VSyncException assertRaises(String expected, Executable body) {
        try {
            body.execute();
        } catch (Throwable t) {
            assertEquals(expected, name(t), () -> "threw " + t);
            return (VSyncException) t;
        }
        return fail("expected " + expected + ", nothing was thrown");
    }
}
