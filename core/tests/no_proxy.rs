//! Issue 23 #7: `NO_PROXY` forms the AWS SDKs honour, through a real forward proxy on 127.0.0.1
//! (which counts what it forwards) in front of the real S3 server. The endpoint is an IP
//! address (`http://127.0.0.1:<port>`): `NO_PROXY=*` used to be ignored for it, and a
//! `host:port` entry never matched. The parsing rules one by one: `core/src/proxy.rs`'s tests.
//!
//! One test function (this file is its own process): the cases set process environment
//! variables, which no other test may observe.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

mod common;
use common::net::ForwardProxy;
use common::test_config;
use vsync_core::payload::VaultData;
use vsync_core::proxy::endpoint_host_port;
use vsync_core::{open_with, writer, Config, OpenOptions};

const PASS: &str = "no-proxy passphrase";
const VARS: [&str; 8] =
    ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"];

fn set(vars: &[(&str, &str)]) {
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
}

/// Open the vault and read its one value; a read that does not answer "direct" fails the test.
fn read(c: &Config) {
    let v = open_with(&c.encode(), PASS, OpenOptions { timeout: Duration::from_secs(20), ..OpenOptions::default() })
        .unwrap();
    assert_eq!(v.get_env("K", &mut |_| None).unwrap().unwrap().as_str(), "direct");
}

#[test]
fn no_proxy_forms_bypass_the_proxy_for_an_ip_endpoint() {
    set(&[]);
    let c = test_config(format!("no-proxy/{}/", std::process::id()), "prod");
    let (host, port) = endpoint_host_port(&c.endpoint).unwrap();
    assert_eq!(host, "127.0.0.1", "the endpoint must be an IP address for this test");
    let mut d = VaultData::default();
    d.kv.insert("K".into(), "direct".to_string().into());
    writer::push(&c, PASS, &d, None, Duration::from_secs(30)).unwrap();

    let proxy = ForwardProxy::start();
    let through = |no_proxy: Option<(&str, &str)>| {
        let before = proxy.forwarded();
        let mut vars = vec![("HTTP_PROXY", proxy.url())];
        if let Some((name, value)) = no_proxy {
            vars.push((name, value.to_string()));
        }
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        set(&vars);
        read(&c);
        proxy.forwarded() - before
    };
    // The proxy is used at all: manifest and bundle go through it.
    assert_eq!(through(None), 2);
    // Bypassed: `*` (alone, or among other entries, in either spelling of the variable), the
    // address with the endpoint's port, a CIDR block, spaces and case.
    for (name, value) in [
        ("NO_PROXY", "*".to_string()),
        ("no_proxy", "*".to_string()),
        ("NO_PROXY", "example.com, *".to_string()),
        ("NO_PROXY", format!("127.0.0.1:{port}")),
        ("NO_PROXY", format!(" example.com , 127.0.0.1:{port} ")),
        ("NO_PROXY", "127.0.0.0/8".to_string()),
        ("NO_PROXY", "127.0.0.1".to_string()),
    ] {
        assert_eq!(through(Some((name, &value))), 0, "{name}={value} did not bypass the proxy");
    }
    // Not bypassed: another port of the address, another address, a name (no DNS is done).
    for value in [format!("127.0.0.1:{}", port.wrapping_add(1).max(1)), "127.0.0.2".into(), "localhost".into()] {
        assert_eq!(through(Some(("NO_PROXY", &value))), 2, "NO_PROXY={value} bypassed the proxy");
    }
    set(&[]);
}
