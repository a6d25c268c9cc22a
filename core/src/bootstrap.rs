//! Bootstrap inputs (SPEC §7): `VSYNC_CONFIG[_FILE]` and `VSYNC_PASSPHRASE[_FILE]`, each pair
//! resolved independently, `_FILE` first, with the trim rules and the POSIX file-mode policy.

use std::io::Read;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const CONFIG_VAR: &str = "VSYNC_CONFIG";
pub const PASSPHRASE_VAR: &str = "VSYNC_PASSPHRASE";
/// Every bootstrap variable (each input and its `_FILE` form): what a program that hands the
/// resolved environment to an application removes from it (`vsync run`, Node's preload), so the
/// token and the passphrase never reach the application.
pub const VARIABLES: [&str; 4] = ["VSYNC_CONFIG", "VSYNC_CONFIG_FILE", "VSYNC_PASSPHRASE", "VSYNC_PASSPHRASE_FILE"];
/// The operator's rollback floor (SPEC §4): a decimal generation; every open in the process
/// refuses a vault below it. Empty or `0`: no floor.
pub const MIN_GENERATION_VAR: &str = "VSYNC_MIN_GENERATION";
/// Larger bootstrap files are refused: a config is a few hundred bytes.
const MAX_FILE: u64 = 1 << 20;

/// The two resolved inputs plus the warnings to print (one line each, already formatted).
pub struct Bootstrap {
    pub config: Zeroizing<String>,
    pub passphrase: Zeroizing<String>,
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bootstrap {{ <redacted>, warnings: {:?} }}", self.warnings)
    }
}

/// Resolve both inputs through `lookup` (the language's view of the process environment).
/// Config is resolved first, so with neither set the error names `VSYNC_CONFIG`.
pub fn resolve(lookup: &dyn Fn(&str) -> Option<String>) -> Result<Bootstrap> {
    let mut warnings = Vec::new();
    let config = resolve_one(lookup, CONFIG_VAR, &mut warnings)?;
    let passphrase = resolve_one(lookup, PASSPHRASE_VAR, &mut warnings)?;
    Ok(Bootstrap { config, passphrase, warnings })
}

/// The rollback floor in force for one open: the larger of the caller's `min_generation` option
/// and `VSYNC_MIN_GENERATION` read through `lookup` (neither may lower the other's: the variable
/// is how an operator raises the floor of a program that does not pass one). `None` when both
/// are unset or 0. A variable that is not a decimal integer is refused with
/// `ConfigMissingError` naming it, like `VSYNC_MAX_BUNDLE_BYTES`: a floor that is silently
/// ignored would let the rollback it was set against through.
pub fn min_generation(explicit: Option<u64>, lookup: &dyn Fn(&str) -> Option<String>) -> Result<Option<u64>> {
    let from_env = match lookup(MIN_GENERATION_VAR) {
        Some(v) if !v.trim().is_empty() => {
            let t = v.trim();
            Some(generation_from_decimal(t).ok_or_else(|| {
                Error::config_missing(format!(
                    "{MIN_GENERATION_VAR}={v:?} is not a generation: give a non-negative decimal integer \
                     (the lowest vault generation this program may open), or unset it"
                ))
            })?)
        }
        _ => None,
    };
    Ok(explicit.max(from_env).filter(|n| *n > 0))
}

/// A generation written as a non-negative decimal integer (digits only) that fits in a `u64`.
fn generation_from_decimal(text: &str) -> Option<u64> {
    text.bytes().all(|b| b.is_ascii_digit()).then(|| text.parse::<u64>().ok()).flatten()
}

/// A `min_generation` given as a decimal integer of any size (Python's `int`, rendered by
/// `str()`): a non-negative integer that fits in 64 bits, else an invalid argument (the
/// binding's `ValueError`-like error), as [`min_generation_from_f64`] decides for a number.
pub fn min_generation_from_decimal(text: &str) -> Result<u64> {
    generation_from_decimal(text).ok_or_else(|| {
        Error::invalid_argument(format!(
            "min_generation must be a non-negative integer (a vault generation) no larger than {}, got {text}",
            u64::MAX
        ))
    })
}

/// A `min_generation` given as a floating-point number (JavaScript's `number`): a non-negative
/// integer no larger than 2^53 - 1 (beyond that a double cannot name every generation), else an
/// invalid argument (the binding's `TypeError`/`RangeError`-like root error).
pub fn min_generation_from_f64(value: f64) -> Result<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE {
        Ok(value as u64)
    } else {
        Err(Error::invalid_argument(format!(
            "minGeneration must be a non-negative integer (a vault generation), got {value}"
        )))
    }
}

