package io.github.muthuishere.vsync.internal;

import java.io.File;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.CodeSource;
import java.util.Locale;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Loads {@code libvsync_jni}, first that answers:
 * <ol>
 *   <li>the system property {@code vsync.native.lib} (an absolute path);</li>
 *   <li>a directory of {@code java.library.path} holding the library;</li>
 *   <li>the copy the jar carries under {@code native/<platform>/} ({@link #platform()}: OS, CPU and,
 *       on Linux, {@code -musl} when the JVM runs on musl), through a per-user cache: {@code
 *       <cache>/<platform>-<size>-<crc32>/libvsync_jni.so}, where {@code <cache>} is the property
 *       {@code vsync.native.cache}, else {@code $XDG_CACHE_HOME/vsync-s3-client}, else {@code
 *       ~/.cache/vsync-s3-client} (directories created 0700). A cached file is used only when its
 *       size and CRC-32 equal the jar entry's (read from the jar's central directory); otherwise it
 *       is written again (a temporary file renamed over it, so no process ever sees half a
 *       library);</li>
 *   <li>when there is no usable cache (no home, read-only, Windows, {@code -Dvsync.native.cache=off}):
 *       a copy in a fresh directory of {@code java.io.tmpdir} (mode 0700) that is loaded, then
 *       unlinked at once.</li>
 * </ol>
 *
 * <p>Why a cache (docs/packaging.md, "Java cold start"): in a JVM that has compiled nothing yet,
 * copying the 6.6 MB library per process, with the file-system classes that it pulls in, cost
 * 50-100 ms of a 200-300 ms cold open. A cache hit reads the file once to check its CRC-32 (a
 * native routine over the bytes) and loads it; it uses only classes the JVM has already loaded to
 * run a class-path application ({@link ZipFile}, {@link FileInputStream}, {@link File}). The cache
 * lives in the user's home, which no other user can write to, and each run checks the content
 * before it loads it; the name carries size and CRC, so a jar of another build never takes
 * another build's file.
 */
final class NativeLoader {
    static final String NAME = "vsync_jni";
    static final String CACHE_PROPERTY = "vsync.native.cache";

    private NativeLoader() {}

