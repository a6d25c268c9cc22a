//! `NO_PROXY` as the AWS SDKs read it (SPEC §14): which endpoints bypass `HTTP(S)_PROXY`.
//!
//! The HTTP stack's own matcher (hyper-util, curl's rules) misses forms that botocore and the Go
//! SDK honour: `*` did not cover an IP endpoint, and `host:port` entries and bracketed IPv6
//! addresses never matched (issue 23 #7). The core decides here instead, once per client, for
//! the one endpoint a config names (requests are path-style: every request goes to that host).
//!
//! The rules, the union of botocore's (`urllib`'s `proxy_bypass_environment`) and Go's
//! (`golang.org/x/net/http/httpproxy`), which is what "as the AWS SDKs read them" means:
//! - `NO_PROXY`, else `no_proxy`; entries separated by commas, surrounding spaces ignored, case
//!   ignored, empty entries skipped;
//! - `*` (an entry of its own) bypasses every endpoint, names and IP addresses alike;
//! - a name matches itself and every subdomain; leading dots (and a leading `*.`) are ignored,
//!   so `.example.com` and `*.example.com` match `example.com` and `s3.example.com`; a trailing
//!   dot is ignored on both sides;
//! - an IP address matches that address (IPv6 with or without brackets: `::1`, `[::1]`); a
//!   CIDR block (`10.0.0.0/8`, `fd00::/8`) every address in it; names never match addresses
//!   (no DNS is done);
//! - any of these with a port (`host:9000`, `10.1.2.3:9000`, `[::1]:9000`) matches only that
//!   port, the endpoint's port being its scheme's default (80, 443) when it names none.

use std::net::IpAddr;

/// What one `NO_PROXY` entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// A lower-case name without leading or trailing dots: itself and its subdomains.
    Domain(String),
    Ip(IpAddr),
    /// An address and a prefix length (at most 32 / 128).
    Net(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    port: Option<u16>,
}

/// A parsed `NO_PROXY` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    entries: Vec<Entry>,
}

impl NoProxy {
    /// Parse a `NO_PROXY` value. Entries that name nothing (`:80`, `host:port` with a port that
    /// is not a number) are skipped, as the SDKs never match them either.
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for raw in list.split(',') {
            let entry = raw.trim().to_ascii_lowercase();
            if entry == "*" {
                out.all = true;
            } else if let Some(e) = parse_entry(&entry) {
                out.entries.push(e);
            }
        }
        out
    }

    /// `NO_PROXY`, else `no_proxy` (the first that is set, as the HTTP stack reads them).
    pub fn from_env() -> NoProxy {
        let value = ["NO_PROXY", "no_proxy"].iter().find_map(|n| std::env::var(n).ok()).unwrap_or_default();
        NoProxy::parse(&value)
    }

    /// Does a request to `host` (a name, an IP address, or a bracketed IPv6 address) on `port`
    /// go direct?
    pub fn bypasses(&self, host: &str, port: u16) -> bool {
        if self.all {
            return true;
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(&host);
        let ip = host.parse::<IpAddr>().ok();
        self.entries.iter().any(|e| {
            e.port.is_none_or(|p| p == port)
                && match (&e.pattern, ip) {
                    (Pattern::Ip(a), Some(ip)) => *a == ip,
                    (Pattern::Net(net, len), Some(ip)) => in_network(ip, *net, *len),
                    (Pattern::Domain(d), None) => {
                        host == d
                            || (host.len() > d.len() && host.ends_with(d.as_str()) && {
                                let dot = host.len() - d.len() - 1;
                                host.as_bytes().get(dot) == Some(&b'.')
                            })
                    }
                    _ => false,
                }
        })
    }
}

/// One lower-cased, trimmed, non-`*` entry.
fn parse_entry(entry: &str) -> Option<Entry> {
    if entry.is_empty() {
        return None;
    }
    let (host, port) = split_port(entry)?;
    let pattern = if let Some((addr, len)) = host.split_once('/') {
        let addr: IpAddr = addr.parse().ok()?;
        let len: u8 = len.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return None;
        }
        Pattern::Net(addr, len)
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        Pattern::Ip(ip)
    } else {
        let name = host.strip_prefix('*').unwrap_or(host).trim_start_matches('.').trim_end_matches('.');
        if name.is_empty() || name.contains(['*', ':', '[', ']', '/']) {
            return None;
        }
        Pattern::Domain(name.to_string())
    };
    Some(Entry { pattern, port })
}

/// `[v6]:port`, `[v6]`, `v4-or-name:port`, or a bare host (a bare IPv6 address has several
/// colons and no port). `None` for a port that is not a number.
fn split_port(entry: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = entry.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        return match after {
            "" => Some((addr, None)),
            _ => Some((addr, Some(after.strip_prefix(':')?.parse().ok()?))),
        };
    }
    match entry.split_once(':') {
        Some((host, port)) if !port.contains(':') => Some((host, Some(port.parse().ok()?))),
        _ => Some((entry, None)),
    }
}

fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// The host and port of an endpoint URL (`http://host:port/...`), the port defaulting to the
/// scheme's. `None` when it is not an http(s) URL with a host.
pub fn endpoint_host_port(endpoint: &str) -> Option<(String, u16)> {
    let (scheme, rest) = endpoint.split_once("://")?;
    let default = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if hostport.starts_with('[') {
        let end = hostport.find(']')?;
        let port = match &hostport[end + 1..] {
            "" => default,
            p => p.strip_prefix(':')?.parse().ok()?,
        };
        (&hostport[..=end], port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (hostport, default),
        }
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

/// Should requests to `endpoint` skip the proxies, by the environment's `NO_PROXY`?
pub fn endpoint_bypasses_proxy(endpoint: &str) -> bool {
    endpoint_host_port(endpoint).is_some_and(|(host, port)| NoProxy::from_env().bypasses(&host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by(list: &str, host: &str, port: u16) -> bool {
        NoProxy::parse(list).bypasses(host, port)
    }

    #[test]
    fn star_covers_names_and_addresses() {
        for host in ["example.com", "127.0.0.1", "[::1]", "::1", "10.1.2.3"] {
            assert!(by("*", host, 9000), "{host}");
            assert!(by("foo.com, *", host, 80), "{host}");
        }
        // `*` inside a name is no wildcard of its own.
        assert!(!by("*foo", "example.com", 80));
        assert!(!by("", "example.com", 80));
    }

    #[test]
    fn names_match_themselves_and_subdomains_with_or_without_leading_dots() {
        for list in ["example.com", ".example.com", "..example.com", "*.example.com", " EXAMPLE.com. "] {
            assert!(by(list, "example.com", 443), "{list}");
            assert!(by(list, "s3.Example.COM", 443), "{list}");
            assert!(by(list, "a.b.example.com.", 443), "{list}");
            assert!(!by(list, "notexample.com", 443), "{list}");
            assert!(!by(list, "example.com.evil", 443), "{list}");
        }
        assert!(!by("example.com", "127.0.0.1", 443));
    }

    /// Each case: a `NO_PROXY` list, a host, a port, and whether requests there bypass the proxy.
    fn check(cases: &[(&str, &str, u16, bool)]) {
        for &(list, host, port, bypass) in cases {
            assert_eq!(by(list, host, port), bypass, "NO_PROXY={list:?} host {host} port {port}");
        }
    }

    #[test]
    fn ports_addresses_and_blocks() {
        for list in ["::1", "[::1]", "[::1]:9000", "[0:0::1]"] {
            check(&[(list, "[::1]", 9000, true), (list, "::1", 9000, true)]);
        }
        check(&[
            // A host:port entry matches only that port.
            ("minio.local:9000", "minio.local", 9000, true),
            ("minio.local:9000", "s3.minio.local", 9000, true),
            ("minio.local:9000", "minio.local", 9001, false),
            ("127.0.0.1:9000", "127.0.0.1", 9000, true),
            ("127.0.0.1:9000", "127.0.0.1", 80, false),
            ("[::1]:9000", "[::1]", 9001, false),
            // A port that is no number names nothing.
            ("minio.local:x", "minio.local", 9000, false),
            (":9000", "minio.local", 9000, false),
            // IP addresses (v4 and v6, bracketed or not) match themselves only.
            ("10.1.2.3", "10.1.2.3", 80, true),
            ("10.1.2.3", "10.1.2.4", 80, false),
            ("::1", "[::2]", 9000, false),
            // An IP entry is no name suffix.
            ("0.0.1", "127.0.0.1", 80, false),
            // CIDR blocks, with an optional port; a prefix longer than the address names nothing.
            ("10.0.0.0/8", "10.200.3.4", 80, true),
            ("10.0.0.0/8", "11.0.0.1", 80, false),
            ("127.0.0.1/32", "127.0.0.1", 80, true),
            ("0.0.0.0/0", "192.0.2.1", 80, true),
            ("fd00::/8", "[fd12::1]", 80, true),
            ("fd00::/8", "[fe80::1]", 80, false),
            ("10.0.0.0/33", "10.0.0.1", 80, false),
            ("10.0.0.0/8", "fd00::1", 80, false),
            ("10.0.0.0/8:9000", "10.1.1.1", 9000, true),
            ("10.0.0.0/8:9000", "10.1.1.1", 80, false),
        ]);
    }

    #[test]
    fn endpoints_give_host_and_effective_port() {
        let hp = |e: &str| endpoint_host_port(e);
        assert_eq!(hp("http://127.0.0.1:9000"), Some(("127.0.0.1".into(), 9000)));
        assert_eq!(hp("https://s3.example.com"), Some(("s3.example.com".into(), 443)));
        assert_eq!(hp("http://s3.example.com/"), Some(("s3.example.com".into(), 80)));
        assert_eq!(hp("HTTP://[::1]:9000/x"), Some(("[::1]".into(), 9000)));
        assert_eq!(hp("https://[::1]"), Some(("[::1]".into(), 443)));
        assert_eq!(hp("http://user:pw@h:81"), Some(("h".into(), 81)));
        assert_eq!(hp("ftp://h"), None);
        assert_eq!(hp("no scheme"), None);
        assert_eq!(hp("http://"), None);
    }
}
