package io.github.muthuishere.vsync;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library's sources have no import cycle (issue 24: {@code Vsync} and {@code internal.Native}
 * once needed each other through a registered factory and {@code Class.forName}): no two files
 * import each other, and no two packages import from each other.
 */
class ImportCycleTest {
    private static final Pattern PACKAGE = Pattern.compile("(?m)^package\\s+([\\w.]+)\\s*;");
    private static final Pattern IMPORT =
            Pattern.compile("(?m)^import\\s+(?:static\\s+)?(io\\.github\\.muthuishere\\.[\\w.]+?)(\\.\\*)?\\s*;");

    @Test
    void theLibrarySourcesHaveNoImportCycle() throws IOException {
        Map<String, String> sources = new TreeMap<>();
        Path root = Path.of("src", "main", "java");
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.toString().endsWith(".java")) {
                    sources.put(root.relativize(p).toString(), Files.readString(p));
                }
            }
        }
        assertEquals(true, sources.size() >= 10, "read " + sources.keySet());
        assertEquals(List.of(), cycles(sources));
    }

    /** The checker itself finds what it exists to find. */
    @Test
    void theCheckFindsFilesAndPackagesThatImportEachOther() {
        Map<String, String> files = Map.of(
                "a/A.java", "package io.github.muthuishere.a;\nimport io.github.muthuishere.b.B;\nclass A {}\n",
                "b/B.java", "package io.github.muthuishere.b;\nimport io.github.muthuishere.a.A;\nclass B {}\n");
        assertEquals(
                List.of(
                        "io.github.muthuishere.a.A <-> io.github.muthuishere.b.B",
                        "package io.github.muthuishere.a <-> package io.github.muthuishere.b"),
                cycles(files));
        Map<String, String> packages = Map.of(
                "a/A.java", "package io.github.muthuishere.a;\nimport io.github.muthuishere.b.B;\nclass A {}\n",
                "b/B.java", "package io.github.muthuishere.b;\nclass B {}\n",
                "b/C.java",
                        "package io.github.muthuishere.b;\nimport static io.github.muthuishere.a.A.f;\nclass C {}\n");
        assertEquals(List.of("package io.github.muthuishere.a <-> package io.github.muthuishere.b"), cycles(packages));
    }

    /** Pairs of classes that import each other, then pairs of packages that import from each other. */
    static List<String> cycles(Map<String, String> sources) {
        Map<String, Set<String>> classImports = new HashMap<>();
        Map<String, Set<String>> packageImports = new TreeMap<>();
        for (Map.Entry<String, String> e : new TreeMap<>(sources).entrySet()) {
            Matcher pkg = PACKAGE.matcher(e.getValue());
            String pack = pkg.find() ? pkg.group(1) : "";
            String simple = Path.of(e.getKey()).getFileName().toString().replace(".java", "");
            String self = pack + "." + simple;
            Set<String> imported = classImports.computeIfAbsent(self, k -> new HashSet<>());
            Matcher imp = IMPORT.matcher(e.getValue());
            while (imp.find()) {
                // "import a.b.*;" names a package: count it as its own node "a.b.*".
                String target = imp.group(2) != null
                                && !Character.isUpperCase(last(imp.group(1)).charAt(0))
                        ? imp.group(1) + ".*"
                        : classOf(imp.group(1));
                imported.add(target);
                String targetPackage = target.substring(0, target.lastIndexOf('.'));
                if (!targetPackage.equals(pack)) {
                    packageImports.computeIfAbsent(pack, k -> new HashSet<>()).add(targetPackage);
                }
            }
        }
        List<String> out = new ArrayList<>();
        for (String a : new TreeMap<>(classImports).keySet()) {
            for (String b : classImports.get(a)) {
                if (a.compareTo(b) < 0 && classImports.getOrDefault(b, Set.of()).contains(a)) {
                    out.add(a + " <-> " + b);
                }
            }
        }
        for (String a : packageImports.keySet()) {
            for (String b : packageImports.get(a)) {
                if (a.compareTo(b) < 0
                        && packageImports.getOrDefault(b, Set.of()).contains(a)) {
                    out.add("package " + a + " <-> package " + b);
                }
            }
        }
        return out;
    }

    private static String last(String dotted) {
        return dotted.substring(dotted.lastIndexOf('.') + 1);
    }

    /** {@code a.b.C}, {@code a.b.C.member} or {@code a.b.C.Nested} → the top-level class {@code a.b.C}. */
    private static String classOf(String imported) {
        String[] parts = imported.split("\\.");
        StringBuilder sb = new StringBuilder();
        for (String part : parts) {
            if (sb.length() > 0) {
                sb.append('.');
            }
            sb.append(part);
            if (Character.isUpperCase(part.charAt(0))) {
                break;
            }
        }
        return sb.toString();
    }
}