    static void load() {
        String explicit = System.getProperty("vsync.native.lib");
        if (explicit != null && !explicit.isEmpty()) {
            System.load(new File(explicit).getAbsolutePath());
            return;
        }
        String file = System.mapLibraryName(NAME);
        for (String dir : System.getProperty("java.library.path", "").split(File.pathSeparator)) {
            File f = new File(dir, file);
            if (!dir.isEmpty() && f.isFile()) {
                System.load(f.getAbsolutePath());
                return;
            }
        }
        String platform = platform();
        String entryName = cat("native/", platform, "/", file);
        try {
            File jar = jarOf(NativeLoader.class);
            if (jar != null) {
                try (ZipFile zip = new ZipFile(jar)) {
                    ZipEntry entry = zip.getEntry(entryName);
                    if (entry == null) {
                        throw missing(platform, entryName, file);
                    }
                    File root = cacheRoot();
                    File cached = root == null ? null : cached(zip, entry, root, file);
                    if (cached != null) {
                        System.load(cached.getAbsolutePath());
                    } else {
                        try (InputStream in = zip.getInputStream(entry)) {
                            extractAndLoad(in, file);
                        }
                    }
                    return;
                }
            }
            // Not loaded from a jar file on disk (a nested jar, a custom class loader): the
            // resource stream, copied per process.
            try (InputStream in = NativeLoader.class.getResourceAsStream(cat("/", entryName))) {
                if (in == null) {
                    throw missing(platform, entryName, file);
                }
                extractAndLoad(in, file);
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("vsync: cannot extract the native library: " + e);
            err.initCause(e);
            throw err;
        }
    }

    private static UnsatisfiedLinkError missing(String platform, String entryName, String file) {
        return new UnsatisfiedLinkError("vsync: this jar has no native library for " + platform + " (" + entryName
                + ") and java.library.path has none. Prebuilt: linux-x86_64, linux-aarch64"
                + " (glibc 2.17+), their -musl variants, macos-x86_64, macos-aarch64, windows-x86_64."
                + " Elsewhere build it from source (`cargo build --release -p vsync-java` in a checkout)"
                + " and pass -Dvsync.native.lib=/path/to/" + file);
    }

    /** The jar file this class was loaded from, or null when it was not a jar file on disk. */
    private static File jarOf(Class<?> c) {
        try {
            CodeSource cs = c.getProtectionDomain().getCodeSource();
            URL url = cs == null ? null : cs.getLocation();
            if (url == null || !"file".equals(url.getProtocol())) {
                return null;
            }
            File f = new File(url.toURI());
            return f.isFile() ? f : null;
        } catch (URISyntaxException | IllegalArgumentException | SecurityException e) {
            return null;
        }
    }

    /**
     * The cache directory, or null when there is none: {@code -Dvsync.native.cache=off}, Windows (a
     * loaded DLL cannot be replaced; the per-process copy is deleted at exit), or no home.
     */
    static File cacheRoot() {
        String prop = System.getProperty(CACHE_PROPERTY);
        if (prop != null && !prop.isEmpty()) {
            return prop.equals("off") ? null : new File(prop);
        }
        if (File.separatorChar != '/') {
            return null;
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && new File(xdg).isAbsolute()) {
            return new File(xdg, "vsync-s3-client");
        }
        String home = System.getProperty("user.home");
        if (home == null || home.isEmpty() || home.equals("?") || !new File(home).isDirectory()) {
            return null;
        }
        return new File(new File(home, ".cache"), "vsync-s3-client");
    }

    /**
     * The cached copy of {@code entry} under {@code root}, written first when it is missing or its
     * content differs from the entry's; null when the cache cannot be used (then the caller copies
     * per process).
     */
    static File cached(ZipFile zip, ZipEntry entry, File root, String file) {
        long size = entry.getSize();
        long crc = entry.getCrc();
        if (size < 0 || crc < 0) {
            return null;
        }
        File dir = new File(root, cat(platformOf(entry), "-", Long.toString(size), "-", Long.toHexString(crc)));
        File lib = new File(dir, file);
        try {
            if (lib.isFile() && lib.length() == size && crc32(lib) == crc) {
                return lib;
            }
            createPrivateDirectories(dir);
            // A temporary file that only this process writes, then renamed over the final name: a
            // process that checks the library at the same time sees the old file or the new one,
            // never half of one.
            File tmp = new File(
                    dir,
                    cat(
                            file,
                            ".",
                            Long.toString(ProcessHandle.current().pid()),
                            "-",
                            Long.toString(System.nanoTime()),
                            ".tmp"));
            try {
                Path tmpPath = tmp.toPath();
                Files.createFile(
                        tmpPath, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                try (InputStream in = zip.getInputStream(entry);
                        OutputStream out = new FileOutputStream(tmp)) {
                    in.transferTo(out);
                }
                if (tmp.length() != size || crc32(tmp) != crc) {
                    return null;
                }
                try {
                    Files.move(
                            tmpPath, lib.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    return null;
                }
                return lib;
            } finally {
                tmp.delete();
            }
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /** The platform directory of a {@code native/<platform>/<file>} entry. */
    private static String platformOf(ZipEntry entry) {
        String[] parts = entry.getName().split("/");
        return parts.length >= 3 ? parts[parts.length - 2] : "native";
    }

    /** Creates {@code dir} and its missing parents with mode 0700; existing ones are left as they are. */
    private static void createPrivateDirectories(File dir) throws IOException {
        if (dir.isDirectory()) {
            return;
        }
        File parent = dir.getParentFile();
        if (parent != null) {
            createPrivateDirectories(parent);
        }
        try {
            Files.createDirectory(
                    dir.toPath(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            if (!dir.isDirectory()) {
                throw e;
            }
        }
    }

    /** CRC-32 of a file's bytes (the checksum a zip entry records). */
    static long crc32(File f) throws IOException {
        CRC32 crc = new CRC32();
        byte[] buf = new byte[1 << 20];
        try (FileInputStream in = new FileInputStream(f)) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return crc.getValue();
    }

    /** The per-process copy: a fresh 0700 directory of java.io.tmpdir, loaded, then unlinked at once. */
    private static void extractAndLoad(InputStream in, String file) throws IOException {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        Path dir = createFreshDirectory(Path.of(System.getProperty("java.io.tmpdir")), posix);
        Path lib = posix
                ? Files.createFile(
                        dir.resolve(file),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")))
                : Files.createFile(dir.resolve(file));
        try {
            try (OutputStream out = Files.newOutputStream(lib)) {
                in.transferTo(out);
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
    private static Path createFreshDirectory(Path parent, boolean posix) throws IOException {
        String prefix = cat(
                "vsync-jni-", Long.toString(ProcessHandle.current().pid()), "-", Long.toHexString(System.nanoTime()));
        for (int attempt = 0; ; attempt++) {
            Path dir = parent.resolve(cat(prefix, "-", Integer.toString(attempt)));
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
        String p = cat(o, "-", a);
        return o.equals("linux") && isMusl() ? cat(p, "-musl") : p;
    }

    /**
     * True when this process runs on musl (Alpine): the program interpreter of the running
     * executable ({@code /proc/self/exe}'s {@code PT_INTERP}) is musl's {@code ld-musl-<arch>.so.1};
     * on glibc it is {@code ld-linux-*.so.*}. Reading one ELF header costs far less in a cold JVM
     * than scanning {@code /proc/self/maps}.
     */
    static boolean isMusl() {
        String interp = interpreter(new File("/proc/self/exe"));
        return interp != null && interp.contains("/ld-musl-");
    }

    /** The PT_INTERP path of an ELF file (64- or 32-bit, either byte order), or null. */
    static String interpreter(File elf) {
        byte[] b = new byte[8192];
        int len;
        try (FileInputStream in = new FileInputStream(elf)) {
            len = in.readNBytes(b, 0, b.length);
        } catch (IOException | SecurityException e) {
            return null; // no /proc (a restricted sandbox): glibc is by far the common case
        }
        if (len < 52 || b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F') {
            return null;
        }
        boolean is64 = b[4] == 2;
        boolean le = b[5] == 1;
        long phoff = is64 ? num(b, 0x20, 8, le) : num(b, 0x1c, 4, le);
        int phentsize = (int) num(b, is64 ? 0x36 : 0x2a, 2, le);
        int phnum = (int) num(b, is64 ? 0x38 : 0x2c, 2, le);
        for (int i = 0; i < phnum; i++) {
            long ph = phoff + (long) i * phentsize;
            if (ph < 0 || ph + phentsize > len) {
                return null;
            }
            int at = (int) ph;
            if (num(b, at, 4, le) != 3) { // PT_INTERP
                continue;
            }
            long off = is64 ? num(b, at + 8, 8, le) : num(b, at + 4, 4, le);
            long size = is64 ? num(b, at + 32, 8, le) : num(b, at + 16, 4, le);
            if (off < 0 || size <= 0 || off + size > len) {
                return null;
            }
            int end = (int) (off + size);
            while (end > off && b[end - 1] == 0) {
                end--;
            }
            char[] chars = new char[end - (int) off];
            for (int k = 0; k < chars.length; k++) {
                chars[k] = (char) (b[(int) off + k] & 0xff); // ISO-8859-1
            }
            return new String(chars);
        }
        return null;
    }

    /**
     * Concatenation without {@code +}: javac compiles {@code +} on strings to an invokedynamic call
     * whose first use spins method-handle classes, tens of milliseconds in a cold JVM, which is
     * what this loader must not cost (the direct path never pays it).
     */
    private static String cat(String... parts) {
        StringBuilder sb = new StringBuilder();
        for (String part : parts) {
            sb.append(part);
        }
        return sb.toString();
    }

    private static long num(byte[] b, int at, int width, boolean le) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            int idx = le ? at + width - 1 - i : at + i;
            v = (v << 8) | (b[idx] & 0xff);
        }
        return v;
    }
}
