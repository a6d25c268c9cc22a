import io.github.muthuishere.vsync.Vsync;
import io.github.muthuishere.vsync.VsyncClient;
import io.github.muthuishere.vsync.VsyncOptions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The Java demo. Two modes:
 * <ul>
 *   <li>no argument: the demo-hook contract of scripts/demo-java.sh (VSYNC_DEMO_* variables,
 *       {@code [java] ...} lines);</li>
 *   <li>{@code reader}: the reader of scripts/demo.d/README.md (DEMO_KEYS, DEMO_ASSET; values
 *       masked; polls hasNewVersion() until the demo's second push).</li>
 * </ul>
 */
public class Demo {
    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("reader")) {
            reader();
            return;
        }
        Map<String, String> defaults = new LinkedHashMap<>();
        for (String pair : env("VSYNC_DEMO_DEFAULTS").split(",")) {
            int eq = pair.indexOf('=');
            if (eq > 0) {
                defaults.put(pair.substring(0, eq).trim(), pair.substring(eq + 1));
            }
        }
        VsyncOptions options = VsyncOptions.builder().defaults(defaults).build();
        try (Vsync vault = VsyncClient.open(options)) { // VSYNC_CONFIG + VSYNC_PASSPHRASE
            System.out.println("[java] generation=" + vault.generation());
            for (String key : env("VSYNC_DEMO_KEYS").split(",")) {
                key = key.trim();
                if (key.isEmpty()) {
                    continue;
                }
                String value = vault.getEnv(key);
                System.out.println("[java] " + key + "=" + (value == null ? "<none>" : value) + " ("
                        + vault.envSource(key).label() + ")");
            }
            printAsset(vault, env("VSYNC_DEMO_ASSET"), "[java] asset ", "<none>", bytes -> {
                String sha = HexFormat.of()
                        .formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
                return "sha256 " + sha.substring(0, 12);
            });
            System.out.println("[java] has_new_version=" + vault.hasNewVersion());
        }
    }

    static void reader() throws Exception {
        VsyncOptions options =
                VsyncOptions.builder().defaults(Map.of("PORT", "8080")).build();
        try (Vsync vault = VsyncClient.open(options)) {
            System.out.println("opened " + vault);
            for (String key : env("DEMO_KEYS").trim().split("\\s+")) {
                if (key.isEmpty()) {
                    continue;
                }
                String value = vault.getEnv(key);
                String shown = value == null ? "(none)" : mask(value);
                System.out.println(
                        String.format("%-16s%-9s%s", key, vault.envSource(key).label(), shown));
            }
            printAsset(
                    vault,
                    env("DEMO_ASSET"),
                    "asset ",
                    "(none)",
                    bytes -> "starts "
                            + HexFormat.of().formatHex(java.util.Arrays.copyOf(bytes, Math.min(4, bytes.length))));
            System.out.println("generation " + vault.generation());
            System.out.println("has_new_version " + vault.hasNewVersion());
            System.out.println("waiting for a new version");
            System.out.flush();
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!vault.hasNewVersion()) {
                if (System.nanoTime() > deadline) {
                    System.out.println("has_new_version still false after 60 s");
                    return;
                }
                Thread.sleep(100);
            }
            System.out.println("has_new_version true (remote generation " + vault.remoteGeneration() + ")");
        }
    }

    /** What a mode shows of an asset's bytes. */
    private interface Digest {
        String of(byte[] bytes) throws Exception;
    }

    /**
     * One line about the asset {@code name} (none when the name is empty): {@code prefix + name},
     * then {@code none} when the vault has no such asset, else its size and its {@code digest}.
     */
    private static void printAsset(Vsync vault, String name, String prefix, String none, Digest digest)
            throws Exception {
        if (name.isEmpty()) {
            return;
        }
        byte[] bytes = vault.getAsContent(name);
        String shown = bytes == null ? none : bytes.length + " bytes, " + digest.of(bytes);
        System.out.println(prefix + name + ": " + shown);
    }

    private static String mask(String v) {
        int n = v.codePointCount(0, v.length());
        String head = v.substring(0, v.offsetByCodePoints(0, Math.min(6, n)));
        return n > 6 ? head + "\u2026" : head;
    }

    private static String env(String name) {
        String v = System.getenv(name);
        return v == null ? "" : v;
    }
}
