//! The core owns every error code: no binding's library source spells one. Bindings read the
//! codes from the core at run time (Python `_native.ERROR_KINDS`, Node `errorKinds()`, Java
//! through the `(class name, code, message)` the JNI side hands over, C/Go
//! `vsync_error_kinds()`), so a code changed here cannot drift in one language.
//!
//! What counts (docs/code-health.md): every text file under `bindings/` that ships or runs as
//! the library, word for word, comments included. Not counted: tests (they may pin the public
//! value a user sees), Markdown, and the TypeScript declarations `index.d.ts` / `index.d.mts`,
//! whose literal code types `test/errors.test.js` checks against the core.

use std::path::{Path, PathBuf};

use vsync_core::ErrorKind;

const SKIPPED_DIRS: [&str; 6] = ["node_modules", "target", "test", "tests", ".venv", "__pycache__"];

fn is_exempt(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap_or(rel);
    rel.split('/').any(|part| SKIPPED_DIRS.contains(&part))
        || name.ends_with(".md")
        || name.ends_with("_test.go")
        || name.ends_with(".test.js")
        || name.starts_with("test_")
        || name == "conftest.py"
        || name == "index.d.ts"
        || name == "index.d.mts"
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// `code` as a whole word (so `VSYNC_CLOSED` does not match inside `VSYNC_KIND_CLOSED`).
fn spells(text: &str, code: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(code)
        .any(|(i, _)| !word(text[..i].chars().next_back()) && !word(text[i + code.len()..].chars().next()))
}

#[test]
fn no_binding_library_source_spells_an_error_code() {
    let bindings = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bindings");
    let mut files = Vec::new();
    walk(&bindings, &mut files);
    let mut checked = 0;
    let mut offenders = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&bindings).unwrap().to_string_lossy().replace('\\', "/");
        if is_exempt(&rel) {
            continue;
        }
        // Binary build outputs (a .so, a .node) are not sources.
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        checked += 1;
        for kind in ErrorKind::ALL {
            for (n, line) in text.lines().enumerate() {
                if spells(line, kind.code()) {
                    offenders.push(format!("bindings/{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    assert!(checked > 20, "only {checked} files checked under {}", bindings.display());
    assert!(offenders.is_empty(), "error codes spelled outside the core:\n{}", offenders.join("\n"));
}

#[test]
fn the_word_match_is_exact() {
    assert!(spells("code == \"VSYNC_CLOSED\"", "VSYNC_CLOSED"));
    assert!(!spells("C.VSYNC_KIND_CLOSED", "VSYNC_CLOSED"));
    assert!(!spells("VSYNC_CLOSED_X", "VSYNC_CLOSED"));
    assert!(!spells("VSYNC_CONFIG", "VSYNC_CONFIG_MISSING"));
}
