//! Bounds on what a read may cost: object sizes per kind, zip inflation, deadlines. One place,
//! so every binding and the CLI accept and refuse the same inputs (docs/robustness.md).

use std::time::Duration;

use crate::error::{Error, Result};

/// Largest pointer-like object: `manifest`, `latest`, `latest.meta`, `latest.manifest`. Our
/// writer's are under 100 bytes; 64 KiB leaves room for any payload a future writer adds.
pub const MAX_POINTER_BYTES: u64 = 64 << 10;

/// Default cap on a bundle object, and on a payload's decoded contents (the sum of inflated zip
/// entries). Secrets vaults are KiB; 64 MiB leaves room for certificates and key stores while
/// bounding what a tampered or mistaken object can make `open()` allocate.
pub const DEFAULT_MAX_BUNDLE_BYTES: u64 = 64 << 20;

/// Raises (or lowers) the bundle cap for every open in the process, in bytes; `K`, `M`, `G`
/// suffixes (binary) are accepted. `OpenOptions::max_bundle_bytes` wins over it.
pub const MAX_BUNDLE_ENV: &str = "VSYNC_MAX_BUNDLE_BYTES";

/// Longest deadline any binding passes down: larger values (and `Infinity`) are clamped to it,
/// so no deadline arithmetic can overflow (`Instant + Duration` panics on overflow).
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// Which cap applies to an object, from its name (SPEC §5's layouts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    /// `manifest`, `latest`, `latest.meta`, `latest.manifest`.
    Pointer,
    /// `v=<ts>`, `versions/<ts>.enc`, and anything else.
    Bundle,
}

impl ObjectKind {
    pub fn of(name: &str) -> ObjectKind {
        match name {
            "manifest" | "latest" | "latest.meta" | "latest.manifest" => ObjectKind::Pointer,
            _ => ObjectKind::Bundle,
        }
    }

    /// The cap for this kind, given the bundle cap in force.
    pub fn cap(self, max_bundle: u64) -> u64 {
        match self {
            ObjectKind::Pointer => MAX_POINTER_BYTES,
            ObjectKind::Bundle => max_bundle,
        }
    }
}

/// The error for an object over its cap. `BundleCorruptError`: no vsync writer produces such an
/// object, so it is damaged, tampered with or not ours (SPEC §5 classes objects that are not what
/// the layout says as corrupt); the message says how to raise the cap for a real large vault.
pub fn too_large(key: &str, size: Option<u64>, cap: u64, kind: ObjectKind) -> Error {
    let size = size.map(|s| format!("{s} bytes")).unwrap_or_else(|| "more".to_string());
    let hint = match kind {
        ObjectKind::Pointer => "a pointer object is a few bytes: it is damaged or not a vsync object; push again".to_string(),
        ObjectKind::Bundle => format!(
            "push a smaller vault, or raise the cap with {MAX_BUNDLE_ENV} (or the max_bundle_bytes open option) if the vault is really this large"
        ),
    };
    Error::corrupt(format!("{key} is {size}, over the {cap}-byte limit for this object; {hint}"))
}

/// The bundle cap in force: the explicit option, else `VSYNC_MAX_BUNDLE_BYTES`, else the default.
/// An unparsable variable is refused (`ConfigMissingError` naming it) rather than ignored: a
/// silently ignored limit would surface later as a confusing "bundle too large".
pub fn max_bundle_bytes(explicit: Option<u64>) -> Result<u64> {
    if let Some(n) = explicit {
        return Ok(n.max(1));
    }
    match std::env::var(MAX_BUNDLE_ENV) {
        Ok(v) if !v.trim().is_empty() => parse_byte_count(&v).ok_or_else(|| {
            Error::config_missing(format!(
                "{MAX_BUNDLE_ENV}={v:?} is not a positive byte count (e.g. 134217728, 128M or 1G)"
            ))
        }),
        _ => Ok(DEFAULT_MAX_BUNDLE_BYTES),
    }
}

/// `123`, `64K`, `128M`, `1G` (binary multiples; a trailing `B`/`iB` is allowed). Zero is refused.
pub fn parse_byte_count(text: &str) -> Option<u64> {
    let t = text.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = digits.trim().parse().ok()?;
    n.checked_mul(1u64 << shift).filter(|n| *n > 0)
}

/// A timeout a binding could not accept, with a message that says why (the binding raises its
/// language's argument error with it: `ValueError`, `RangeError`, `IllegalArgumentException`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTimeout(pub String);

impl std::fmt::Display for InvalidTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidTimeout {}

/// A timeout given as a floating-point number of `unit_secs` seconds (1.0 for Python's seconds,
/// 0.001 for Node's milliseconds). NaN, infinite, negative and zero are refused (as the bindings
/// always did); huge finite values (`1e300`) are clamped to [`MAX_TIMEOUT`] instead of
/// overflowing `Duration`; a positive value below a millisecond becomes one millisecond.
pub fn timeout_from_f64(value: f64, unit_secs: f64, unit: &str) -> std::result::Result<Duration, InvalidTimeout> {
    if !value.is_finite() || value <= 0.0 {
        return Err(InvalidTimeout(format!("timeout must be a positive, finite number of {unit} (got {value})")));
    }
    let secs = value * unit_secs;
    if !secs.is_finite() || secs >= MAX_TIMEOUT.as_secs_f64() {
        return Ok(MAX_TIMEOUT);
    }
    Ok(Duration::from_secs_f64(secs).max(Duration::from_millis(1)))
}

