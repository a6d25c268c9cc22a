//! Issue 12 #10: the network environment the AWS SDKs honour. `HTTP_PROXY` / `HTTPS_PROXY` /
//! `NO_PROXY` route the S3 requests through a proxy (counted by a tiny forward proxy on
//! 127.0.0.1), `AWS_CA_BUNDLE` names the certificate authorities to trust for a TLS endpoint
//! (the fixtures' private CA, in front of the real S3 server), and a certificate that does not
//! verify is final: one connection, no retry.
//!
//! One test function (this file is its own process): the cases set process environment
//! variables, which no other test may observe.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

mod common;
use common::net::{backend, fixture, ForwardProxy, TlsEndpoint};
use common::test_config;
use vsync_core::payload::VaultData;
use vsync_core::{open_with, writer, Config, ErrorKind, OpenOptions};

const PASS: &str = "network passphrase";
const VARS: [&str; 9] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "AWS_CA_BUNDLE",
];

fn set(vars: &[(&str, &str)]) {
    for v in VARS {
        std::env::remove_var(v);
    }
    for (k, v) in vars {
        std::env::set_var(k, v);
    }
}

fn open(c: &Config) -> Result<vsync_core::Vault, vsync_core::Error> {
    open_with(&c.encode(), PASS, OpenOptions { timeout: Duration::from_secs(20), ..OpenOptions::default() })
}

fn value(v: &vsync_core::Vault) -> String {
    v.get_env("K", &mut |_| None).unwrap().unwrap().to_string()
}

#[test]
fn proxies_and_ca_bundles_are_honoured() {
    set(&[]);
    let c = test_config(format!("network/{}/", std::process::id()), "prod");
    let mut d = VaultData::default();
    d.kv.insert("K".into(), "through".to_string().into());
    writer::push(&c, PASS, &d, None, Duration::from_secs(30)).unwrap();

    // Plain HTTP endpoint, HTTP_PROXY set: both GETs go through the proxy (absolute-form).
    let proxy = ForwardProxy::start();
    set(&[("HTTP_PROXY", &proxy.url())]);
    assert_eq!(value(&open(&c).unwrap()), "through");
    assert_eq!(proxy.forwarded(), 2, "manifest + bundle through the proxy");
    // Lower-case spelling too (curl's and the SDKs' convention for http_proxy).
    set(&[("http_proxy", &proxy.url())]);
    assert_eq!(value(&open(&c).unwrap()), "through");
    assert_eq!(proxy.forwarded(), 4);
    // NO_PROXY naming the endpoint's host bypasses it.
    set(&[("HTTP_PROXY", &proxy.url()), ("NO_PROXY", "localhost,127.0.0.1")]);
    assert_eq!(value(&open(&c).unwrap()), "through");
    assert_eq!(proxy.forwarded(), 4, "NO_PROXY bypassed the proxy");
    // HTTPS_PROXY alone does not apply to an http:// endpoint.
    set(&[("HTTPS_PROXY", &proxy.url())]);
    assert_eq!(value(&open(&c).unwrap()), "through");
    assert_eq!(proxy.forwarded(), 4);
    // A proxy that is down is an S3UnreachableError (the endpoint itself is up).
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    set(&[("HTTP_PROXY", &format!("http://{dead}"))]);
    assert_eq!(open(&c).map(|_| ()).unwrap_err().kind(), ErrorKind::S3Unreachable);

    // TLS endpoint with a private CA.
    let tls = TlsEndpoint::start(backend());
    let mut tc = c.clone();
    tc.endpoint = tls.endpoint();
    // Not trusted: final at once, one connection, a hint about AWS_CA_BUNDLE.
    set(&[]);
    let e = open(&tc).map(|_| ()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::S3Unreachable);
    assert!(e.message().contains("AWS_CA_BUNDLE"), "{e}");
    assert_eq!(tls.connections(), 1, "a certificate failure is not retried");
    // Trusted through AWS_CA_BUNDLE.
    let ca = fixture("ca.pem").to_string_lossy().into_owned();
    set(&[("AWS_CA_BUNDLE", &ca)]);
    assert_eq!(value(&open(&tc).unwrap()), "through");
    // And through an HTTPS_PROXY: a CONNECT tunnel per connection, TLS end to end.
    set(&[("AWS_CA_BUNDLE", &ca), ("HTTPS_PROXY", &proxy.url())]);
    let tunnels = proxy.tunnels();
    assert_eq!(value(&open(&tc).unwrap()), "through");
    assert!(proxy.tunnels() > tunnels, "the TLS connection went through a CONNECT tunnel");
    // A bundle that is not PEM, or missing: a clear S3UnreachableError naming the variable.
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n").unwrap();
    for (path, why) in
        [(junk.to_string_lossy().into_owned(), "cannot be parsed"), ("/nonexistent/ca.pem".into(), "opened")]
    {
        set(&[("AWS_CA_BUNDLE", &path)]);
        let e = open(&tc).map(|_| ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::S3Unreachable);
        assert!(e.message().contains("AWS_CA_BUNDLE") && e.message().contains(why), "{e}");
    }
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").unwrap();
    set(&[("AWS_CA_BUNDLE", &empty.to_string_lossy())]);
    assert!(open(&tc).map(|_| ()).unwrap_err().message().contains("no PEM certificate"));
    set(&[]);
}