/// The process environment as the Rust standard library sees it.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn resolve_one(
    lookup: &dyn Fn(&str) -> Option<String>,
    var: &str,
    warnings: &mut Vec<String>,
) -> Result<Zeroizing<String>> {
    let file_var = format!("{var}_FILE");
    if let Some(path) = lookup(&file_var).filter(|p| !p.is_empty()) {
        return read_secret_file(&path, &file_var, warnings);
    }
    match lookup(var) {
        // Verbatim: a leading or trailing space is part of a passphrase.
        Some(v) if !v.is_empty() => Ok(Zeroizing::new(v)),
        _ => Err(Error::config_missing(format!(
            "{var} is not set: set {var} or point {file_var} at a file containing it"
        ))),
    }
}

/// Read one `_FILE` input with the mode policy; trailing `\r`, `\n`, `\t` and spaces are
/// stripped (editors add a newline), leading ones kept.
pub fn read_secret_file(path: &str, file_var: &str, warnings: &mut Vec<String>) -> Result<Zeroizing<String>> {
    let missing = |why: &str| Error::config_missing(format!("{file_var}={path}: {why}"));
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => missing("the file does not exist"),
        std::io::ErrorKind::PermissionDenied => missing("the file is not readable by this process"),
        _ => missing("the file cannot be opened"),
    })?;
    // The mode is read from the open file, so it is the mode of what we read.
    let meta = file.metadata().map_err(|_| missing("the file cannot be inspected"))?;
    if !meta.is_file() {
        return Err(missing("not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o002 != 0 {
            return Err(missing(&format!(
                "refusing a world-writable file (mode {mode:04o}); anyone could replace it: chmod 600 it"
            )));
        }
        if mode & 0o044 != 0 {
            warnings.push(format!("vsync: {path} is group/world-readable (mode {mode:04o}); narrow to 0600"));
        }
    }
    #[cfg(not(unix))]
    let _ = warnings;
    if meta.len() > MAX_FILE {
        return Err(missing("the file is larger than 1 MiB; it is not a vsync input"));
    }
    // One zeroizing buffer sized from the file, filled by plain reads: `read_to_end` would probe
    // through a stack buffer and regrow the vector, leaving unwiped copies of the secret.
    let mut bytes = Zeroizing::new(vec![0u8; usize::try_from(meta.len()).unwrap_or(0) + 1]);
    let mut len = 0;
    loop {
        match file.read(&mut bytes[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(missing("the file cannot be read")),
        }
        if len == bytes.len() {
            return Err(missing("the file grew while it was read; write it once, then start the process"));
        }
    }
    let bytes = &bytes[..len];
    let end = bytes.iter().rposition(|b| !matches!(b, b'\r' | b'\n' | b'\t' | b' ')).map_or(0, |i| i + 1);
    if end == 0 {
        return Err(missing("the file is empty"));
    }
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| missing("the file is not UTF-8"))?;
    Ok(Zeroizing::new(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| m.get(k).cloned()
    }

    fn file(dir: &tempfile::TempDir, name: &str, content: &[u8], mode: u32) -> String {
        let p = dir.path().join(name);
        std::fs::write(&p, content).ok();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).ok();
        p.to_string_lossy().into_owned()
    }

    #[test]
    fn direct_values_verbatim_file_wins_and_trims() {
        let b = resolve(&env(&[("VSYNC_CONFIG", "cfg"), ("VSYNC_PASSPHRASE", " pw ")])).ok();
        assert_eq!(b.map(|b| (b.config.to_string(), b.passphrase.to_string())), Some(("cfg".into(), " pw ".into())));
        let dir = tempfile::tempdir().ok().unwrap_or_else(|| unreachable!());
        let p = file(&dir, "pw", b" secret \r\n\t ", 0o600);
        let b =
            resolve(&env(&[("VSYNC_CONFIG", "cfg"), ("VSYNC_PASSPHRASE", "direct"), ("VSYNC_PASSPHRASE_FILE", &p)]));
        let b = b.ok().unwrap_or_else(|| unreachable!());
        assert_eq!(b.passphrase.as_str(), " secret");
        assert!(b.warnings.is_empty());
    }

    #[test]
    fn min_generation_floor() {
        let floor = |explicit: Option<u64>, pairs: &[(&str, &str)]| min_generation(explicit, &env(pairs));
        assert_eq!(floor(None, &[]).ok(), Some(None));
        assert_eq!(floor(Some(0), &[("VSYNC_MIN_GENERATION", "0")]).ok(), Some(None));
        assert_eq!(floor(None, &[("VSYNC_MIN_GENERATION", "")]).ok(), Some(None));
        assert_eq!(floor(None, &[("VSYNC_MIN_GENERATION", " 7 ")]).ok(), Some(Some(7)));
        assert_eq!(floor(Some(9), &[("VSYNC_MIN_GENERATION", "7")]).ok(), Some(Some(9)));
        assert_eq!(floor(Some(3), &[("VSYNC_MIN_GENERATION", "7")]).ok(), Some(Some(7)));
        assert_eq!(floor(Some(3), &[]).ok(), Some(Some(3)));
        for bad in ["-1", "1.5", "abc", "+3", "0x10", "18446744073709551616", "7 8"] {
            let e = floor(Some(3), &[("VSYNC_MIN_GENERATION", bad)]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConfigMissing, "{bad}");
            assert!(e.message().contains("VSYNC_MIN_GENERATION"), "{}", e.message());
        }
    }

    #[test]
    fn min_generation_from_decimals() {
        assert_eq!(min_generation_from_decimal("0").ok(), Some(0));
        assert_eq!(min_generation_from_decimal("18446744073709551615").ok(), Some(u64::MAX));
        for bad in ["-1", "18446744073709551616", "-340282366920938463463374607431768211456", "", "1.5", "+3"] {
            let e = min_generation_from_decimal(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message().contains(bad), "{}", e.message());
        }
    }

    #[test]
    fn min_generation_from_numbers() {
        assert_eq!(min_generation_from_f64(0.0).ok(), Some(0));
        assert_eq!(min_generation_from_f64(42.0).ok(), Some(42));
        assert_eq!(min_generation_from_f64(9_007_199_254_740_991.0).ok(), Some(9_007_199_254_740_991));
        for bad in [-1.0, 1.5, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(min_generation_from_f64(bad).unwrap_err().kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn missing_empty_and_modes() {
        let kind = |pairs: &[(&str, &str)]| resolve(&env(pairs)).map(|_| ()).unwrap_err();
        let e = kind(&[]);
        assert_eq!(e.kind(), ErrorKind::ConfigMissing);
        assert!(e.message().contains("VSYNC_CONFIG"));
        let e = kind(&[("VSYNC_CONFIG", "c"), ("VSYNC_PASSPHRASE", "")]);
        assert!(e.message().contains("VSYNC_PASSPHRASE"));
        let dir = tempfile::tempdir().ok().unwrap_or_else(|| unreachable!());
        let empty = file(&dir, "empty", b"\n\n", 0o600);
        let e = kind(&[("VSYNC_CONFIG_FILE", &empty)]);
        assert!(e.message().contains(&empty) && e.message().contains("empty"));
        let ww = file(&dir, "ww", b"x", 0o666);
        let e = kind(&[("VSYNC_CONFIG_FILE", &ww)]);
        assert!(e.message().contains("0666"), "{}", e.message());
        let e = kind(&[("VSYNC_CONFIG_FILE", "/nonexistent/cfg")]);
        assert!(e.message().contains("/nonexistent/cfg"));
        let readable = file(&dir, "r", b"cfg\n", 0o644);
        let b = resolve(&env(&[("VSYNC_CONFIG_FILE", &readable), ("VSYNC_PASSPHRASE", "p")]));
        let w = b.map(|b| b.warnings).unwrap_or_default();
        assert_eq!(w, vec![format!("vsync: {readable} is group/world-readable (mode 0644); narrow to 0600")]);
        let bin = file(&dir, "bin", b"\xff\xfe", 0o600);
        assert_eq!(kind(&[("VSYNC_CONFIG", "c"), ("VSYNC_PASSPHRASE_FILE", &bin)]).kind(), ErrorKind::ConfigMissing);
    }

    #[test]
    fn variables_are_each_input_and_its_file_form() {
        let derived: Vec<String> =
            [CONFIG_VAR, PASSPHRASE_VAR].iter().flat_map(|v| [v.to_string(), format!("{v}_FILE")]).collect();
        assert_eq!(VARIABLES.to_vec(), derived);
    }
}
