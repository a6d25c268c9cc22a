//! Issue 12 #3: the deadline covers name resolution. With a resolver that never answers,
//! `open()` used to return only after the system resolver gave up (10-20 s), whatever the
//! deadline, because dropping the runtime waited for the blocking `getaddrinfo` thread.
//!
//! The test re-runs itself in fresh mount + network namespaces (`unshare`; user namespace too
//! when not root) where /etc/resolv.conf names 127.0.0.1, and a UDP socket there swallows every
//! query. No S3 server is involved: the name never resolves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::UdpSocket;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use common::unanswered_config;
use vsync_core::{open_with, ErrorKind, OpenOptions};

const CHILD: &str = "VSYNC_DNS_TEST_CHILD";
const TEST_NAME: &str = "a_resolver_that_never_answers_is_bounded_by_the_deadline";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|uid| uid == "0"))
        .unwrap_or(false)
}

#[test]
fn a_resolver_that_never_answers_is_bounded_by_the_deadline() {
    if std::env::var_os(CHILD).is_some() {
        return child();
    }
    let dir = tempfile::tempdir().unwrap();
    let resolv = dir.path().join("resolv.conf");
    // glibc's defaults spelled out: 5 s per try, 2 tries per name (and per address family).
    std::fs::write(&resolv, "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n").unwrap();
    let namespaces = if is_root() { "--mount --net" } else { "--user --map-root-user --mount --net" };
    let script = r#"set -e; ip link set lo up; mount --bind "$1" /etc/resolv.conf; shift; exec "$@""#;
    let out = Command::new("unshare")
        .args(namespaces.split(' '))
        .args(["sh", "-c", script, "sh"])
        .arg(&resolv)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("unshare (util-linux) runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("DNSTEST ok"),
        "the namespaced run failed ({}); it needs unshare, ip (iproute2) and root or user namespaces\n\
         stdout:\n{stdout}\nstderr:\n{stderr}",
        out.status
    );
}

fn child() {
    // The "DNS server": reads queries, never answers.
    let sock = UdpSocket::bind("127.0.0.1:53").expect("bind 127.0.0.1:53 inside the namespace");
    sock.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
    let (queries, stop) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicBool::new(false)));
    let (q, s) = (queries.clone(), stop.clone());
    let swallower = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !s.load(Ordering::SeqCst) {
            if sock.recv_from(&mut buf).is_ok() {
                q.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    let config = unanswered_config("http://vsync-dns-test.example:9000".into());
    for deadline in [Duration::from_millis(1500), Duration::from_millis(500)] {
        let start = Instant::now();
        let e = open_with(&config.encode(), "pw", OpenOptions { timeout: deadline, ..OpenOptions::default() })
            .map(|_| ())
            .unwrap_err();
        let elapsed = start.elapsed();
        assert_eq!(e.kind(), ErrorKind::S3Unreachable, "{e}");
        // Within the deadline + 1 s (scheduling slack); the resolver alone would take 10-20 s.
        assert!(elapsed < deadline + Duration::from_secs(1), "open() took {elapsed:?} with a {deadline:?} deadline");
        println!("deadline {deadline:?}: returned after {elapsed:?}: {e}");
    }
    assert!(queries.load(Ordering::SeqCst) > 0, "the lookups reached the silent resolver");
    stop.store(true, Ordering::SeqCst);
    swallower.join().unwrap();
    println!("DNSTEST ok ({} queries swallowed)", queries.load(Ordering::SeqCst));
}
