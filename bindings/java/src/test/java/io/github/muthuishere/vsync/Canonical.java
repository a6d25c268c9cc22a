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

    /** Fails (never skips) when a variable of the test harness is missing. */
    static String requireEnv(String name) {
        String v = System.getenv(name);
        if (v == null || v.isEmpty()) {
            fail(name + " is not set: run the Java tests through scripts/with-s3.sh (task test:java)");
        }
        return v;
    }
}
