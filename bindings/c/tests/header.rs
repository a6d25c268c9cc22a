//! `include/vsync.h` is what cbindgen makes of `src/lib.rs` today: a parameter list changed in
//! Rust without the header (which C and Go compile against) fails here, instead of becoming
//! undefined behaviour at run time. `VSYNC_BLESS=1` rewrites the header.

use std::path::Path;

#[test]
fn vsync_h_is_generated_from_the_current_signatures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut fresh = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen parses src/lib.rs")
        .write(&mut fresh);
    let header = dir.join("include/vsync.h");
    if std::env::var_os("VSYNC_BLESS").is_some() {
        std::fs::write(&header, &fresh).expect("write include/vsync.h");
    }
    let committed = std::fs::read(&header).expect("include/vsync.h");
    assert!(
        committed == fresh,
        "include/vsync.h is not what cbindgen generates from src/lib.rs; regenerate it with \
         `VSYNC_BLESS=1 cargo test --release -p vsync-c --test header` and review the diff"
    );
}
