//! The two headers are what cbindgen makes of the sources today: a parameter list changed in
//! Rust without the header (which C and Go compile against) fails here, instead of becoming
//! undefined behaviour at run time. `VSYNC_BLESS=1` rewrites them.
//!
//! - `include/vsync.h`, the shipped header: `src/lib.rs` and the modules it declares, without
//!   the conformance hooks of `src/testing.rs` (a test-only feature no shipped library has),
//!   plus `vsync_error_kind` and `vsync_source`, written from the core's own `ErrorKind` and
//!   `Source` ([`core_enums_source`]): the C ABI keeps no copy of the core's numbers.
//! - `include/vsync_testing.h`, for the test builds: `src/testing.rs` alone, on top of vsync.h.

use std::path::Path;

const TESTING_HEADER: &str = "/*
 * vsync_testing.h: the conformance hooks of the vsync C ABI (bindings/c/src/testing.rs).
 *
 * PRIVATE: for the conformance runners and the bindings' tests (conformance/README.md), not
 * covered by any stability promise. Only a library built with the `testing-hooks` feature
 * (cargo build -p vsync-c --features testing-hooks) defines these functions; the shipped
 * libraries do not. Same conventions as vsync.h.
 */";

fn dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn config() -> Result<cbindgen::Config, String> {
    cbindgen::Config::from_file(dir().join("cbindgen.toml")).map_err(|e| format!("cbindgen.toml: {e}"))
}

/// The Rust declarations cbindgen turns into the header's two enums of the core's numbers, made
/// from the core's own lists, in the core's order:
/// - `vsync_error_kind`: every `ErrorKind::ALL` with its number (`number()`, the C status) and,
///   as its C name, its stable code with `KIND_` after `VSYNC_` (`VSYNC_CONFIG_MISSING` ->
///   `VSYNC_KIND_CONFIG_MISSING`);
/// - `vsync_source`: every `Source::ALL` with its number and `VSYNC_SOURCE_` + its label.
///
/// cbindgen cannot name the core's variants so by configuration alone (its rename rules would
/// give `VSYNC_ERROR_KIND_CONFIG_MISSING`) and it expands no macros, so the core's values go
/// through this text: a kind or source added to the core appears in the header on the next
/// bless, and the C ABI keeps no copy of them.
fn core_enums_source() -> Result<String, String> {
    let mut kinds = String::new();
    for kind in vsync_core::ErrorKind::ALL {
        let code = kind.code();
        let name = code.strip_prefix("VSYNC_").ok_or_else(|| format!("{code}: a code starts with VSYNC_"))?;
        let role = if kind.is_taxonomy() {
            "SPEC §9"
        } else if kind.is_boundary() {
            "raised at the boundary, not in the taxonomy"
        } else {
            "not in the taxonomy"
        };
        // The comment names the class, never the code: the core owns every code, and no shipped
        // binding file spells one (core/tests/bindings_spell_no_code.rs); C reads it from
        // vsync_error_code() / vsync_error_kinds() at run time.
        kinds.push_str(&format!(
            "    /// {class} ({role}).\n    VSYNC_KIND_{name} = {number},\n",
            class = kind.class_name(),
            number = kind.number(),
        ));
    }
    let mut sources = String::new();
    for source in vsync_core::Source::ALL {
        let label = source.label();
        sources.push_str(&format!(
            "    VSYNC_SOURCE_{name} = {number},\n",
            name = label.to_uppercase(),
            number = source.number(),
        ));
    }
    Ok(format!(
        "/// The core's error kinds (ErrorKind::number()). 1..7 are the SPEC §9 taxonomy, 8..9 the\n\
         /// core's other outcomes, the negative ones are raised at the boundary. vsync_error_kinds()\n\
         /// lists them with their codes and class names, from the core.\n\
         #[repr(i32)]\npub enum vsync_error_kind {{\n{kinds}}}\n\n\
         /// Where a value came from (the locked chain: vault -> env -> default -> missing).\n\
         #[repr(i32)]\npub enum vsync_source {{\n{sources}}}\n"
    ))
}

