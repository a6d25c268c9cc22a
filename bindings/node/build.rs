fn main() {
    napi_build::setup();
    // scripts/dist.sh sets VSYNC_DIST_EXPORTS_MAP when zig's lld links the shipped library: a second
    // version script that hides C symbols a dependency exports (scripts/dist-exports.map), so the
    // linker can drop the code only they reach. GNU ld refuses a second anonymous version script,
    // so ordinary builds do not pass it.
    println!("cargo:rerun-if-env-changed=VSYNC_DIST_EXPORTS_MAP");
    if let Some(map) = std::env::var_os("VSYNC_DIST_EXPORTS_MAP") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={}", std::path::Path::new(&map).display());
    }
}
