//! Issue 12 #4: OS error text is localized once the host process calls `setlocale` (the JVM
//! always does; Python after `locale.setlocale`), and Russian, Ukrainian or Japanese `strerror`
//! text is multi-byte UTF-8. Cutting the connection error's detail at a fixed byte offset
//! panicked inside a character; a refused connection became an internal error.
//!
//! This test does what such a host does: it builds the locales with `localedef` (packages
//! `locales` and `libc-l10n`), calls `setlocale(LC_ALL, ...)`, checks that `strerror` is now
//! multi-byte, and opens against refused ports whose addresses differ in length, so that the
//! cut lands on every byte offset of the localized message. One test function: `setlocale` is
//! process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::{c_char, c_int, CString};
use std::process::Command;
use std::time::Duration;

mod common;

use common::unanswered_config;
use vsync_core::{open_with, ErrorKind, OpenOptions};

extern "C" {
    fn setlocale(category: c_int, locale: *const c_char) -> *mut c_char;
}
/// glibc's value (bits/locale.h).
const LC_ALL: c_int = 6;

/// A port on `host` where nothing listens (bound, then released).
fn refused_port(host: &str) -> u16 {
    std::net::TcpListener::bind((host, 0)).unwrap().local_addr().unwrap().port()
}

#[test]
fn localized_connection_errors_are_unreachable_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    // SAFETY (set_var): this binary has a single test and no other thread yet.
    std::env::set_var("LOCPATH", dir.path());
    for (source, locale) in [("ru_RU", "ru_RU.UTF-8"), ("uk_UA", "uk_UA.UTF-8"), ("ja_JP", "ja_JP.UTF-8")] {
        let out = Command::new("localedef")
            .args(["-i", source, "-f", "UTF-8"])
            .arg(dir.path().join(locale))
            .output()
            .expect("localedef (libc-bin) runs");
        assert!(
            dir.path().join(locale).exists(),
            "localedef could not build {locale} (install the `locales` package): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let name = CString::new(locale).unwrap();
        // SAFETY: a valid C string; no other thread reads the locale concurrently.
        let set = unsafe { setlocale(LC_ALL, name.as_ptr()) };
        assert!(!set.is_null(), "setlocale({locale}) failed");
        let refused = std::io::Error::from_raw_os_error(111).to_string();
        assert!(!refused.is_ascii(), "strerror is localized under {locale} (libc-l10n): {refused}");

        // Hosts of 9 to 15 characters, and both port lengths: the message shifts by one byte at
        // a time relative to the cut.
        let hosts = ["127.0.0.1", "127.0.0.12", "127.0.0.123", "127.0.12.123", "127.0.123.123", "127.12.123.123"];
        let mut tried = 0;
        for host in hosts {
            for _ in 0..2 {
                let endpoint = format!("http://{host}:{}", refused_port(host));
                // A short deadline: every attempt classifies (and cuts) the error; fewer retries, faster.
                let opts = OpenOptions { timeout: Duration::from_millis(200), ..OpenOptions::default() };
                let r = std::panic::catch_unwind(|| {
                    open_with(&unanswered_config(endpoint.clone()).encode(), "pw", opts).map(|_| ())
                });
                let e = r.unwrap_or_else(|_| panic!("{locale}, {endpoint}: open() panicked")).unwrap_err();
                assert_eq!(e.kind(), ErrorKind::S3Unreachable, "{locale}, {endpoint}: {e}");
                tried += 1;
            }
        }
        assert_eq!(tried, 12);
    }
    let c = CString::new("C").unwrap();
    // SAFETY: as above.
    unsafe { setlocale(LC_ALL, c.as_ptr()) };
}
