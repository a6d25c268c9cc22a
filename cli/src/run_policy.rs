//! Which keys `vsync run` lets a vault put in its command's environment (issue 23 #2).
//!
//! Whoever can write a vault must not thereby run code wherever it is read: a vault holding
//! `PATH=/tmp/x:…` picks the program behind every command name, `LD_PRELOAD` loads a library
//! into every dynamically linked program, `BASH_ENV` and `NODE_OPTIONS` run code in every bash
//! and node, and a key named `"X\nLD_PRELOAD"` forges lines in any dump of the environment. So
//! a vault key that changes how programs are found, loaded or run is refused unless the user
//! named it (`--only` or `--allow-key`), and every key must be a portable variable name. A
//! `--defaults-file` is the user's own local input, as trusted as the command line: only its
//! names are checked.

use crate::fail::{CliError, CliResult};

/// The `--allow-key` flag's long help (what `vsync run --help` shows under the flag).
pub const ALLOW_KEY_HELP: &str = "\
Let the vault set this key although it changes how programs are found, loaded or run \
(comma-separated, repeatable; --only KEY also allows KEY). Without it, vsync run refuses a \
vault holding any of: PATH, LD_*, DYLD_*, BASH_ENV, ENV, SHELLOPTS, BASHOPTS, PS4, IFS, \
NODE_OPTIONS, NODE_PATH, PYTHON*, PERL5*, PERLLIB, RUBYOPT, RUBYLIB, JAVA_TOOL_OPTIONS, \
_JAVA_OPTIONS, JDK_JAVA_OPTIONS, GCONV_PATH, VSYNC_* (incl. VSYNC_NODE_ADDON): whoever can write \
the vault would otherwise run code in COMMAND. Vault and --defaults-file keys must also be \
variable names ([A-Za-z_][A-Za-z0-9_]*). A refused key stops vsync run before COMMAND starts \
(InputError, exit 3), naming the key and why, never its value.";

/// Keys refused by exact name, each with why it is dangerous.
const EXACT: &[(&str, &str)] = &[
    ("PATH", "it chooses which program runs for every command name"),
    ("BASH_ENV", "bash runs the script it names at start-up"),
    ("ENV", "sh and dash run the script it names at start-up"),
    ("SHELLOPTS", "it sets options (such as xtrace) in every bash"),
    ("BASHOPTS", "it sets options in every bash"),
    ("PS4", "a shell tracing with xtrace expands it, running any command substitution in it"),
    ("IFS", "it changes how shells split words"),
    ("NODE_OPTIONS", "it adds options such as --require and --import (code to run) to every node"),
    ("NODE_PATH", "it adds directories node loads modules from"),
    ("PERLLIB", "it adds directories perl loads modules from"),
    ("RUBYOPT", "it adds options such as -r (code to load) to every ruby"),
    ("RUBYLIB", "it adds directories ruby loads libraries from"),
    ("JAVA_TOOL_OPTIONS", "it adds options such as -javaagent (code to run) to every JVM"),
    ("_JAVA_OPTIONS", "it adds options such as -javaagent (code to run) to every JVM"),
    ("JDK_JAVA_OPTIONS", "it adds options such as -javaagent (code to run) to every java launcher"),
    ("GCONV_PATH", "glibc loads character-set modules from the directories it names"),
];

/// Keys refused by prefix, each with why.
const PREFIXES: &[(&str, &str)] = &[
    ("LD_", "the dynamic loader reads it (LD_PRELOAD and LD_LIBRARY_PATH load libraries into every program)"),
    ("DYLD_", "macOS's dynamic loader reads it (DYLD_INSERT_LIBRARIES loads libraries into every program)"),
    ("PYTHON", "Python reads it at start-up (PYTHONPATH and PYTHONSTARTUP load code into every python)"),
    ("PERL5", "Perl reads it at start-up (PERL5OPT and PERL5LIB load code into every perl)"),
    ("VSYNC_", "it is one of vsync's own inputs (VSYNC_NODE_ADDON loads a native library)"),
];

/// `[A-Za-z_][A-Za-z0-9_]*`: a name every shell, `env` dump and `.env` reader takes as one
/// variable (no `=`, no NUL, no newline that could forge another line).
pub fn is_variable_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Why a vault may not set `name` unless the user named it; `None` for an ordinary key.
/// Names are compared exactly: the environment is case-sensitive where these are read.
pub fn takeover_reason(name: &str) -> Option<&'static str> {
    EXACT
        .iter()
        .find(|(n, _)| *n == name)
        .or_else(|| PREFIXES.iter().find(|(p, _)| name.starts_with(p)))
        .map(|(_, why)| *why)
}

