//! Where the CLI's inputs come from: the config blob, passphrases, write credentials, and the
//! vault contents to push (.env file, assets, vault folder).

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use indexmap::IndexMap;
use vsync_core::bootstrap::{process_env, read_secret_file};
use vsync_core::payload::{parse_dotenv, VaultData};
use vsync_core::{Config, Error};
use zeroize::Zeroizing;

use crate::fail::{CliError, CliResult};

/// A config blob and a human description of where it came from (never the blob itself).
pub struct ConfigInput {
    pub blob: Zeroizing<String>,
    pub config: Config,
    pub origin: String,
}

fn warn_all(warnings: Vec<String>) {
    for w in warnings {
        crate::fail::say!("{w}");
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    process_env(name).filter(|v| !v.is_empty())
}

/// A secret given as a command-line value is readable by every local user for as long as the
/// process runs (`ps`, `/proc/<pid>/cmdline`) and stays in shell history; warning cannot take
/// that back, so these forms are deprecated and every secret has a file, stdin or environment
/// form (docs/writer-protocol.md, "Secrets never need the command line").
pub fn warn_secret_on_command_line(form: &str, instead: &str) {
    crate::fail::say!(
        "vsync: warning: {form} puts a secret on the command line, where any local user can read it \
         (ps, /proc/<pid>/cmdline) and the shell keeps it in its history; use {instead} instead. \
         This form is deprecated and will be removed."
    );
}

static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// `PATH` or `-` (standard input): a secret read like a `_FILE` (SPEC §7: trailing `\r`, `\n`,
/// `\t`, space stripped; empty is missing). Standard input can feed one input per command.
pub fn read_secret_input(path: &Path, what: &str, warnings: &mut Vec<String>) -> CliResult<Zeroizing<String>> {
    if path.as_os_str() != "-" {
        return Ok(read_secret_file(&path.to_string_lossy(), what, warnings)?);
    }
    if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
        return Err(CliError::input(format!("{what} -: standard input is already used by another input")));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    std::io::stdin()
        .lock()
        .take(1 << 20)
        .read_to_end(&mut bytes)
        .map_err(|e| CliError::input(format!("{what} -: cannot read standard input: {e}")))?;
    let end = bytes.iter().rposition(|b| !matches!(b, b'\r' | b'\n' | b'\t' | b' ')).map_or(0, |i| i + 1);
    if end == 0 {
        return Err(Error::config_missing(format!("{what} -: standard input is empty")).into());
    }
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| CliError::input(format!("{what} -: not UTF-8")))?;
    Ok(Zeroizing::new(text.to_string()))
}

/// `--config-file` (`-`: standard input) / the deprecated `--config`, else `VSYNC_CONFIG_FILE`
/// (wins, as in SPEC §7), else `VSYNC_CONFIG`.
pub fn config(flag: Option<&str>, file_flag: Option<&Path>) -> CliResult<ConfigInput> {
    let mut warnings = Vec::new();
    let (blob, origin) = if let Some(path) = file_flag {
        let p = path.to_string_lossy();
        (read_secret_input(path, "--config-file", &mut warnings)?, format!("--config-file {p}"))
    } else if let Some(b) = flag {
        warn_secret_on_command_line(
            "--config BLOB",
            "--config-file PATH, --config-file - (standard input), VSYNC_CONFIG_FILE or VSYNC_CONFIG",
        );
        (Zeroizing::new(b.to_string()), "--config".to_string())
    } else if let Some(p) = non_empty_env("VSYNC_CONFIG_FILE") {
        (read_secret_file(&p, "VSYNC_CONFIG_FILE", &mut warnings)?, format!("VSYNC_CONFIG_FILE={p}"))
    } else if let Some(b) = non_empty_env("VSYNC_CONFIG") {
        (Zeroizing::new(b), "VSYNC_CONFIG".to_string())
    } else {
        return Err(Error::config_missing(
            "no config: pass --config-file PATH (or - for standard input), or set VSYNC_CONFIG_FILE or VSYNC_CONFIG",
        )
        .into());
    };
    warn_all(warnings);
    let config = Config::decode(&blob).map_err(|e| {
        CliError::from(e).with_hint(format!(
            "the config from {origin} is not a usable runtime token: mint one with `vsync runtime-token`"
        ))
    })?;
    Ok(ConfigInput { blob, config, origin })
}

