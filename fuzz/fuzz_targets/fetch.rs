#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    vsync_fuzz::targets::fuzz_one("fetch", data);
});
