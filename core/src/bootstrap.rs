//! Bootstrap inputs (SPEC §7): `VSYNC_CONFIG[_FILE]` and `VSYNC_PASSPHRASE[_FILE]`, each pair
//! resolved independently, `_FILE` first, with the trim rules and the POSIX file-mode policy.

use std::io::Read;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const CONFIG_VAR: &str = "VSYNC_CONFIG";
pub const PASSPHRASE_VAR: &str = "VSYNC_PASSPHRASE";
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
}