/// A passphrase from `--FLAG-file`, `<VAR>_FILE`, `<VAR>`, else `None`.
pub fn passphrase_noninteractive(
    file_flag: Option<&Path>,
    flag_name: &str,
    var: &str,
) -> CliResult<Option<Zeroizing<String>>> {
    let mut warnings = Vec::new();
    let file_var = format!("{var}_FILE");
    let out = if let Some(path) = file_flag {
        Some(read_secret_input(path, flag_name, &mut warnings)?)
    } else if let Some(p) = non_empty_env(&file_var) {
        Some(read_secret_file(&p, &file_var, &mut warnings)?)
    } else {
        // Verbatim: a leading or trailing space is part of a passphrase.
        non_empty_env(var).map(Zeroizing::new)
    };
    warn_all(warnings);
    Ok(out)
}

/// Like [`passphrase_noninteractive`], then an interactive prompt without echo when a terminal
/// is attached (asked twice when `confirm`). Without a terminal: `ConfigMissingError`.
pub fn passphrase(
    file_flag: Option<&Path>,
    flag_name: &str,
    var: &str,
    prompt: &str,
    confirm: bool,
) -> CliResult<Zeroizing<String>> {
    if let Some(p) = passphrase_noninteractive(file_flag, flag_name, var)? {
        return Ok(p);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::config_missing(format!(
            "no passphrase: pass {flag_name} PATH or set {var} or {var}_FILE (no terminal to prompt on)"
        ))
        .into());
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|_| CliError::input("could not read the passphrase from the terminal"))?,
    );
    if first.is_empty() {
        return Err(CliError::input("the passphrase is empty"));
    }
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password(format!("{prompt} (again): "))
                .map_err(|_| CliError::input("could not read the passphrase from the terminal"))?,
        );
        if *again != *first {
            return Err(CliError::input("the two passphrases differ"));
        }
    }
    Ok(first)
}

/// A secret key: `--secret-access-key-file` (`-`: standard input), else the deprecated
/// `--secret-access-key` value, else `AWS_SECRET_ACCESS_KEY`.
pub fn secret_key(file: Option<&Path>, flag: Option<&str>) -> CliResult<Option<Zeroizing<String>>> {
    if let Some(path) = file {
        let mut warnings = Vec::new();
        let s = read_secret_input(path, "--secret-access-key-file", &mut warnings)?;
        warn_all(warnings);
        return Ok(Some(s));
    }
    if let Some(s) = flag {
        warn_secret_on_command_line(
            "--secret-access-key KEY",
            "--secret-access-key-file PATH, --secret-access-key-file - (standard input) or AWS_SECRET_ACCESS_KEY",
        );
        return Ok(Some(Zeroizing::new(s.to_string())));
    }
    Ok(non_empty_env("AWS_SECRET_ACCESS_KEY").map(Zeroizing::new))
}

/// The config signed with the AWS default credential chain instead of its keys
/// (`--ambient-credentials` of the write commands; a keyless token already is).
pub fn with_ambient_credentials(config: &Config) -> Config {
    let mut c = config.clone();
    c.access_key_id.clear();
    c.secret_access_key = Zeroizing::new(String::new());
    c.ambient_credentials = true;
    c
}

/// Write credentials: flags, else `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else the
/// config's own (runtime tokens should carry read-only keys, so writers may override them).
pub fn with_write_credentials(
    config: &Config,
    key_id: Option<&str>,
    secret: Option<Zeroizing<String>>,
) -> CliResult<Config> {
    let key_id = key_id.map(str::to_string).or_else(|| non_empty_env("AWS_ACCESS_KEY_ID"));
    let mut c = config.clone();
    match (key_id, secret) {
        (Some(k), Some(s)) => {
            c.access_key_id = k;
            c.secret_access_key = s;
            c.ambient_credentials = false;
        }
        (None, None) => {}
        _ => {
            return Err(CliError::input(
                "write credentials need both an access key id and a secret key (--access-key-id and \
                 --secret-access-key-file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); only one was given",
            ))
        }
    }
    Ok(c)
}

/// Parse `NAME=PATH`.
pub fn parse_asset(spec: &str) -> Result<(String, PathBuf), String> {
    match spec.split_once('=') {
        Some((name, path)) if !name.trim().is_empty() && !path.is_empty() => {
            Ok((name.trim().to_string(), PathBuf::from(path)))
        }
        _ => Err(format!("expected NAME=PATH, got {spec:?}")),
    }
}

