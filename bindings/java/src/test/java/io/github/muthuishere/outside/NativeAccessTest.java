package io.github.muthuishere.outside;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.muthuishere.vsync.Vsync;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * User code (this package is not the library's) cannot reach a native method: a forged handle
 * such as {@code getEnv(0x1000L, ...)} would crash the JVM, so no native is public or protected
 * and the class holding the handle's natives is package-private.
 */
class NativeAccessTest {

    /** Every class the library's main jar/classes directory holds. */
    private static List<Class<?>> libraryClasses() throws Exception {
        Path root = codeRoot();
        List<Class<?>> out = new ArrayList<>();
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                String rel = root.relativize(p).toString().replace(java.io.File.separatorChar, '/');
                if (rel.endsWith(".class") && !rel.equals("module-info.class")) {
                    String name =
                            rel.substring(0, rel.length() - ".class".length()).replace('/', '.');
                    out.add(Class.forName(name, false, Vsync.class.getClassLoader()));
                }
            }
        }
        return out;
    }

    private static Path codeRoot() throws URISyntaxException {
        return Path.of(
                Vsync.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    }

    @Test
    void noNativeMethodIsPublicOrProtected() throws Exception {
        List<Class<?>> classes = libraryClasses();
        int natives = 0;
        for (Class<?> c : classes) {
            for (Method m : c.getDeclaredMethods()) {
                if (Modifier.isNative(m.getModifiers())) {
                    natives++;
                    assertFalse(Modifier.isPublic(m.getModifiers()), m.toString());
                    assertFalse(Modifier.isProtected(m.getModifiers()), m.toString());
                }
            }
        }
        assertTrue(natives >= 13, "found only " + natives + " native methods in " + classes.size() + " classes");
    }

    /** Issue 24: the conformance runner's hooks are a test source, not part of what users install. */
    @Test
    void theLibraryClassesHoldNoTestHookAndOnlyNativesDeclaresNativeMethods() throws Exception {
        for (Class<?> c : libraryClasses()) {
            assertFalse(c.getSimpleName().contains("Testing"), c.getName());
            for (Method m : c.getDeclaredMethods()) {
                if (Modifier.isNative(m.getModifiers())) {
                    assertEquals("io.github.muthuishere.vsync.Natives", c.getName(), m.toString());
                }
            }
        }
    }

    @Test
    void theHandleNativesCannotBeCalledFromAnotherPackage() throws Exception {
        Class<?> natives = Class.forName("io.github.muthuishere.vsync.Natives");
        assertFalse(Modifier.isPublic(natives.getModifiers()), "Natives must be package-private");
        Method getEnv = natives.getDeclaredMethod("getEnv", long.class, String.class, String.class);
        // Without setAccessible (which a library cannot prevent on the class path), the JVM refuses.
        assertThrows(IllegalAccessException.class, () -> getEnv.invoke(null, 0x1000L, "K", null));
    }
}