/// A timeout in whole milliseconds from an integer API (Java `long`, C `uint64_t`): zero (or
/// negative) means "the default" there, so it is `None`; huge values are clamped.
pub fn timeout_from_millis(ms: i128) -> Option<Duration> {
    if ms <= 0 {
        return None;
    }
    Some(clamp_timeout(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))))
}

/// Clamp any deadline to [`MAX_TIMEOUT`].
pub fn clamp_timeout(d: Duration) -> Duration {
    d.min(MAX_TIMEOUT)
}

/// Cut `text` to at most `max` bytes without splitting a character (OS error text is localized:
/// Russian or Japanese `strerror` output is multi-byte UTF-8).
pub fn truncate_at_char_boundary(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_caps() {
        for p in ["manifest", "latest", "latest.meta", "latest.manifest"] {
            assert_eq!(ObjectKind::of(p), ObjectKind::Pointer);
            assert_eq!(ObjectKind::of(p).cap(1 << 30), MAX_POINTER_BYTES);
        }
        for b in ["v=20260101-000000", "versions/20260101-000000.enc"] {
            assert_eq!(ObjectKind::of(b).cap(5), 5);
        }
        let e = too_large("p/manifest", Some(1 << 30), MAX_POINTER_BYTES, ObjectKind::Pointer);
        assert_eq!(e.kind(), crate::ErrorKind::BundleCorrupt);
        assert!(e.message().contains("p/manifest") && e.message().contains("1073741824"), "{}", e.message());
        let e = too_large("p/v=x", None, 10, ObjectKind::Bundle);
        assert!(e.message().contains(MAX_BUNDLE_ENV), "{}", e.message());
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_byte_count("123"), Some(123));
        assert_eq!(parse_byte_count(" 64K "), Some(64 << 10));
        assert_eq!(parse_byte_count("128M"), Some(128 << 20));
        assert_eq!(parse_byte_count("128MiB"), Some(128 << 20));
        assert_eq!(parse_byte_count("1GB"), Some(1 << 30));
        assert_eq!(parse_byte_count("2g"), Some(2 << 30));
        for bad in ["", "0", "-1", "1.5M", "M", "12X", "99999999999999999999", "18446744073709551615G"] {
            assert_eq!(parse_byte_count(bad), None, "{bad:?}");
        }
        assert_eq!(max_bundle_bytes(Some(0)).ok(), Some(1));
        assert_eq!(max_bundle_bytes(Some(77)).ok(), Some(77));
    }

    #[test]
    fn timeouts_are_validated_and_clamped() {
        let ms = |v: f64| timeout_from_f64(v, 0.001, "milliseconds");
        assert!(ms(f64::NAN).unwrap_err().0.contains("NaN"));
        assert!(ms(-1.0).is_err());
        assert!(ms(-0.0).is_err());
        assert!(ms(0.0).is_err());
        assert!(ms(f64::NEG_INFINITY).is_err());
        assert!(ms(f64::INFINITY).unwrap_err().0.contains("milliseconds"));
        assert_eq!(ms(1e300), Ok(MAX_TIMEOUT));
        assert_eq!(ms(f64::MAX), Ok(MAX_TIMEOUT));
        assert_eq!(ms(1500.0), Ok(Duration::from_millis(1500)));
        assert_eq!(ms(1e-300), Ok(Duration::from_millis(1)));
        assert_eq!(timeout_from_f64(2.5, 1.0, "seconds"), Ok(Duration::from_millis(2500)));
        assert_eq!(timeout_from_f64(1e20, 1.0, "seconds"), Ok(MAX_TIMEOUT));
        assert_eq!(timeout_from_millis(0), None);
        assert_eq!(timeout_from_millis(-5), None);
        assert_eq!(timeout_from_millis(250), Some(Duration::from_millis(250)));
        assert_eq!(timeout_from_millis(i64::MAX as i128), Some(MAX_TIMEOUT));
        assert_eq!(timeout_from_millis(u64::MAX as i128 + 7), Some(MAX_TIMEOUT));
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        // "Connection refused" as glibc's ru_RU and ja_JP catalogs print it: 2- and 3-byte characters.
        for text in ["В соединении отказано", "接続を拒否されました", "ab€cd"] {
            for max in 0..text.len() + 2 {
                let mut s = text.repeat(20);
                truncate_at_char_boundary(&mut s, max);
                let kept = s.strip_suffix('…').unwrap_or(&s);
                assert!(kept.len() <= max, "{max}: {s}");
                assert!(text.repeat(20).starts_with(kept));
            }
        }
        let mut short = "short".to_string();
        truncate_at_char_boundary(&mut short, 300);
        assert_eq!(short, "short");
    }
}
