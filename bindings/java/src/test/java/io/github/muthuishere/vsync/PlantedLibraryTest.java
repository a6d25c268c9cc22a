package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 23, finding 1, the way an attacker does it, with two real users: another local user
 * (the planter) pre-creates the jar loader's library cache where the victim's JVM will look (an
 * {@code XDG_CACHE_HOME} it can write, a {@code -Dvsync.native.cache} directory, a shared home)
 * and plants a library whose constructor writes a marker file. The planted file has the jar
 * entry's size and a CRC-32 forged to match, under every directory name a loader derives from the
 * entry (size and CRC, SHA-256). The victim, a second uid, then uses the library from the jar:
 * the planted constructor must never run, and the real library must load.
 *
 * <p>Needs root (to create the two users and switch to them): the tests run as root in CI and in
 * the dev containers. Not root is a failure, not a skip.
 */
class PlantedLibraryTest {
    private static final String LIB = "libvsync_jni.so";
    private static final String VICTIM = "vsync-victim";
    private static final String PLANTER = "vsync-planter";

    @TempDir
    Path tmp;

    private Path jar;
    private Path marker;
    private Path victimSource;

    @BeforeEach
    void setUp() throws Exception {
        assertEquals("0", run(List.of("id", "-u")).trim(), "this test switches users: run it as root (CI does)");
        ensureUser(VICTIM);
        ensureUser(PLANTER);
        chmod(tmp, "755");
        jar = tmp.resolve("vsync.jar");
        jarOf(codeRoot(), jar);
        chmod(jar, "644");
        Path markers = Files.createDirectory(tmp.resolve("markers"));
        chmod(markers, "777");
        marker = markers.resolve("planted-library-ran");
        victimSource = tmp.resolve("Victim.java");
        Files.writeString(
                victimSource,
                "public class Victim {\n"
                        + "  public static void main(String[] a) {\n"
                        + "    try {\n"
                        + "      io.github.muthuishere.vsync.VsyncClient.openWith(\"not a config\", \"pw\");\n"
                        + "    } catch (io.github.muthuishere.vsync.VSyncException e) {\n"
                        + "      System.out.println(\"library loaded: \" + e.getClass().getSimpleName());\n"
                        + "    }\n"
                        + "  }\n"
                        + "}\n");
        chmod(victimSource, "644");
    }

    @Test
    void aLibraryPlantedInAnXdgCacheHomeAnotherUserOwnsNeverRuns() throws Exception {
        Path xdg = plantedCacheParent("xdg");
        plant(xdg.resolve("vsync-s3-client"));
        String out = runVictim(List.of(), "XDG_CACHE_HOME=" + xdg);
        assertNotRun(out);
    }

    @Test
    void aLibraryPlantedInTheCacheDirectoryOfThePropertyNeverRuns() throws Exception {
        Path root = plantedCacheParent("prop").resolve("vsync-s3-client");
        plant(root);
        String out = runVictim(List.of("-Dvsync.native.cache=" + root), "XDG_CACHE_HOME=");
        assertNotRun(out);
    }

    @Test
    void aLibraryPlantedInASharedHomeNeverRuns() throws Exception {
        // A home another user can write to (a shared account directory): the planter pre-creates
        // ~/.cache/vsync-s3-client. The JVM's user.home comes from the password database, so the
        // home is given as the property the loader reads.
        Path home = plantedCacheParent("home");
        chmod(home, "777");
        plant(home.resolve(".cache").resolve("vsync-s3-client"));
        String out = runVictim(List.of("-Duser.home=" + home), "HOME=" + home);
        assertNotRun(out);
    }

    @Test
    void theVictimsOwnCacheIsFilledThenUsed() throws Exception {
        Path xdg = Files.createDirectory(tmp.resolve("victim-cache"));
        chown(xdg, VICTIM);
        chmod(xdg, "700");
        assertNotRun(runVictim(List.of(), "XDG_CACHE_HOME=" + xdg));
        List<Path> cached;
        try (Stream<Path> s = Files.walk(xdg)) {
            cached = s.filter(p -> p.getFileName().toString().equals(LIB)).toList();
        }
        assertEquals(1, cached.size(), "the loader filled the victim's own cache: " + cached);
        assertEquals(uid(VICTIM), Files.getAttribute(cached.get(0), "unix:uid"));
        // The second run takes the cached copy.
        assertNotRun(runVictim(List.of(), "XDG_CACHE_HOME=" + xdg));
    }

    private void assertNotRun(String victimOutput) {
        assertFalse(
                Files.exists(marker), "the planted library's constructor ran in the victim's JVM:\n" + victimOutput);
        assertTrue(victimOutput.startsWith("exit 0\n") && victimOutput.contains("library loaded: "), victimOutput);
    }

