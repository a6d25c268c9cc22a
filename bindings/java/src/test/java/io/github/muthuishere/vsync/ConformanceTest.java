package io.github.muthuishere.vsync;

import static io.github.muthuishere.vsync.Canonical.assertRaises;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

/**
 * The conformance runner (conformance/README.md): every category directory of the corpus
 * ({@code VSYNC_CONFORMANCE_DIR}, default {@code <repo>/conformance/vectors}), one dynamic test per
 * vector, a failing test for a category it does not know.
 */
class ConformanceTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final int DEFAULT_ITERATIONS = 600_000;

    static Path corpus() {
        String dir = System.getenv("VSYNC_CONFORMANCE_DIR");
        if (dir != null && !dir.isEmpty()) {
            return Path.of(dir);
        }
        Path base = Path.of(System.getProperty("basedir", System.getProperty("user.dir")));
        return base.resolve("../../conformance/vectors").normalize();
    }

    @TestFactory
    Stream<DynamicNode> corpusVectors() throws IOException {
        Path root = corpus();
        assertTrue(Files.isDirectory(root), "conformance corpus not found at " + root);
        List<DynamicNode> out = new ArrayList<>();
        List<Path> categories;
        try (Stream<Path> s = Files.list(root)) {
            categories = s.filter(Files::isDirectory).sorted().toList();
        }
        assertFalse(categories.isEmpty(), "empty corpus at " + root);
        for (Path cat : categories) {
            List<Path> vectors;
            try (Stream<Path> s = Files.list(cat)) {
                vectors = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            }
            List<DynamicTest> tests = new ArrayList<>();
            for (Path v : vectors) {
                String name = v.getFileName().toString().replaceFirst("\\.json$", "");
                tests.add(DynamicTest.dynamicTest(cat.getFileName() + "/" + name, v.toUri(), () -> run(v, name)));
            }
            out.add(DynamicContainer.dynamicContainer(cat.getFileName().toString(), tests));
        }
        return out.stream();
    }

    private static void run(Path file, String name) throws Throwable {
        JsonObject vec = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        String category = vec.get("category").getAsString();
        JsonObject in = vec.has("inputs") && vec.get("inputs").isJsonObject()
                ? vec.getAsJsonObject("inputs")
                : new JsonObject();
        JsonObject exp = vec.getAsJsonObject("expected");
        String error = str(exp, "error");
        Path binPath = file.resolveSibling(name + ".bin");
        byte[] bin = Files.exists(binPath) ? Files.readAllBytes(binPath) : null;
        switch (category) {
            case "rqe1-decrypt", "rqe1-decrypt-error" -> {
                Executable call = () -> {
                    byte[] plain = Testing.decryptEnvelope(bin, str(in, "passphrase"), str(in, "salt"), iterations(in));
                    assertEquals(str(exp, "plaintext_hex"), HEX.formatHex(plain));
                };
                expectOrRun(error, call);
            }
            case "rqem0001-manifest" ->
                expectOrRun(error, () -> {
                    Testing.Unsealed u = Testing.unsealManifest(bin, str(in, "remote_ts"));
                    assertEquals(str(exp, "embedded_ts"), u.embeddedTs());
                    assertEquals(str(exp, "payload_hex"), HEX.formatHex(u.payload()));
                });
            case "config-blob" ->
                expectOrRun(error, () -> {
                    String json = Testing.decodeConfigJson(new String(bin, StandardCharsets.UTF_8));
                    assertEquals(exp.get("config_json"), JsonParser.parseString(json));
                });
            case "fallback-chain" -> {
                Map<String, String> env = map(in, "env");
                byte[] payload = kvPayload(in.getAsJsonObject("vault"), null, null);
                try (Vsync v = Testing.openPayload(payload, "test", null, map(in, "defaults"), env)) {
                    checkResults(v, exp);
                }
            }
            case "resolved-view" -> {
                // The environment is exactly the vector's (Testing.openPayload injects it whole).
                byte[] payload = kvPayload(in.getAsJsonObject("vault"), null, null);
                try (Vsync v = Testing.openPayload(payload, "test", null, map(in, "defaults"), map(in, "env"))) {
                    List<Map.Entry<String, String>> want = new ArrayList<>();
                    List<String> sources = new ArrayList<>();
                    exp.getAsJsonArray("environ").forEach(e -> {
                        JsonObject o = e.getAsJsonObject();
                        want.add(Map.entry(str(o, "key"), str(o, "value")));
                        sources.add(str(o, "source"));
                    });
                    assertEquals(want, List.copyOf(v.environ().entrySet()));
                    List<String> got = new ArrayList<>();
                    want.forEach(e -> got.add(v.envSource(e.getKey()).label()));
                    assertEquals(sources, got);
                }
            }
            case "asset-path" -> {
                String key = str(in, "key");
                byte[] payload = kvPayload(in.has("vault") ? in.getAsJsonObject("vault") : new JsonObject(), key, bin);
                try (Vsync v = Testing.openPayload(payload, "test", null, Map.of(), Map.of())) {
                    byte[] got = v.getAsContent(key);
                    assertEquals(str(exp, "bytes_hex"), HEX.formatHex(got));
                    // The tempfile recipe of the README: a 0600 file, written, read back.
                    Path dir = Files.createTempDirectory("vsync-asset-");
                    Path f = Files.createTempFile(
                            dir,
                            "asset-",
                            ".bin",
                            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                    try {
                        Files.write(f, got);
                        assertArrayEquals(got, Files.readAllBytes(f));
                        assertEquals(str(exp, "mode_octal"), octal(Files.getPosixFilePermissions(f)));
                    } finally {
                        Files.deleteIfExists(f);
                        Files.deleteIfExists(dir);
                    }
                }
            }
            case "error-taxonomy" -> {
                String passphrase =
                        str(in, "passphrase") == null || str(in, "passphrase").isEmpty()
                                ? ANY_PASSPHRASE
                                : str(in, "passphrase");
                Executable step = switch (taxonomyStep(in, bin)) {
                    case LIVE -> {
                        String config = liveConfig("error-taxonomy", name);
                        yield () -> VsyncClient.openWith(config, passphrase).close();
                    }
                    case ENVELOPE ->
                        () -> Testing.decryptEnvelope(bin, str(in, "passphrase"), str(in, "salt"), iterations(in));
                    case CONFIG_BLOB -> () -> Testing.decodeConfigJson(new String(bin, StandardCharsets.UTF_8));
                    case OPEN_WITH ->
                        () -> VsyncClient.openWith(str(in, "config"), passphrase)
                                .close();
                    case BOOTSTRAP ->
                        () -> withFiles(
                                in,
                                (env, dir) -> Testing.decodeConfigJson(
                                        Testing.resolveBootstrap(env).config()));
                };
                assertRaises(error, step);
            }
            case "vault-payload" ->
                expectOrRun(error, () -> {
                    try (Vsync v =
                            Testing.openPayload(bin, str(in, "env"), str(in, "pointer_ts"), Map.of(), Map.of())) {
                        List<String> keys = new ArrayList<>();
                        exp.getAsJsonArray("keys").forEach(e -> keys.add(e.getAsString()));
                        assertEquals(keys, v.keys());
                        for (Map.Entry<String, String> kv : map(exp, "kv").entrySet()) {
                            assertEquals(kv.getValue(), v.getEnv(kv.getKey()), kv.getKey());
                            assertEquals(Source.VAULT, v.envSource(kv.getKey()));
                        }
                        for (Map.Entry<String, String> a : map(exp, "assets").entrySet()) {
                            assertEquals(a.getValue(), HEX.formatHex(v.getAsContent(a.getKey())), a.getKey());
                        }
                    }
                });
            case "bootstrap" ->
                withFiles(
                        in,
                        (env, dir) -> expectOrRun(error, () -> {
                            Testing.Bootstrap b = Testing.resolveBootstrap(env);
                            assertEquals(str(exp, "config"), b.config());
                            assertEquals(str(exp, "passphrase"), b.passphrase());
                            List<String> warnings = new ArrayList<>();
                            exp.getAsJsonArray("warnings")
                                    .forEach(w -> warnings.add(w.getAsString().replace("{dir}", dir)));
                            assertEquals(warnings, b.warnings());
                        }));
            case "s3-scenario" -> {
                String config = liveConfig("s3-scenario", name);
                Map<String, String> env = map(in, "env");
                VsyncOptions opts = VsyncOptions.builder()
                        .defaults(map(in, "defaults"))
                        .envLookup(env::get)
                        .build();
                expectOrRun(error, () -> {
                    try (Vsync v = VsyncClient.openWith(config, str(in, "passphrase"), opts)) {
                        assertEquals(exp.get("generation").getAsLong(), v.generation());
                        checkResults(v, exp);
                        for (Map.Entry<String, String> a : map(exp, "assets").entrySet()) {
                            assertEquals(a.getValue(), HEX.formatHex(v.getAsContent(a.getKey())), a.getKey());
                        }
                        assertEquals(v.generation(), v.remoteGeneration());
                        assertFalse(v.hasNewVersion());
                    }
                });
            }
            case "rollback" -> {
                String config = liveConfig("rollback", name);
                JsonElement floor = in.get("min_generation");
                VsyncOptions.Builder b = VsyncOptions.builder().envLookup(k -> null);
                if (floor != null && !floor.isJsonNull()) {
                    b.minGeneration(floor.getAsLong());
                }
                VsyncOptions opts = b.build();
                expectOrRun(error, () -> {
                    try (Vsync v = VsyncClient.openWith(config, str(in, "passphrase"), opts)) {
                        assertEquals(exp.get("generation").getAsLong(), v.generation());
                        for (Map.Entry<String, String> kv : map(exp, "kv").entrySet()) {
                            assertEquals(kv.getValue(), v.getEnv(kv.getKey()), kv.getKey());
                        }
                    }
                });
            }
            default -> fail("unknown conformance category: " + category + " (" + file + ")");
        }
    }

    /** Passed when a vector names no passphrase: the family's live scenarios fail before decryption. */
    private static final String ANY_PASSPHRASE = "any non-empty passphrase";

    /** What an error-taxonomy vector runs (SPEC §11). */
    enum TaxonomyStep {
        /** {@code scenario}: open the seeded live vault. */
        LIVE,
        /** A {@code .bin} with {@code passphrase} and {@code salt}: decrypt the RQE1 envelope. */
        ENVELOPE,
        /** A {@code .bin} that is a config blob ({@code vsync-cfg-…}, or any without a passphrase). */
        CONFIG_BLOB,
        /** {@code config} and {@code passphrase}: openWith, which fails before any network access. */
        OPEN_WITH,
        /** {@code env} (and our optional {@code files}): resolve the bootstrap, decode its config. */
        BOOTSTRAP
    }

    /**
     * The one place this runner decides an error-taxonomy vector's step: the family's four input
     * shapes and our {@code config} shape, told apart by the inputs and the {@code .bin}'s first
     * bytes, never by the vector's name.
     */
    static TaxonomyStep taxonomyStep(JsonObject in, byte[] bin) {
        if (isString(in, "scenario")) {
            return TaxonomyStep.LIVE;
        }
        if (bin != null) {
            boolean blob =
                    new String(bin, 0, Math.min(bin.length, 10), StandardCharsets.ISO_8859_1).equals("vsync-cfg-");
            return blob || !isString(in, "passphrase") ? TaxonomyStep.CONFIG_BLOB : TaxonomyStep.ENVELOPE;
        }
        if (isString(in, "config")) {
            return TaxonomyStep.OPEN_WITH;
        }
        if (in.has("env") && in.get("env").isJsonObject()) {
            return TaxonomyStep.BOOTSTRAP;
        }
        return fail("error-taxonomy vector with no input shape this runner knows: " + in.keySet());
    }

    private static boolean isString(JsonObject o, String k) {
        JsonElement e = o.get(k);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isString();
    }

    private static void checkResults(Vsync v, JsonObject exp) {
        for (JsonElement e : exp.getAsJsonArray("results")) {
            JsonObject r = e.getAsJsonObject();
            String key = r.get("key").getAsString();
            assertEquals(str(r, "value"), v.getEnv(key), key);
            assertEquals(r.get("source").getAsString(), v.envSource(key).label(), key);
            assertEquals(r.get("has").getAsBoolean(), v.hasEnv(key), key);
        }
    }

    private static void expectOrRun(String error, Executable body) throws Throwable {
        if (error != null) {
            assertRaises(error, body);
        } else {
            body.execute();
        }
    }

    interface EnvBody {
        void run(Map<String, String> env, String dir) throws Throwable;
    }

    /** Creates {@code inputs.files} (content, then chmod) in a fresh directory, substitutes
     *  {@code {dir}} in {@code inputs.env}, runs {@code body}, removes the directory. */
    private static void withFiles(JsonObject in, EnvBody body) throws Throwable {
        Path dir = Files.createTempDirectory("vsync-boot-");
        List<Path> created = new ArrayList<>();
        try {
            if (in.has("files") && in.get("files").isJsonObject()) {
                for (Map.Entry<String, JsonElement> f :
                        in.getAsJsonObject("files").entrySet()) {
                    JsonObject spec = f.getValue().getAsJsonObject();
                    Path p = dir.resolve(f.getKey());
                    Files.write(p, HEX.parseHex(spec.get("content_hex").getAsString()));
                    Files.setPosixFilePermissions(
                            p, perms(spec.get("mode_octal").getAsString()));
                    created.add(p);
                }
            }
            Map<String, String> env = new LinkedHashMap<>();
            map(in, "env").forEach((k, v) -> env.put(k, v.replace("{dir}", dir.toString())));
            body.run(env, dir.toString());
        } finally {
            for (Path p : created) {
                Files.deleteIfExists(p);
            }
            Files.deleteIfExists(dir);
        }
    }

    private static String liveConfig(String category, String name) throws IOException {
        String live = System.getenv("VSYNC_CONFORMANCE_LIVE");
        if (live == null || live.isEmpty()) {
            fail("live vector " + category + "/" + name
                    + ": VSYNC_CONFORMANCE_LIVE is not set (run through scripts/with-s3.sh)");
        }
        Path p = Path.of(live, category, name + ".config");
        if (!Files.exists(p)) {
            fail("live vector " + category + "/" + name + ": " + p + " was not seeded");
        }
        return Files.readString(p).strip();
    }

    /** {"kv": vault, "assets": {key: base64(bin)}} as UTF-8 JSON (the runner's payload). */
    private static byte[] kvPayload(JsonObject vault, String assetKey, byte[] asset) {
        JsonObject p = new JsonObject();
        p.add("kv", vault == null ? new JsonObject() : vault);
        if (assetKey != null) {
            JsonObject assets = new JsonObject();
            assets.addProperty(assetKey, Base64.getEncoder().encodeToString(asset));
            p.add("assets", assets);
        }
        return p.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static int iterations(JsonObject in) {
        return in.has("iterations") && !in.get("iterations").isJsonNull()
                ? in.get("iterations").getAsInt()
                : DEFAULT_ITERATIONS;
    }

    private static String str(JsonObject o, String k) {
        JsonElement e = o.get(k);
        return e == null || e.isJsonNull() ? null : e.getAsString();
    }

    private static Map<String, String> map(JsonObject o, String k) {
        Map<String, String> m = new LinkedHashMap<>();
        JsonElement e = o.get(k);
        if (e != null && e.isJsonObject()) {
            e.getAsJsonObject()
                    .entrySet()
                    .forEach(x -> m.put(x.getKey(), x.getValue().getAsString()));
        }
        return m;
    }

    private static Set<PosixFilePermission> perms(String octal) {
        int mode = Integer.parseInt(octal, 8);
        StringBuilder sb = new StringBuilder();
        String rwx = "rwxrwxrwx";
        for (int i = 0; i < 9; i++) {
            sb.append((mode & (1 << (8 - i))) != 0 ? rwx.charAt(i) : '-');
        }
        return PosixFilePermissions.fromString(sb.toString());
    }

    private static String octal(Set<PosixFilePermission> p) {
        String s = PosixFilePermissions.toString(p);
        int mode = 0;
        for (int i = 0; i < 9; i++) {
            if (s.charAt(i) != '-') {
                mode |= 1 << (8 - i);
            }
        }
        return String.format("%04o", mode);
    }
}