/// clap's parser for `--allow-key`: a variable name, else a usage error.
pub fn parse_allowed_key(name: &str) -> Result<String, String> {
    if is_variable_name(name) {
        Ok(name.to_string())
    } else {
        Err(format!("{name:?} is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)"))
    }
}

/// May `key`, resolved from the vault (`from_vault`) or the defaults file, go into the command's
/// environment? `named` are the keys the user listed (`--only` and `--allow-key`). The error
/// names the key (escaped) and why, never the value.
pub fn check_key(key: &str, from_vault: bool, named: &[&[String]]) -> CliResult {
    let origin = if from_vault { "vault" } else { "--defaults-file" };
    if !is_variable_name(key) {
        return Err(CliError::input(format!(
            "the {origin} key {key:?} is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*): a name \
             holding '=', a newline or other characters could set or forge other variables; the command was not \
             started. Rename the key, leave it out with --only, or read it with a library"
        )));
    }
    if !from_vault || named.iter().any(|list| list.iter().any(|n| n == key)) {
        return Ok(());
    }
    match takeover_reason(key) {
        None => Ok(()),
        Some(why) => Err(CliError::input(format!(
            "the vault sets {key}, which vsync run refuses unless you name it: {why}, so whoever can write the \
             vault could run code in the command; the command was not started. If the vault is meant to set it, \
             pass --allow-key {key} (or list it in --only)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        for ok in ["A", "_", "DATABASE_URL", "a1", "_x_9"] {
            assert!(is_variable_name(ok), "{ok:?} refused");
        }
        for bad in ["", "1A", "A-B", "A=B", "X\nLD_PRELOAD", "A B", "Ä", "A\0", "A.B"] {
            assert!(!is_variable_name(bad), "{bad:?} accepted");
        }
    }

    #[test]
    fn loader_keys_are_refused_ordinary_keys_pass() {
        for k in [
            "PATH",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
            "SHELLOPTS",
            "PS4",
            "IFS",
            "NODE_OPTIONS",
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "PERL5OPT",
            "PERL5LIB",
            "RUBYOPT",
            "JAVA_TOOL_OPTIONS",
            "_JAVA_OPTIONS",
            "JDK_JAVA_OPTIONS",
            "GCONV_PATH",
            "VSYNC_CONFIG",
            "VSYNC_NODE_ADDON",
        ] {
            assert!(takeover_reason(k).is_some(), "{k} not refused");
            let e = check_key(k, true, &[]).err().map(|e| (e.exit_code(), e.message()));
            assert!(matches!(&e, Some((3, m)) if m.contains(k) && m.contains("--allow-key")), "{k}: {e:?}");
        }
        for k in ["DATABASE_URL", "API_KEY", "MYPATH", "ENVIRONMENT", "LD", "env", "path", "PYTHO"] {
            assert!(takeover_reason(k).is_none(), "{k} refused");
            assert!(check_key(k, true, &[]).is_ok());
        }
    }

    #[test]
    fn named_keys_are_allowed_and_defaults_only_need_a_name() {
        let allow = vec!["PATH".to_string()];
        let only = vec!["LD_PRELOAD".to_string()];
        assert!(check_key("PATH", true, &[&only, &allow]).is_ok());
        assert!(check_key("LD_PRELOAD", true, &[&only, &allow]).is_ok());
        assert!(check_key("BASH_ENV", true, &[&only, &allow]).is_err());
        // The defaults file is the user's own input.
        assert!(check_key("PYTHONUNBUFFERED", false, &[]).is_ok());
        // A bad name is refused whatever names the user gave, and from either origin.
        let forged = vec!["X\nLD_PRELOAD".to_string()];
        for from_vault in [true, false] {
            let e = check_key("X\nLD_PRELOAD", from_vault, &[&forged]).err().map(|e| e.message());
            assert!(matches!(&e, Some(m) if m.contains(r#""X\nLD_PRELOAD""#) && !m.contains('\n')), "{e:?}");
        }
    }

    #[test]
    fn allow_key_values_must_be_names() {
        assert_eq!(parse_allowed_key("PATH"), Ok("PATH".to_string()));
        assert!(parse_allowed_key("X\nY").is_err() && parse_allowed_key("").is_err());
    }
}
