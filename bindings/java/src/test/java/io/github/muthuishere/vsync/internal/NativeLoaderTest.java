package io.github.muthuishere.vsync.internal;

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
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jar loader's per-user cache and its musl detection, on files made here (no library is loaded). */
class NativeLoaderTest {
    private static final String FILE = "libvsync_jni.so";
    private static final String ENTRY = "native/linux-x86_64/" + FILE;

    @TempDir
    Path tmp;

    /** A jar holding one "library" entry of {@code bytes}, stored (as the release jar stores it) or deflated. */
    private File jarWith(byte[] bytes, boolean stored) throws IOException {
        File jar = tmp.resolve(stored ? "stored.jar" : "deflated.jar").toFile();
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
        }
        return jar;
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        new Random(42).nextBytes(b);
        return b;
    }

    private static Object fileKey(File f) throws IOException {
        return Files.readAttributes(f.toPath(), java.nio.file.attribute.BasicFileAttributes.class)
                .fileKey();
    }

    @Test
    void extractsOnceIntoAPrivateDirectoryThenReusesTheCheckedCopy() throws IOException {
        byte[] lib = randomBytes(3 << 20);
        File root = tmp.resolve("cache").toFile();
        for (boolean stored : new boolean[] {true, false}) {
            try (ZipFile zip = new ZipFile(jarWith(lib, stored))) {
                ZipEntry e = zip.getEntry(ENTRY);
                File first = NativeLoader.cached(zip, e, root, FILE);
                assertNotNull(first);
                assertArrayEquals(lib, Files.readAllBytes(first.toPath()));
                assertEquals(
                        "rwx------",
                        PosixFilePermissions.toString(Files.getPosixFilePermissions(
                                first.getParentFile().toPath())));
                assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.toPath())));
                assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(first.toPath())));
                assertEquals(
                        "linux-x86_64-" + lib.length + "-" + Long.toHexString(e.getCrc()),
                        first.getParentFile().getName());

                Object key = fileKey(first);
                File second = NativeLoader.cached(zip, e, root, FILE);
                assertEquals(first, second);
                assertEquals(key, fileKey(second), "an intact cached copy is used as it is, not written again");
                String[] names = first.getParentFile().list();
                assertNotNull(names);
                assertArrayEquals(new String[] {FILE}, names, "no temporary file is left behind");
            }
        }
    }

    @Test
    void aCachedCopyWhoseContentDiffersIsWrittenAgain() throws IOException {
        byte[] lib = randomBytes(1 << 20);
        File root = tmp.resolve("cache").toFile();
        try (ZipFile zip = new ZipFile(jarWith(lib, true))) {
            ZipEntry e = zip.getEntry(ENTRY);
            File cached = NativeLoader.cached(zip, e, root, FILE);
            assertNotNull(cached);

            // Same size, one byte changed: only the content check can tell.
            try (RandomAccessFile f = new RandomAccessFile(cached, "rw")) {
                f.seek(12345);
                f.write(lib[12345] ^ 0x5a);
            }
            File again = NativeLoader.cached(zip, e, root, FILE);
            assertEquals(cached, again);
            assertArrayEquals(lib, Files.readAllBytes(again.toPath()));

            // Truncated (a copy that an older loader left half written, say).
            try (RandomAccessFile f = new RandomAccessFile(cached, "rw")) {
                f.setLength(1000);
            }
            assertArrayEquals(
                    lib,
                    Files.readAllBytes(NativeLoader.cached(zip, e, root, FILE).toPath()));
        }
    }

    @Test
    void anUnwritableCacheMeansNoCacheNotAFailure() throws IOException {
        byte[] lib = randomBytes(4096);
        File notADirectory = tmp.resolve("file").toFile();
        Files.write(notADirectory.toPath(), new byte[] {1});
        try (ZipFile zip = new ZipFile(jarWith(lib, true))) {
            assertNull(NativeLoader.cached(zip, zip.getEntry(ENTRY), new File(notADirectory, "cache"), FILE));
        }
    }

    @Test
    void cacheRootFollowsThePropertyAndOffDisablesIt() {
        String before = System.getProperty(NativeLoader.CACHE_PROPERTY);
        try {
            System.setProperty(NativeLoader.CACHE_PROPERTY, "off");
            assertNull(NativeLoader.cacheRoot());
            System.setProperty(NativeLoader.CACHE_PROPERTY, tmp.toString());
            assertEquals(tmp.toFile(), NativeLoader.cacheRoot());
            System.clearProperty(NativeLoader.CACHE_PROPERTY);
            File root = NativeLoader.cacheRoot();
            assertNotNull(root);
            assertEquals("vsync-s3-client", root.getName());
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
        assertEquals(
                "/lib/ld-musl-x86_64.so.1", NativeLoader.interpreter(elfWithInterpreter("/lib/ld-musl-x86_64.so.1")));
        assertEquals(
                "/lib64/ld-linux-x86-64.so.2",
                NativeLoader.interpreter(elfWithInterpreter("/lib64/ld-linux-x86-64.so.2")));
        File notElf = tmp.resolve("not-elf").toFile();
        Files.write(notElf.toPath(), "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.US_ASCII));
        assertNull(NativeLoader.interpreter(notElf));
        assertNull(NativeLoader.interpreter(tmp.resolve("missing").toFile()));

        // This JVM (the tests run on glibc): its launcher's interpreter is glibc's loader.
        String self = NativeLoader.interpreter(new File("/proc/self/exe"));
        assertNotNull(self);
        assertTrue(self.contains("ld-linux"), self);
        assertFalse(NativeLoader.isMusl());
    }
}
