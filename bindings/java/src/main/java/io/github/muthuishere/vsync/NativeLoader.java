package io.github.muthuishere.vsync;

import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.CodeSource;
import java.security.DigestOutputStream;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * Loads {@code libvsync_jni}, first that answers:
 * <ol>
 *   <li>the system property {@code vsync.native.lib} (a path);</li>
 *   <li>a directory of {@code java.library.path} holding the library;</li>
 *   <li>the copy the jar carries under {@code native/<platform>/} ({@link #platform()}), through the
 *       per-user cache {@code <cache>/<platform>-<sha256>/libvsync_jni.so}, where {@code <cache>} is
 *       the property {@code vsync.native.cache}, else {@code $XDG_CACHE_HOME/vsync-s3-client}, else
 *       {@code ~/.cache/vsync-s3-client}, and {@code <sha256>} the digest the build recorded beside
 *       the library in the jar ({@code libvsync_jni.so.sha256});</li>
 *   <li>otherwise (no trustworthy cache, no recorded digest, Windows, {@code -Dvsync.native.cache=off}):
 *       a copy in a fresh 0700 directory of {@code java.io.tmpdir}, loaded, then unlinked at once.</li>
 * </ol>
 *
 * <p>Why a cache (docs/packaging.md, "Java cold start"): copying the 6.6 MB library per process
 * costs a cold JVM 50-100 ms of a 200-300 ms open.
 *
 * <p>Why the cache is trusted (issue 23): a file the JVM loads by path runs its constructors, so
 * the path must be one no other user can change between the check and {@code System.load}
 * (which reopens it by name: a JVM cannot load from an open descriptor). The cache is used only
 * when the directories from the cache root down and the file are owned by this process's uid
 * with no group/other write bit, and every directory above the root is owned by this uid or
 * root and not writable by others unless sticky ({@link #trustedPath}). Then only this uid and
 * root, who can already change this process, can change what the path names, and checking then
 * loading by path is no race. The library is installed there only after the bytes written
 * matched the recorded SHA-256 (a temporary file renamed over the name: no process sees half a
 * library). A hit compares size and CRC-32 with the jar entry, against damage, not attack: a
 * cold JVM's SHA-256 of the file would cost more than the copy the cache saves.
 */
final class NativeLoader {
    static final String NAME = "vsync_jni";
    static final String CACHE_PROPERTY = "vsync.native.cache";
    private static final FileAttribute<?> OWNER_ONLY_DIR =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
    private static final FileAttribute<?> OWNER_ONLY_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

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
        String entryName = "native/" + platform + "/" + file;
        try {
            File jar = jarOf(NativeLoader.class);
            if (jar == null) {
                // Not loaded from a jar file on disk (a nested jar, a custom class loader): the
                // resource stream, copied per process.
                try (InputStream in = NativeLoader.class.getResourceAsStream("/" + entryName)) {
                    if (in == null) {
                        throw missing(platform, entryName, file);
                    }
                    loadPrivateCopy(in, file);
                }
                return;
            }
            try (ZipFile zip = new ZipFile(jar)) {
                ZipEntry entry = zip.getEntry(entryName);
                if (entry == null) {
                    throw missing(platform, entryName, file);
                }
                Path root = cacheRoot();
                Path cached = root == null ? null : cached(zip, entry, platform, root, currentUid());
                if (cached != null) {
                    System.load(cached.toString());
                    return;
                }
                try (InputStream in = zip.getInputStream(entry)) {
                    loadPrivateCopy(in, file);
                }
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

    /** The cache directory, or null: {@code -Dvsync.native.cache=off}, or no home. */
    static Path cacheRoot() {
        String prop = System.getProperty(CACHE_PROPERTY);
        if (prop != null && !prop.isEmpty()) {
            return prop.equals("off") ? null : Path.of(prop);
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        if (xdg != null && new File(xdg).isAbsolute()) {
            return Path.of(xdg, "vsync-s3-client");
        }
        String home = System.getProperty("user.home");
        if (home == null || home.isEmpty() || home.equals("?") || !new File(home).isDirectory()) {
            return null;
        }
        return Path.of(home, ".cache", "vsync-s3-client");
    }

    /**
     * The cached copy of {@code entry} under {@code root}, installed first when it is missing or
     * damaged; null when the cache cannot be trusted or used (see the class comment; the caller
     * then copies per process). {@code uid}: this process's ({@link #currentUid}), -1 if unknown.
     */
    static Path cached(ZipFile zip, ZipEntry entry, String platform, Path root, long uid) {
        String sha256 = recordedSha256(zip, entry);
        if (uid < 0 || sha256 == null) {
            return null;
        }
        String name = platform + "-" + sha256;
        try {
            createPrivateDirectories(root.resolve(name));
            Path realRoot = root.toRealPath();
            Path dir = realRoot.resolve(name);
            if (!trustedPath(realRoot.getParent(), uid)
                    || !ownedPrivate(realRoot, uid, DIR)
                    || !ownedPrivate(dir, uid, DIR)) {
                return null;
            }
            String file = new File(entry.getName()).getName();
            Path lib = dir.resolve(file);
            if (Files.exists(lib, LinkOption.NOFOLLOW_LINKS)
                    && ownedPrivate(lib, uid, REGULAR)
                    && Files.size(lib) == entry.getSize()
                    && crc32(lib) == entry.getCrc()) {
                return lib;
            }
            Path tmp = dir.resolve(file + "." + ProcessHandle.current().pid() + "-" + System.nanoTime() + ".tmp");
            try {
                Files.createFile(tmp, OWNER_ONLY_FILE);
                MessageDigest sha = MessageDigest.getInstance("SHA-256");
                try (InputStream in = zip.getInputStream(entry);
                        OutputStream out = new DigestOutputStream(Files.newOutputStream(tmp), sha)) {
                    in.transferTo(out);
                }
                if (!HexFormat.of().formatHex(sha.digest()).equals(sha256)) {
                    return null;
                }
                Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE);
                return lib;
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | GeneralSecurityException | RuntimeException e) {
            return null;
        }
    }

    /** The SHA-256 (64 lowercase hex digits) the build recorded beside {@code entry}, or null. */
    static String recordedSha256(ZipFile zip, ZipEntry entry) {
        ZipEntry digest = zip.getEntry(entry.getName() + ".sha256");
        if (digest == null) {
            return null;
        }
        try (InputStream in = zip.getInputStream(digest)) {
            String hex = new String(in.readNBytes(64), StandardCharsets.US_ASCII);
            return hex.length() == 64 && hex.chars().allMatch(c -> (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))
                    ? hex
                    : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static final int TYPE_MASK = 0170000;
    private static final int DIR = 0040000;
    private static final int REGULAR = 0100000;

    /** {@code p} itself (not a link) is of {@code type}, owned by {@code uid}, without group/other write. */
    private static boolean ownedPrivate(Path p, long uid, int type) throws IOException {
        Map<String, Object> a = Files.readAttributes(p, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
        int mode = (Integer) a.get("mode");
        return (mode & TYPE_MASK) == type && ((Integer) a.get("uid")) == uid && (mode & 022) == 0;
    }

    /**
     * Every directory from {@code dir} up to {@code /} is one no other user can rename entries
     * in: owned by {@code uid} or root, and without group/other write unless sticky ({@code /tmp}).
     * {@code dir} must be a real path (no links).
     */
    static boolean trustedPath(Path dir, long uid) throws IOException {
        for (Path d = dir; d != null; d = d.getParent()) {
            Map<String, Object> a = Files.readAttributes(d, "unix:uid,mode", LinkOption.NOFOLLOW_LINKS);
            int owner = (Integer) a.get("uid");
            int mode = (Integer) a.get("mode");
            if ((owner != uid && owner != 0) || ((mode & 022) != 0 && (mode & 01000) == 0)) {
                return false;
            }
        }
        return true;
    }

    /** Creates {@code dir} and its missing parents with mode 0700; existing ones are checked by the caller. */
    private static void createPrivateDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path parent = dir.getParent();
        if (parent != null) {
            createPrivateDirectories(parent);
        }
        try {
            Files.createDirectory(dir, OWNER_ONLY_DIR);
        } catch (FileAlreadyExistsException e) {
            // Made by someone else meanwhile: the ownership checks decide whether it is used.
        }
    }

    /**
     * This process's uid: on Linux the owner of {@code /proc/self} (one stat, the cheapest answer
     * in a cold JVM; a process that is not dumpable sees root there, which only makes the checks
     * refuse its own files); elsewhere the JDK's {@code UnixSystem} (macOS); -1 when neither
     * answers (Windows: no cache).
     */
    static long currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | RuntimeException e) {
            try {
                Class<?> unix = Class.forName("com.sun.security.auth.module.UnixSystem");
                return (Long)
                        unix.getMethod("getUid").invoke(unix.getConstructor().newInstance());
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e2) {
                return -1;
            }
        }
    }

    /** CRC-32 of a file's bytes (the checksum a zip entry records). */
    static long crc32(Path f) throws IOException {
        CRC32 crc = new CRC32();
        byte[] buf = new byte[1 << 20];
        try (InputStream in = new FileInputStream(f.toFile())) {
            for (int n; (n = in.read(buf)) > 0; ) {
                crc.update(buf, 0, n);
            }
        }
        return crc.getValue();
    }

    /** The per-process copy: a fresh 0700 directory of java.io.tmpdir, loaded, then unlinked at once. */
    private static void loadPrivateCopy(InputStream in, String file) throws IOException {
        boolean posix = FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
        Path dir = createFreshDirectory(Path.of(System.getProperty("java.io.tmpdir")), posix);
        Path lib = posix ? Files.createFile(dir.resolve(file), OWNER_ONLY_FILE) : Files.createFile(dir.resolve(file));
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
     * A new directory that only this process created (0700 on POSIX). {@code mkdir} fails when the
     * path exists, so a name someone else guessed and created first is never used: we just try
     * the next one. (Files.createTempDirectory would do the same with a SecureRandom name, whose
     * first use costs a cold JVM tens of milliseconds.)
     */
    private static Path createFreshDirectory(Path parent, boolean posix) throws IOException {
        String prefix = "vsync-jni-" + ProcessHandle.current().pid() + "-" + Long.toHexString(System.nanoTime());
        for (int attempt = 0; ; attempt++) {
            Path dir = parent.resolve(prefix + "-" + attempt);
            try {
                return posix ? Files.createDirectory(dir, OWNER_ONLY_DIR) : Files.createDirectory(dir);
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
     * True when this process runs on musl (Alpine): the running executable's program interpreter
     * ({@code PT_INTERP}, in the first page, right after the program headers) is musl's {@code
     * /lib/ld-musl-<arch>.so.1}; on glibc it is {@code ld-linux-*.so.*}. One page read costs a
     * cold JVM far less than scanning {@code /proc/self/maps}.
     */
    static boolean isMusl() {
        return hasMuslInterpreter(new File("/proc/self/exe"));
    }

    static boolean hasMuslInterpreter(File elf) {
        byte[] b;
        try (FileInputStream in = new FileInputStream(elf)) {
            b = in.readNBytes(8192);
        } catch (IOException | SecurityException e) {
            return false; // no /proc (a restricted sandbox): glibc is by far the common case
        }
        return b.length > 4
                && b[0] == 0x7f
                && b[1] == 'E'
                && b[2] == 'L'
                && b[3] == 'F'
                && new String(b, StandardCharsets.ISO_8859_1).contains("/ld-musl-");
    }
}
