package io.github.muthuishere.vsync.internal;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;

/**
 * Loads {@code libvsync_jni}, first that answers:
 * <ol>
 *   <li>the system property {@code vsync.native.lib} (an absolute path);</li>
 *   <li>a directory of {@code java.library.path} holding the library;</li>
 *   <li>the copy the jar carries under {@code native/<platform>/} ({@link #platform()}: OS, CPU and,
 *       on Linux, {@code -musl} when the JVM runs on musl): copied into a fresh directory of
 *       {@code java.io.tmpdir} (mode 0700) as a file of mode 0600, loaded, then unlinked at once
 *       (the mapping stays valid; nothing is left on disk).</li>
 * </ol>
 *
 * <p>Why a copy per process rather than a per-user cache: the release jar stores the libraries
 * uncompressed (docs/packaging.md), so the copy is a plain read and write of a few MB that costs
 * about what hashing a cached file to check it would, and it leaves no file that another process
 * could swap between the check and the load.
 */
final class NativeLoader {
    static final String NAME = "vsync_jni";

    private NativeLoader() {}

    static void load() {
        String explicit = System.getProperty("vsync.native.lib");
        if (explicit != null && !explicit.isEmpty()) {
            System.load(Path.of(explicit).toAbsolutePath().toString());
            return;
        }
        String file = System.mapLibraryName(NAME);
        String libPath = System.getProperty("java.library.path", "");
        for (String dir : libPath.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path p = Path.of(dir, file);
            if (Files.isRegularFile(p)) {
                System.load(p.toAbsolutePath().toString());
                return;
            }
        }
        String platform = platform();
        String resource = "/native/" + platform + "/" + file;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("vsync: this jar has no native library for " + platform + " ("
                        + resource + ") and java.library.path has none. Prebuilt: linux-x86_64, linux-aarch64"
                        + " (glibc 2.17+), their -musl variants, macos-x86_64, macos-aarch64, windows-x86_64."
                        + " Elsewhere build it from source (`cargo build --release -p vsync-java` in a checkout)"
                        + " and pass -Dvsync.native.lib=/path/to/" + file);
            }
            extractAndLoad(in, file);
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("vsync: cannot extract the native library: " + e);
            err.initCause(e);
            throw err;
        }
    }

    private static void extractAndLoad(InputStream in, String file) throws IOException {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        Path dir = createPrivateDirectory(Path.of(System.getProperty("java.io.tmpdir")), posix);
        Path lib = posix
                ? Files.createFile(
                        dir.resolve(file),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                : Files.createFile(dir.resolve(file));
        try {
            // One large buffer: a few reads of the (stored, uncompressed) jar entry instead of
            // hundreds of small ones, which a JVM that has not compiled anything yet pays for.
            try (FileChannel out = FileChannel.open(lib, StandardOpenOption.WRITE)) {
                byte[] buf = new byte[1 << 20];
                for (int n; (n = in.read(buf)) > 0; ) {
                    ByteBuffer b = ByteBuffer.wrap(buf, 0, n);
                    while (b.hasRemaining()) {
                        out.write(b);
                    }
                }
            }
            System.load(lib.toString());
        } finally {
            if (posix) {
                Files.deleteIfExists(lib);
                Files.deleteIfExists(dir);
            } else {
                // Windows keeps a loaded DLL locked: delete at exit.
                lib.toFile().deleteOnExit();
                dir.toFile().deleteOnExit();
            }
        }
    }

    /**
     * A new directory that only this process created (mode 0700 on POSIX). {@code mkdir} fails when
     * the path exists, so a name someone else guessed and created first is never used: we just try
     * the next one. (Files.createTempDirectory would do the same with a SecureRandom name, whose
     * first use costs a cold JVM tens of milliseconds.)
     */
    private static Path createPrivateDirectory(Path parent, boolean posix) throws IOException {
        String prefix = "vsync-jni-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        for (int attempt = 0; ; attempt++) {
            Path dir = parent.resolve(prefix + "-" + attempt);
            try {
                return posix
                        ? Files.createDirectory(
                                dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")))
                        : Files.createDirectory(dir);
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 100) {
                    throw e;
                }
            }
        }
    }

    /**
     * The jar directory for this JVM: {@code linux-x86_64}, {@code linux-aarch64}, {@code linux-x86_64-musl},
     * {@code linux-aarch64-musl}, {@code macos-aarch64}, {@code windows-x86_64}, ...
     */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux")
                ? "linux"
                : (os.contains("mac") || os.contains("darwin"))
                        ? "macos"
                        : os.contains("windows") ? "windows" : os.replace(' ', '_');
        String a = (arch.equals("amd64") || arch.equals("x86_64"))
                ? "x86_64"
                : (arch.equals("aarch64") || arch.equals("arm64")) ? "aarch64" : arch;
        String p = o + "-" + a;
        return o.equals("linux") && isMusl() ? p + "-musl" : p;
    }

    /**
     * True when this process runs on musl (Alpine): its C library is mapped from a file named
     * {@code ld-musl-<arch>.so.1}; on glibc the mappings name {@code libc.so.6}.
     */
    static boolean isMusl() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"), StandardCharsets.ISO_8859_1)) {
                if (line.contains("/ld-musl-") || line.contains("/libc.musl-")) {
                    return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException e) {
            // No /proc (a restricted sandbox): glibc is by far the common case.
            return false;
        }
    }
}
