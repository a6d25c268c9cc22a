//! The CLI's one error type and its exit codes. Every failure prints its class, the cause and
//! what to do, and exits with a code that depends on the class only (documented in `--help`).

use vsync_core::{Error, ErrorKind};

/// Exit codes. The seven classes of the taxonomy are `10 + ErrorKind::number()`.
pub const EXIT_INTERNAL: i32 = 1;
/// Usage errors are reported by clap, which exits with 2.
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_INPUT: i32 = 3;
pub const EXIT_CONFLICT: i32 = 20;
pub const EXIT_UNCONFIRMED: i32 = 21;
pub const EXIT_NO_CONDITIONAL_WRITES: i32 = 22;
/// `run`: the command was found but could not be executed (the shells' convention).
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// `run`: the command was not found (the shells' convention).
pub const EXIT_COMMAND_NOT_FOUND: i32 = 127;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
   0  success
   1  internal error (a bug: please report it)
   2  usage error (unknown flag, missing argument)
   3  InputError: a local input is unusable (file, --asset, .env, prompt)
  11  ConfigMissingError: no config or passphrase given, or an unreadable _FILE
  12  ConfigUnsupportedVersionError: the token is another version or format
  13  S3UnreachableError: network, DNS, TLS, time-out, 403, missing bucket
  14  ManifestNotFoundError: nothing was pushed at this bucket/prefix
  15  WrongPassphraseError: the passphrase (or salt) does not open the bundle
  16  BundleCorruptError: a damaged token or bundle
  17  UnsupportedSpecVersionError: written by a newer format version
  19  NotFoundError: `get` found no such key or asset
  20  ConflictError: someone else pushed meanwhile (the lost-update guard); nothing of this write is in use
  21  WriteUnconfirmedError: the manifest write got no answer and could not be read back; check `vsync status`
  22  ConditionalWritesUnsupportedError: the store ignores If-None-Match/If-Match; nothing was written
 126  CommandError: `run` found the command but could not execute it
 127  CommandError: `run` did not find the command
`run` otherwise exits with its command's code (128+N when a signal N ended it).";

/// `eprintln!` that cannot fail: a line on stderr, or nothing when stderr cannot be written (a
/// full disk, `2>/dev/full`, a closed pipe such as `2>&1 | head -1`). `eprintln!` panics then,
/// which turned an ordinary exit code into 101 and stopped `vsync run` before its command
/// started; a diagnostic that nobody can read must change nothing else. Every message of the
/// CLI goes through this (`clippy::print_stderr` is denied in main.rs).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::fail::write_stderr(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// One line on stderr; a write error is ignored (see [`say!`]).
pub fn write_stderr(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[derive(Debug)]
pub enum CliError {
    /// One of the core's classes; `hint` overrides the generic what-to-do line.
    Vsync { error: Error, hint: Option<String> },
    /// A local input problem (file, flag value, prompt).
    Input(String),
    /// The lost-update guard.
    Conflict { expected: u64, found: u64 },
    /// `run`: the command could not be started; `code` is 126 or 127.
    Command { code: i32, message: String },
    /// A manifest write whose outcome is unknown (no reply, and reading back failed).
    Unconfirmed { gen: u64, ts: String, cause: String, hint: String },
    /// The store does not honour conditional writes (the writer protocol's probe).
    NoConditionalWrites { detail: String },
    /// A combination of flags that is refused (exit 2, as clap's own usage errors).
    Usage(String),
    /// Something that should not happen.
    Internal(String),
}

pub type CliResult<T = ()> = Result<T, CliError>;

impl From<Error> for CliError {
    fn from(error: Error) -> Self {
        CliError::Vsync { error, hint: None }
    }
}

impl CliError {
    pub fn input(m: impl Into<String>) -> Self {
        CliError::Input(m.into())
    }

    /// Attach a command-specific what-to-do line to a core error (other errors unchanged).
    pub fn with_hint(self, hint: impl Into<String>) -> Self {
        match self {
            CliError::Vsync { error, .. } => CliError::Vsync { error, hint: Some(hint.into()) },
            other => other,
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            // The boundary kinds (a caught panic, a refused argument) exit 1 (EXIT_INTERNAL): bugs.
            CliError::Vsync { error, .. } => error.kind().exit_code(),
            CliError::Input(_) => EXIT_INPUT,
            CliError::Conflict { .. } => EXIT_CONFLICT,
            CliError::Command { code, .. } => *code,
            CliError::Unconfirmed { .. } => EXIT_UNCONFIRMED,
            CliError::NoConditionalWrites { .. } => EXIT_NO_CONDITIONAL_WRITES,
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Internal(_) => EXIT_INTERNAL,
        }
    }

    /// The class name and the stable code: the core's for its kinds, the CLI's own otherwise.
    pub fn class(&self) -> (&'static str, &'static str) {
        let kind = match self {
            CliError::Vsync { error, .. } => error.kind(),
            CliError::Internal(_) => ErrorKind::Internal,
            CliError::Input(_) => return ("InputError", "VSYNC_INPUT"),
            CliError::Usage(_) => return ("UsageError", "VSYNC_USAGE"),
            CliError::Conflict { .. } => return ("ConflictError", "VSYNC_CONFLICT"),
            CliError::Command { .. } => return ("CommandError", "VSYNC_COMMAND"),
            CliError::Unconfirmed { .. } => return ("WriteUnconfirmedError", "VSYNC_WRITE_UNCONFIRMED"),
            CliError::NoConditionalWrites { .. } => {
                return ("ConditionalWritesUnsupportedError", "VSYNC_NO_CONDITIONAL_WRITES")
            }
        };
        (kind.class_name(), kind.code())
    }

    pub fn class_name(&self) -> &'static str {
        self.class().0
    }

    pub fn code(&self) -> &'static str {
        self.class().1
    }

    pub fn message(&self) -> String {
        match self {
            CliError::Vsync { error, .. } => error.message().to_string(),
            CliError::Input(m) | CliError::Usage(m) | CliError::Internal(m) | CliError::Command { message: m, .. } => {
                m.clone()
            }
            CliError::Conflict { expected, found } => {
                format!("the remote generation is {found}, not the expected {expected}: someone pushed meanwhile")
            }
            CliError::Unconfirmed { gen, ts, cause, .. } => format!(
                "the manifest write for gen {gen} (ts {ts}) got no answer ({cause}) and reading it back failed: \
                 readers get either the previous vault or gen {gen}"
            ),
            CliError::NoConditionalWrites { detail } => format!(
                "this store does not honour S3 conditional writes ({detail}): concurrent pushes could silently \
                 replace each other; nothing was written"
            ),
        }
    }

    pub fn hint(&self) -> String {
        match self {
            CliError::Vsync { hint: Some(h), .. } => h.clone(),
            CliError::Vsync { error, hint: None } => generic_hint(error.kind()).to_string(),
            CliError::Input(_) => "fix the input named above and run the command again".into(),
            CliError::Usage(_) => "change the flags as said above (see the command's --help)".into(),
            CliError::Conflict { found, .. } => format!(
                "nothing of this write is in use: readers get gen {found}; look at it (`vsync status`), then \
                 push again with --expect-gen {found}"
            ),
            CliError::Unconfirmed { hint, .. } => hint.clone(),
            CliError::NoConditionalWrites { .. } => "use a store that supports conditional writes (AWS S3, \
                Cloudflare R2, a current MinIO or Ceph RGW; see docs/writer-protocol.md), or, when no other writer \
                can ever push to this prefix at the same time, pass --single-writer"
                .into(),
            CliError::Command { code, .. } if *code == EXIT_COMMAND_NOT_FOUND => {
                "check the command's name, or give its path; it is looked up in the PATH of its own environment".into()
            }
            CliError::Command { .. } => "check that the file is an executable program or script (mode, #! line)".into(),
            CliError::Internal(_) => BUG_HINT.into(),
        }
    }

    /// Two lines on stderr: class (code) and cause, then what to do.
    pub fn report(&self) -> String {
        format!(
            "vsync: error: {} ({}): {}\nvsync: what to do: {}",
            self.class_name(),
            self.code(),
            self.message(),
            self.hint()
        )
    }
}

