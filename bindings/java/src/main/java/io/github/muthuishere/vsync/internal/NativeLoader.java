package io.github.muthuishere.vsync.internal;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
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
 *   <li>the copy the jar carries under {@code native/<os>-<arch>/}: extracted into a fresh
 *       directory of {@code java.io.tmpdir} (mode 0700) as a file of mode 0600, loaded, then
 *       unlinked at once (the mapping stays valid; nothing is left on disk).</li>
 * </ol>
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
        String resource = "/native/" + platform() + "/" + file;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("vsync: no native library for " + platform() + " in this jar ("
                        + resource + ") nor in java.library.path; build it with `cargo build --release -p vsync-java`"
                        + " and pass -Dvsync.native.lib=/path/to/" + file);
            }
            Path dir;
            Path lib;
            boolean posix =
                    FileSystems.getDefault().supportedFileAttributeViews().contains("posix");
            if (posix) {
                dir = Files.createTempDirectory(
                        "vsync-jni-",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                lib = Files.createFile(
                        dir.resolve(file),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            } else {
                dir = Files.createTempDirectory("vsync-jni-");
                lib = Files.createFile(dir.resolve(file));
            }
            try {
                try (OutputStream out =
                        Files.newOutputStream(lib, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
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
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("vsync: cannot extract the native library: " + e);
            err.initCause(e);
            throw err;
        }
    }

    /** {@code linux-x86_64}, {@code linux-aarch64}, {@code macos-aarch64}, ... */
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
        return o + "-" + a;
    }
}