/// cbindgen over `src` (and the files it declares), then over the core's enums when `core_enums`.
fn generate(config: cbindgen::Config, src: &str, core_enums: bool) -> Result<Vec<u8>, String> {
    let mut builder = cbindgen::Builder::new().with_config(config).with_src(dir().join(src));
    if core_enums {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vsync_core_enums.rs");
        std::fs::write(&path, core_enums_source()?).map_err(|e| format!("{}: {e}", path.display()))?;
        builder = builder.with_src(path);
    }
    let mut fresh = Vec::new();
    builder.generate().map_err(|e| format!("cbindgen parses {src}: {e}"))?.write(&mut fresh);
    Ok(fresh)
}

fn compare(fresh: &[u8], header: &str, src: &str) -> Result<(), String> {
    let path = dir().join("include").join(header);
    if std::env::var_os("VSYNC_BLESS").is_some() {
        std::fs::write(&path, fresh).map_err(|e| format!("write include/{header}: {e}"))?;
    }
    let committed = std::fs::read(&path).map_err(|e| format!("include/{header}: {e}"))?;
    assert!(
        committed == fresh,
        "include/{header} is not what cbindgen generates from {src}; regenerate it with \
         `VSYNC_BLESS=1 cargo test --release -p vsync-c --test header` and review the diff"
    );
    Ok(())
}

/// The functions src/testing.rs exports: every one is named `vsync_testing_*`, so that the
/// release check (scripts/check-exports.py) recognises a hook in any artifact by its name.
fn testing_functions() -> Result<Vec<String>, String> {
    let src = std::fs::read_to_string(dir().join("src/testing.rs")).map_err(|e| format!("src/testing.rs: {e}"))?;
    let names: Vec<String> = src
        .split("extern \"C\" fn ")
        .skip(1)
        .map(|rest| rest.split('(').next().unwrap_or_default().trim().to_owned())
        .collect();
    assert!(!names.is_empty(), "no extern \"C\" fn in src/testing.rs");
    for name in &names {
        assert!(name.starts_with("vsync_testing_"), "{name}: a hook's name must start with vsync_testing_");
    }
    Ok(names)
}

#[test]
fn vsync_h_is_generated_from_the_current_signatures_without_the_hooks() -> Result<(), String> {
    let hooks = testing_functions()?;
    let mut config = config()?;
    config.export.exclude.extend(hooks.iter().cloned());
    let fresh = generate(config, "src/lib.rs", true)?;
    let text = String::from_utf8_lossy(&fresh);
    let declared: Vec<&String> = hooks.iter().filter(|name| text.contains(&format!("{name}("))).collect();
    assert!(declared.is_empty(), "the shipped header declares conformance hooks: {declared:?}");
    compare(&fresh, "vsync.h", "src/lib.rs (minus src/testing.rs)")
}

#[test]
fn vsync_testing_h_is_generated_from_the_hooks() -> Result<(), String> {
    let mut config = config()?;
    config.include_guard = Some("VSYNC_TESTING_H".to_owned());
    config.header = Some(TESTING_HEADER.to_owned());
    config.autogen_warning = Some(
        "/* Generated by cbindgen from bindings/c/src/testing.rs (cbindgen.toml, tests/header.rs): \
         do not edit by hand. */"
            .to_owned(),
    );
    // The types come from vsync.h; this header adds only the functions.
    config.sys_includes = Vec::new();
    config.includes = vec!["vsync.h".to_owned()];
    config.export.include = Vec::new();
    let fresh = generate(config, "src/testing.rs", false)?;
    let text = String::from_utf8_lossy(&fresh);
    for name in testing_functions()? {
        assert!(text.contains(&format!("{name}(")), "vsync_testing.h lacks {name}");
    }
    compare(&fresh, "vsync_testing.h", "src/testing.rs")
}