    /** A directory of the planter's, where it builds the cache the victim will be pointed at. */
    private Path plantedCacheParent(String name) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve(name));
        chmod(dir, "755");
        chown(dir, PLANTER);
        return dir;
    }

    /** The planted library under every name a loader derives from the jar entry, owned by the planter. */
    private void plant(Path cacheRoot) throws Exception {
        byte[] real;
        String platform;
        try (ZipFile zip = new ZipFile(jar.toFile())) {
            ZipEntry entry = zip.stream()
                    .filter(e ->
                            e.getName().startsWith("native/") && e.getName().endsWith("/" + LIB))
                    .findFirst()
                    .orElseThrow();
            String[] parts = entry.getName().split("/");
            platform = parts[parts.length - 2];
            try (var in = zip.getInputStream(entry)) {
                real = in.readAllBytes();
            }
        }
        Path src = tmp.resolve("planted.c");
        Files.writeString(
                src,
                "#include <fcntl.h>\n#include <unistd.h>\n"
                        + "__attribute__((constructor)) static void planted(void) {\n"
                        + "  int fd = open(\"" + marker + "\", O_CREAT | O_WRONLY, 0666);\n"
                        + "  if (fd >= 0) { write(fd, \"ran\\n\", 4); close(fd); }\n"
                        + "}\n");
        Path so = tmp.resolve("planted.so");
        run(List.of("gcc", "-shared", "-fPIC", "-o", so.toString(), src.toString()));
        byte[] planted = Files.readAllBytes(so);
        assertTrue(planted.length + 4 <= real.length);
        CRC32 want = new CRC32();
        want.update(real);
        byte[] forged = withCrc(planted, real.length, want.getValue());

        String sha256 =
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(real));
        List<String> names = new ArrayList<>();
        names.add(platform + "-" + real.length + "-" + Long.toHexString(want.getValue()));
        names.add(platform + "-" + sha256);
        for (String name : names) {
            Path dir = Files.createDirectories(cacheRoot.resolve(name));
            Files.write(dir.resolve(LIB), forged);
        }
        run(List.of("chmod", "-R", "u=rwX,go=rX", cacheRoot.toString()));
        run(List.of(
                "chown", "-R", PLANTER + ":" + PLANTER, cacheRoot.getParent().toString()));
    }

    /**
     * {@code prefix}, zero-padded to {@code size - 4} bytes, then four bytes chosen so the CRC-32
     * of the whole is {@code crc} (CRC-32 is linear: the classic four-byte patch).
     */
    static byte[] withCrc(byte[] prefix, int size, long crc) {
        int[] table = new int[256];
        int[] byTopByte = new int[256];
        for (int n = 0; n < 256; n++) {
            int c = n;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? 0xEDB88320 ^ (c >>> 1) : c >>> 1;
            }
            table[n] = c;
            byTopByte[c >>> 24] = n;
        }
        byte[] out = new byte[size];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        CRC32 head = new CRC32();
        head.update(out, 0, size - 4);
        int reg = ~(int) head.getValue();
        int target = ~(int) crc;
        int[] idx = new int[4];
        for (int k = 3, r = target; k >= 0; k--) {
            idx[k] = byTopByte[r >>> 24];
            r = (r ^ table[idx[k]]) << 8;
        }
        for (int k = 0; k < 4; k++) {
            out[size - 4 + k] = (byte) ((reg ^ idx[k]) & 0xff);
            reg = (reg >>> 8) ^ table[idx[k]];
        }
        CRC32 check = new CRC32();
        check.update(out);
        assertEquals(crc, check.getValue(), "forged CRC-32");
        return out;
    }

    /** Runs the victim program as the victim user with a clean environment: "exit N", then its output. */
    private String runVictim(List<String> jvmArgs, String... env) throws Exception {
        String uid = Integer.toString(uid(VICTIM));
        String gid = run(List.of("id", "-g", VICTIM)).trim();
        List<String> cmd = new ArrayList<>(List.of(
                "setpriv",
                "--reuid=" + uid,
                "--regid=" + gid,
                "--clear-groups",
                "env",
                "-i",
                "PATH=/usr/local/bin:/usr/bin:/bin",
                "HOME=" + tmp.resolve("nohome"),
                "LANG=C.UTF-8"));
        cmd.addAll(List.of(env));
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Djava.io.tmpdir=/tmp");
        cmd.addAll(jvmArgs);
        cmd.addAll(List.of("-cp", jar.toString(), victimSource.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        return "exit " + p.waitFor() + "\n" + out;
    }

    private static int uid(String user) throws Exception {
        return Integer.parseInt(run(List.of("id", "-u", user)).trim());
    }

    private static void ensureUser(String user) throws Exception {
        Process p =
                new ProcessBuilder("id", "-u", user).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        if (p.waitFor() != 0) {
            run(List.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user));
        }
    }

    private static void chmod(Path p, String mode) throws Exception {
        run(List.of("chmod", mode, p.toString()));
    }

    private static void chown(Path p, String user) throws Exception {
        run(List.of("chown", user + ":" + user, p.toString()));
    }

    /** Runs {@code cmd}; its output (stdout and stderr); fails on a non-zero exit. */
    private static String run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        assertEquals(0, rc, String.join(" ", cmd) + " failed:\n" + out);
        return out;
    }

    /** The library's compiled classes and resources (with the native library build-native.sh put there). */
    private static Path codeRoot() throws Exception {
        return Path.of(
                Vsync.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    /** A jar of {@code dir}'s files, as Maven's package step makes it. */
    private static void jarOf(Path dir, Path jar) throws IOException {
        try (OutputStream os = Files.newOutputStream(jar);
                ZipOutputStream zip = new ZipOutputStream(os);
                Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (Files.isRegularFile(p)) {
                    zip.putNextEntry(new ZipEntry(dir.relativize(p).toString().replace(File.separatorChar, '/')));
                    Files.copy(p, zip);
                    zip.closeEntry();
                }
            }
        }
    }
}
