package io.github.muthuishere.vsync.internal;

import java.util.Map;

/** How arguments cross to the native side. Internal: not an API. */
public final class NativeArgs {
    private NativeArgs() {}

    /** A map as alternating keys and values (the JNI side reads pairs from one String[]). */
    public static String[] flatten(Map<String, String> m) {
        String[] out = new String[m.size() * 2];
        int i = 0;
        for (Map.Entry<String, String> e : m.entrySet()) {
            out[i++] = e.getKey();
            out[i++] = e.getValue();
        }
        return out;
    }
}