const BUG_HINT: &str = "this is a bug in vsync; please report it with the command you ran";

fn generic_hint(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ConfigMissing => {
            "pass --config/--config-file (or set VSYNC_CONFIG/VSYNC_CONFIG_FILE) and \
             --passphrase-file (or set VSYNC_PASSPHRASE/VSYNC_PASSPHRASE_FILE)"
        }
        ErrorKind::ConfigUnsupportedVersion => "mint a current token with `vsync runtime-token`",
        ErrorKind::S3Unreachable => {
            "check the endpoint, region, bucket and credentials; `vsync runtime-token --check` \
             tests them with one HEAD request"
        }
        ErrorKind::ManifestNotFound => {
            "push a vault first (`vsync push`), or check that the token's bucket and prefix are the ones you pushed to"
        }
        ErrorKind::WrongPassphrase => {
            "use the passphrase this vault was last pushed or rotated with, and the runtime token \
             (salt) printed by the last `rotate-passphrase --new-salt`"
        }
        ErrorKind::BundleCorrupt => "push the vault again, or mint a new token if the token itself was damaged",
        ErrorKind::UnsupportedSpecVersion => "this vault was written by a newer vsync: upgrade this CLI",
        ErrorKind::Closed => "open the vault again",
        ErrorKind::NotFound => "list the names with `vsync status`",
        ErrorKind::Internal | ErrorKind::InvalidArgument => BUG_HINT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_core_class_has_a_distinct_exit_code() {
        let mut codes: Vec<i32> = ErrorKind::ALL
            .iter()
            .filter(|k| !k.is_boundary())
            .map(|k| CliError::from(Error::new(*k, "m")).exit_code())
            .collect();
        codes.extend([
            EXIT_INTERNAL,
            EXIT_USAGE,
            EXIT_INPUT,
            EXIT_CONFLICT,
            EXIT_CANNOT_EXECUTE,
            EXIT_COMMAND_NOT_FOUND,
            EXIT_UNCONFIRMED,
            EXIT_NO_CONDITIONAL_WRITES,
        ]);
        let n = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), n);
        assert_eq!(CliError::from(Error::wrong_passphrase()).exit_code(), 15);
        assert_eq!(CliError::from(Error::caught_panic()).exit_code(), EXIT_INTERNAL);
        assert_eq!(CliError::from(Error::invalid_argument("m")).exit_code(), EXIT_INTERNAL);
        for k in ErrorKind::ALL.iter().filter(|k| k.is_taxonomy()) {
            let line = format!("  {}  {}", 10 + k.number(), k.class_name());
            assert!(EXIT_CODES_HELP.contains(&line), "help lacks {line}");
        }
    }

    #[test]
    fn report_names_class_cause_and_remedy() {
        let r = CliError::Conflict { expected: 1, found: 2 }.report();
        assert!(r.contains("ConflictError") && r.contains("--expect-gen 2"));
        let r = CliError::from(Error::wrong_passphrase()).with_hint("do X").report();
        assert!(r.contains("WrongPassphraseError (VSYNC_WRONG_PASSPHRASE)") && r.ends_with("what to do: do X"));
    }
}
