package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar loader's per-user cache (what it trusts: issue 23) and its musl detection, on files made
 * here (no library is loaded; PlantedLibraryTest loads through the cache with two real users).
 */
class NativeLoaderTest {
    private static final String FILE = "libvsync_jni.so";
    private static final String PLATFORM = "linux-x86_64";
    private static final String ENTRY = "native/" + PLATFORM + "/" + FILE;

    @TempDir
    Path tmp;

    /**
     * A jar holding one "library" entry of {@code bytes}, stored (as the release jar stores it) or
     * deflated, and the digest the build records beside it ({@code digest}: null for none).
     */
    private File jarWith(byte[] bytes, boolean stored, String digest) throws IOException {
        File jar = tmp.resolve((stored ? "stored" : "deflated") + "-" + digest + ".jar")
                .toFile();
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(jar.toPath()))) {
            ZipEntry e = new ZipEntry(ENTRY);
            if (stored) {
                CRC32 crc = new CRC32();
                crc.update(bytes);
                e.setMethod(ZipEntry.STORED);
                e.setSize(bytes.length);
                e.setCompressedSize(bytes.length);
                e.setCrc(crc.getValue());
            }
            zip.putNextEntry(e);
            zip.write(bytes);
            zip.closeEntry();
            if (digest != null) {
                zip.putNextEntry(new ZipEntry(ENTRY + ".sha256"));
                zip.write((digest + "\n").getBytes(StandardCharsets.US_ASCII));
                zip.closeEntry();
            }
        }
        return jar;
    }

    private File jarWith(byte[] bytes, boolean stored) throws Exception {
        return jarWith(bytes, stored, sha256(bytes));
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(42).nextBytes(b);
        return b;
    }

    private static Object fileKey(Path f) throws IOException {
        return Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .fileKey();
    }

    private static String mode(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
    }

    private static Path cached(File jar, Path root) throws IOException {
        try (ZipFile zip = new ZipFile(jar)) {
            return NativeLoader.cached(zip, zip.getEntry(ENTRY), PLATFORM, root, NativeLoader.currentUid());
        }
    }

    private static void chmod(String mode, Path p) throws Exception {
        Process proc =
                new ProcessBuilder("chmod", mode, p.toString()).inheritIO().start();
        assertEquals(0, proc.waitFor());
    }

    @Test
    void currentUidIsTheOwnerOfWhatThisProcessCreates() throws IOException {
        assertEquals(Files.getAttribute(tmp, "unix:uid"), (int) NativeLoader.currentUid());
    }

    @Test
    void extractsOnceIntoAPrivateDirectoryNamedByTheDigestThenReusesIt() throws Exception {
        byte[] lib = randomBytes(3 << 20);
        Path root = tmp.resolve("cache");
        for (boolean stored : new boolean[] {true, false}) {
            File jar = jarWith(lib, stored);
            Path first = cached(jar, root);
            assertNotNull(first);
            assertArrayEquals(lib, Files.readAllBytes(first));
            assertEquals("rwx------", mode(first.getParent()));
            assertEquals("rwx------", mode(root));
            assertEquals("rw-------", mode(first));
            assertEquals(
                    PLATFORM + "-" + sha256(lib),
                    first.getParent().getFileName().toString());

            Object key = fileKey(first);
            Path second = cached(jar, root);
            assertEquals(first, second);
            assertEquals(key, fileKey(second), "an intact cached copy is used as it is, not written again");
            String[] names = first.getParent().toFile().list();
            assertArrayEquals(new String[] {FILE}, names, "no temporary file is left behind");
        }
    }

    @Test
    void aCachedCopyWhoseContentDiffersIsWrittenAgain() throws Exception {
        byte[] lib = randomBytes(1 << 20);
        Path root = tmp.resolve("cache");
        File jar = jarWith(lib, true);
        Path cached = cached(jar, root);
        assertNotNull(cached);

        // Same size, one byte changed: only the content check can tell.
        try (RandomAccessFile f = new RandomAccessFile(cached.toFile(), "rw")) {
            f.seek(12345);
            f.write(lib[12345] ^ 0x5a);
        }
        Path again = cached(jar, root);
        assertEquals(cached, again);
        assertArrayEquals(lib, Files.readAllBytes(again));

        // Truncated (a copy that an older loader left half written, say).
        try (RandomAccessFile f = new RandomAccessFile(cached.toFile(), "rw")) {
            f.setLength(1000);
        }
        assertArrayEquals(lib, Files.readAllBytes(cached(jar, root)));

        // A link in place of the file (to a copy of the right bytes elsewhere): replaced by a file.
        Path elsewhere = Files.write(tmp.resolve("elsewhere.so"), lib);
        Files.delete(cached);
        Files.createSymbolicLink(cached, elsewhere);
        Path replaced = cached(jar, root);
        assertTrue(Files.isRegularFile(replaced, LinkOption.NOFOLLOW_LINKS));
        assertArrayEquals(lib, Files.readAllBytes(replaced));
    }

    @Test
    void aJarWithoutARecordedDigestOrWithAWrongOneIsNotCached() throws Exception {
        byte[] lib = randomBytes(4096);
        Path root = tmp.resolve("cache");
        assertNull(cached(jarWith(lib, true, null), root));
        String wrong = sha256(new byte[] {1});
        assertNull(cached(jarWith(lib, true, wrong), root));
        assertFalse(Files.exists(root.resolve(PLATFORM + "-" + wrong).resolve(FILE)), "nothing installed");
        assertNull(cached(jarWith(lib, true, "not a digest"), root));
    }

    @Test
    void aCacheOtherUsersCanChangeIsNotUsed() throws Exception {
        byte[] lib = randomBytes(4096);
        File jar = jarWith(lib, true);
        String name = PLATFORM + "-" + sha256(lib);

        // The cache root writable by the group.
        Path groupWritable = Files.createDirectory(tmp.resolve("group-writable"));
        chmod("770", groupWritable);
        assertNull(cached(jar, groupWritable));
        assertFalse(Files.exists(groupWritable.resolve(name).resolve(FILE)));

        // The platform directory writable by others (made by someone before us).
        Path root = Files.createDirectory(tmp.resolve("root"));
        chmod("700", root);
        Path dir = Files.createDirectory(root.resolve(name));
        chmod("777", dir);
        assertNull(cached(jar, root));
        chmod("700", dir);
        assertNotNull(cached(jar, root));

        // A file and directories another user owns (this process taken for uid 4242 here).
        try (ZipFile zip = new ZipFile(jar)) {
            assertNull(NativeLoader.cached(zip, zip.getEntry(ENTRY), PLATFORM, root, 4242));
        }

        // A root inside a directory others can write to (they could rename it away and put
        // theirs there): not used; the same directory sticky (as /tmp is): used.
        Path shared = Files.createDirectory(tmp.resolve("shared"));
        chmod("777", shared);
        assertNull(cached(jar, shared.resolve("cache")));
        chmod("1777", shared);
        assertNotNull(cached(jar, shared.resolve("cache")));

        // Reached through a link: the real directories are the ones checked.
        Path link = Files.createSymbolicLink(tmp.resolve("link"), shared);
        assertEquals(shared.resolve("cache").resolve(name).resolve(FILE), cached(jar, link.resolve("cache")));
    }

    @Test
    void anUnwritableCacheMeansNoCacheNotAFailure() throws Exception {
        byte[] lib = randomBytes(4096);
        Path notADirectory = tmp.resolve("file");
        Files.write(notADirectory, new byte[] {1});
        assertNull(cached(jarWith(lib, true), notADirectory.resolve("cache")));
    }

    @Test
    void cacheRootFollowsThePropertyAndOffDisablesIt() {
        String before = System.getProperty(NativeLoader.CACHE_PROPERTY);
        try {
            System.setProperty(NativeLoader.CACHE_PROPERTY, "off");
            assertNull(NativeLoader.cacheRoot());
            System.setProperty(NativeLoader.CACHE_PROPERTY, tmp.toString());
            assertEquals(tmp, NativeLoader.cacheRoot());
            System.clearProperty(NativeLoader.CACHE_PROPERTY);
            Path root = NativeLoader.cacheRoot();
            assertNotNull(root);
            assertEquals("vsync-s3-client", root.getFileName().toString());
        } finally {
            if (before == null) {
                System.clearProperty(NativeLoader.CACHE_PROPERTY);
            } else {
                System.setProperty(NativeLoader.CACHE_PROPERTY, before);
            }
        }
    }

    /** A minimal 64-bit little-endian ELF header with one PT_LOAD and one PT_INTERP program header. */
    private File elfWithInterpreter(String interp) throws IOException {
        byte[] path = (interp + "\0").getBytes(StandardCharsets.ISO_8859_1);
        int phoff = 64;
        int phentsize = 56;
        int interpOff = phoff + 2 * phentsize;
        ByteBuffer b = ByteBuffer.allocate(interpOff + path.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0});
        b.putLong(0x20, phoff).putShort(0x36, (short) phentsize).putShort(0x38, (short) 2);
        b.putInt(phoff, 1); // PT_LOAD
        b.putInt(phoff + phentsize, 3); // PT_INTERP
        b.putLong(phoff + phentsize + 8, interpOff).putLong(phoff + phentsize + 32, path.length);
        b.position(interpOff);
        b.put(path);
        File f = tmp.resolve("elf-" + interp.hashCode()).toFile();
        try (OutputStream out = Files.newOutputStream(f.toPath())) {
            out.write(b.array());
        }
        return f;
    }

    @Test
    void muslIsTheProgramInterpreterOfTheRunningExecutable() throws IOException {
        assertTrue(NativeLoader.hasMuslInterpreter(elfWithInterpreter("/lib/ld-musl-x86_64.so.1")));
        assertFalse(NativeLoader.hasMuslInterpreter(elfWithInterpreter("/lib64/ld-linux-x86-64.so.2")));
        File notElf = tmp.resolve("not-elf").toFile();
        Files.write(notElf.toPath(), "#!/bin/sh\n/lib/ld-musl-x86_64.so.1\n".getBytes(StandardCharsets.US_ASCII));
        assertFalse(NativeLoader.hasMuslInterpreter(notElf));
        assertFalse(NativeLoader.hasMuslInterpreter(tmp.resolve("missing").toFile()));

        // This JVM (the tests run on glibc).
        assertFalse(NativeLoader.isMusl());
    }
}
