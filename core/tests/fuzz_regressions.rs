//! The fuzz targets on stable, as ordinary tests (part of `test:core`, hence `test:all`): every
//! seed built from `conformance/vectors` and every file under `fuzz/regressions/<target>/` (the
//! inputs that crashed a target once) goes through the same body libFuzzer runs
//! (`fuzz/src/targets.rs`), which must return `Ok` or an error of a class its layer may
//! return — never panic. See docs/fuzzing.md.
//!
//! With `VSYNC_FUZZ_SEEDS_OUT=DIR` each test also writes its target's seeds to
//! `DIR/<target>/seed-<name>` (what `scripts/fuzz.sh seeds` does to fill `fuzz/corpus/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../../fuzz/src/seeds.rs"]
mod seeds;
#[path = "../../fuzz/src/targets.rs"]
mod targets;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed crash reproductions of one target, sorted by name.
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = repo().join("fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

/// Runs every seed and regression of `name`; fails listing each input that panicked.
fn replay(name: &str) {
    let seeds = seeds::seeds(name, &repo().join("conformance/vectors")).unwrap();
    assert!(!seeds.is_empty(), "{name}: no seeds from conformance/vectors");
    if let Some(out) = std::env::var_os("VSYNC_FUZZ_SEEDS_OUT") {
        let dir = PathBuf::from(out).join(name);
        std::fs::create_dir_all(&dir).unwrap();
        for (n, bytes) in &seeds {
            std::fs::write(dir.join(format!("seed-{n}")), bytes).unwrap();
        }
    }
    let inputs: Vec<(String, Vec<u8>)> = seeds
        .into_iter()
        .map(|(n, b)| (format!("seed {n}"), b))
        .chain(regressions(name).into_iter().map(|(n, b)| (format!("fuzz/regressions/{name}/{n}"), b)))
        .collect();
    let mut failed = Vec::new();
    let mut accepted = 0;
    for (label, bytes) in &inputs {
        match catch_unwind(AssertUnwindSafe(|| targets::fuzz_one(name, bytes))) {
            Ok(ok) => accepted += usize::from(ok),
            Err(p) => {
                let why =
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                failed.push(format!("{label}: {}", why.unwrap_or_default()));
            }
        }
    }
    assert!(failed.is_empty(), "{name}: {} of {} inputs failed:\n{}", failed.len(), inputs.len(), failed.join("\n"));
    // A harness that turned every input into an error (a broken wrapper, a wrong fuzz key)
    // would pass the class check while fuzzing nothing past the first check.
    assert!(accepted > 0, "{name}: no seed reached the success path");
    eprintln!("{name}: {} inputs passed ({accepted} accepted)", inputs.len());
}

#[test]
fn config_blob() {
    replay("config_blob");
}

#[test]
fn config_json() {
    replay("config_json");
}

#[test]
fn envelope() {
    replay("envelope");
}

#[test]
fn manifest_seal() {
    replay("manifest_seal");
}

#[test]
fn payload() {
    replay("payload");
}

#[test]
fn zip_layout() {
    replay("zip_layout");
}

#[test]
fn dotenv() {
    replay("dotenv");
}

#[test]
fn pointer() {
    replay("pointer");
}

#[test]
fn generation() {
    replay("generation");
}

#[test]
fn fetch() {
    replay("fetch");
}

/// The `fetch` seeds rebuild the `s3-scenario` buckets in memory: each must end as its vector
/// says (the error class, or the generation, the layout and the vault's values), or the target
/// would start from buckets that are not what the corpus means.
#[test]
fn fetch_seeds_reproduce_the_scenarios() {
    let vectors = repo().join("conformance/vectors");
    let seeds = seeds::seeds("fetch", &vectors).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(vectors.join("s3-scenario")).unwrap() {
        let path = entry.unwrap().path();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let expected = &v["expected"];
        if expected["error"] == "S3UnreachableError" {
            continue;
        }
        // `s3-scenario-<name>-<i>` (`cli-layout` must not pick up `cli-layout-no-gen-0`).
        let prefix = format!("s3-scenario-{name}-");
        let of_this = |n: &str| n.strip_prefix(&prefix).is_some_and(|i| i.parse::<usize>().is_ok());
        let mine: Vec<&Vec<u8>> = seeds.iter().filter(|(n, _)| of_this(n)).map(|(_, b)| b).collect();
        assert!(!mine.is_empty(), "{name}: no fetch seed");
        for bytes in mine {
            let objects = targets::fetch_bucket(&targets::decode_fetch_records(bytes));
            let got = vsync_core::hooks::open_from_memory(&objects, &targets::fuzz_key(), targets::ENV);
            match expected["error"].as_str() {
                Some(class) => {
                    let kind = got.as_ref().err().map(|e| e.kind().class_name());
                    assert_eq!(kind, Some(class), "{name}");
                }
                None => {
                    let vault = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                    assert_eq!(vault.generation().ok(), expected["generation"].as_u64(), "{name}");
                    assert_eq!(vault.layout().map(|l| l.label()), expected["layout"].as_str(), "{name}");
                    for r in expected["results"].as_array().unwrap().iter().filter(|r| r["source"] == "vault") {
                        let value = vault.get_env(r["key"].as_str().unwrap(), &mut |_| None).unwrap();
                        assert_eq!(value.as_deref().map(String::as_str), r["value"].as_str(), "{name}");
                    }
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} scenario seeds checked");
}

/// Every target has a test above, a libFuzzer binary, and only known targets have regression
/// directories: a target cannot be added or renamed in one place and silently skipped here.
#[test]
fn targets_tests_and_binaries_agree() {
    let tested = [
        "config_blob",
        "config_json",
        "envelope",
        "manifest_seal",
        "payload",
        "zip_layout",
        "dotenv",
        "pointer",
        "generation",
        "fetch",
    ];
    let names: Vec<&str> = targets::TARGETS.iter().map(|t| t.name).collect();
    assert_eq!(names, tested);
    let mut bins: Vec<String> = std::fs::read_dir(repo().join("fuzz/fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().path().file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    bins.sort();
    let mut sorted = tested.to_vec();
    sorted.sort();
    assert_eq!(bins, sorted, "fuzz/fuzz_targets/*.rs and the targets differ");
    if let Ok(dirs) = std::fs::read_dir(repo().join("fuzz/regressions")) {
        for d in dirs {
            let d = d.unwrap().file_name().to_string_lossy().into_owned();
            assert!(tested.contains(&d.as_str()), "fuzz/regressions/{d} names no target");
        }
    }
}