/// Build the vault contents from a `.env` file, a vault folder and `--asset`s.
pub fn vault_data(
    env_file: Option<&Path>,
    vault_dir: Option<&Path>,
    assets: &[(String, PathBuf)],
    env: &str,
) -> CliResult<VaultData> {
    let mut data = VaultData::default();
    if let Some(p) = env_file {
        data.kv = read_dotenv(p)?;
    }
    if let Some(dir) = vault_dir {
        read_vault_dir(dir, env, &mut data)?;
    }
    for (name, path) in assets {
        if data.assets.contains_key(name) {
            return Err(CliError::input(format!("asset {name:?} is given twice")));
        }
        let bytes = std::fs::read(path)
            .map_err(|e| CliError::input(format!("cannot read asset {name:?} from {}: {e}", path.display())))?;
        data.assets.insert(name.clone(), Zeroizing::new(bytes));
    }
    Ok(data)
}

fn read_dotenv(path: &Path) -> CliResult<IndexMap<String, Zeroizing<String>>> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| CliError::input(format!("cannot read the .env file {}: {e}", path.display())))?,
    );
    let text = std::str::from_utf8(&bytes).map_err(|_| CliError::input(format!("{} is not UTF-8", path.display())))?;
    Ok(parse_dotenv(text))
}

/// A vault folder, as the public CLI zips it (SPEC §6): `.env.<env>` at its root gives the
/// key/values, every other regular file is an asset named by its path relative to the root.
/// Other environments' `.env.*` files are left out (they would leak into this vault).
fn read_vault_dir(dir: &Path, env: &str, data: &mut VaultData) -> CliResult {
    let env_name = format!(".env.{env}");
    let env_path = dir.join(&env_name);
    if !env_path.is_file() {
        return Err(CliError::input(format!(
            "the vault folder {} has no {env_name} (the key/values of env {env:?})",
            dir.display()
        )));
    }
    data.kv = read_dotenv(&env_path)?;
    let mut stack = vec![dir.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).map_err(|e| CliError::input(format!("cannot list {}: {e}", d.display())))?;
        for entry in entries {
            let entry = entry.map_err(|e| CliError::input(format!("cannot list {}: {e}", d.display())))?;
            let path = entry.path();
            let meta = std::fs::symlink_metadata(&path)
                .map_err(|e| CliError::input(format!("cannot inspect {}: {e}", path.display())))?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                files.push(path);
            } else {
                crate::fail::say!("vsync: skipping {} (not a regular file)", path.display());
            }
        }
    }
    files.sort();
    for path in files {
        let rel = path
            .strip_prefix(dir)
            .map_err(|_| CliError::Internal(format!("{} is not under {}", path.display(), dir.display())))?;
        let name = rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        if name == env_name {
            continue;
        }
        if rel.parent() == Some(Path::new("")) && name.starts_with(".env.") {
            crate::fail::say!("vsync: skipping {name} (another environment's key/values)");
            continue;
        }
        let bytes =
            std::fs::read(&path).map_err(|e| CliError::input(format!("cannot read {}: {e}", path.display())))?;
        data.assets.insert(name, Zeroizing::new(bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_specs() {
        assert_eq!(parse_asset("logo.png=/tmp/x=y"), Ok(("logo.png".into(), PathBuf::from("/tmp/x=y"))));
        assert!(parse_asset("noequals").is_err());
        assert!(parse_asset("=path").is_err());
        assert!(parse_asset("name=").is_err());
    }

    #[test]
    fn vault_folder_rules() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join(".env.dev"), "A=1\n# c\nB='two'\n")?;
        std::fs::write(dir.path().join(".env.prod"), "A=prod-secret\n")?;
        std::fs::create_dir(dir.path().join("certs"))?;
        std::fs::write(dir.path().join("certs/ca.pem"), b"PEM")?;
        std::fs::write(dir.path().join("k.bin"), [0u8, 255])?;
        let d = vault_data(None, Some(dir.path()), &[], "dev").map_err(|e| e.report())?;
        let kv: Vec<_> = d.kv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(kv, vec![("A", "1"), ("B", "two")]);
        assert_eq!(d.assets.keys().collect::<Vec<_>>(), vec!["certs/ca.pem", "k.bin"]);
        assert_eq!(d.assets.get("k.bin").map(|b| b.to_vec()), Some(vec![0, 255]));
        let e = vault_data(None, Some(dir.path()), &[], "staging").map(|_| ()).err().map(|e| e.exit_code());
        assert_eq!(e, Some(crate::fail::EXIT_INPUT));
        let dup = [("k.bin".to_string(), dir.path().join("k.bin"))];
        assert!(vault_data(None, Some(dir.path()), &dup, "dev").is_err());
        Ok(())
    }
}
