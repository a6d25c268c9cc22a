//! `vsync run -- COMMAND [ARGS]`: start any program with the vault's key/values in its
//! environment, so code that cannot call a library (a shell entrypoint, a Ruby or PHP app, a
//! migration tool, a cron job) reads the vault with no code at all.
//!
//! The vault is opened by the core's `open()` exactly as the libraries open it: the same inputs
//! (SPEC §7), the same chain (SPEC §8), the same deadline and errors. This file only builds the
//! child's environment from the core's answers, writes the requested assets to private files,
//! starts the child and relays signals until it exits. Design notes: docs/run.md.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Args;

const RUN_HELP: &str = "\
Opens the vault like the libraries do — VSYNC_CONFIG_FILE or VSYNC_CONFIG, VSYNC_PASSPHRASE_FILE
or VSYNC_PASSPHRASE, no prompt — then runs COMMAND with this environment:
  the caller's environment, overlaid with the vault's key/values (the vault wins), then
  --defaults-file keys that neither sets, then the --asset path variables;
  VSYNC_CONFIG, VSYNC_CONFIG_FILE, VSYNC_PASSPHRASE and VSYNC_PASSPHRASE_FILE removed
  (unless --keep-bootstrap): the command gets secrets, not the keys to all of them.
COMMAND is looked up in the PATH of that environment.

vsync run stays COMMAND's parent: it forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
SIGUSR2 to it (not a terminal's ^C or ^\\, which reach COMMAND directly), reaps orphans when it is
PID 1 (a container's ENTRYPOINT needs no extra init), removes the --asset files when COMMAND
exits however it exits, and exits with COMMAND's code (128+N when signal N ended it). --exec
instead replaces vsync with COMMAND (execve): no process stays behind, so it cannot be combined
with --asset. Errors before COMMAND starts exit with vsync's codes (11-17, see vsync --help);
126/127 mean COMMAND could not be executed / was not found.

--watch: vsync run also polls the store (one HEAD request every --watch-interval seconds, ±10 %
jitter) and, when a newer generation was pushed, first opens it completely with VSYNC_CONFIG_FILE /
VSYNC_PASSPHRASE_FILE read again, then restarts COMMAND: --restart-signal, up to --restart-grace
seconds, SIGKILL; new asset files; COMMAND started with the new environment. A failed poll or open
never touches the running COMMAND (one line on stderr; retried later). COMMAND exiting by itself
ends vsync run with its code (no restart); SIGINT, SIGTERM or SIGQUIT to vsync run means stop,
also during a restart (exit 128+N). Not with --exec.

Without a controlling terminal (a container, systemd, cron), COMMAND runs in its own process group,
so a signal sent to vsync run's whole group (kill -- -PGID, timeout(1)) reaches it once, through
vsync run; under systemd use KillMode=mixed. vsync run's own /proc files (environ) are readable by
root only (PR_SET_DUMPABLE 0); the _FILE paths stay readable to the same user.

Asset files: each --asset NAME is written to a 0600 file, named like the asset, in a fresh 0700
directory on /dev/shm (memory) when present, else in TMPDIR. If vsync run itself is killed with
SIGKILL, that directory stays until reboot or removal (rm -r /dev/shm/vsync-run-*).

Examples:
  VSYNC_CONFIG_FILE=prod.token VSYNC_PASSPHRASE_FILE=/run/secrets/pw vsync run -- bundle exec puma
  vsync run --defaults-file .env.defaults --only DATABASE_URL,REDIS_URL -- ./migrate up
  vsync run --asset tls/key.pem=TLS_KEY_FILE -- nginx -g 'daemon off;'
  ENTRYPOINT [\"vsync\", \"run\", \"--\"]   (Dockerfile; CMD gives the command)";

/// Run a command with the vault's key/values in its environment (any language, no code)
#[derive(Args)]
#[command(after_help = RUN_HELP)]
pub struct RunArgs {
    /// A .env file (SPEC §6 rules) whose keys fill what neither the vault nor the environment sets
    #[arg(long, value_name = "PATH")]
    defaults_file: Option<PathBuf>,
    /// Write asset NAME to a private file and put its path in ENVVAR (repeatable)
    #[arg(long = "asset", value_name = "NAME=ENVVAR", value_parser = parse_asset_var)]
    assets: Vec<(String, String)>,
    /// Add only these keys (comma-separated, repeatable); each must resolve (vault, environment or defaults)
    #[arg(long, value_name = "K1,K2", value_delimiter = ',')]
    only: Vec<String>,
    /// Let the vault set this key although it changes how programs load or run (see --help)
    #[arg(long = "allow-key", value_name = "KEY", value_delimiter = ',',
          value_parser = crate::run_policy::parse_allowed_key, long_help = crate::run_policy::ALLOW_KEY_HELP)]
    allow_keys: Vec<String>,
    /// Keep VSYNC_CONFIG(_FILE) and VSYNC_PASSPHRASE(_FILE) in the command's environment
    #[arg(long)]
    keep_bootstrap: bool,
    /// Replace vsync with the command (execve) instead of staying its parent; not with --asset
    #[arg(long, conflicts_with = "assets")]
    exec: bool,
    /// Bound on opening the vault (and, with --watch, on each poll), in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    timeout: u64,
    /// Restart the command when a newer vault generation is pushed (polls the store)
    #[arg(long, conflicts_with = "exec")]
    watch: bool,
    /// With --watch: seconds between polls (±10 % jitter); decimals allowed
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds, requires = "watch")]
    watch_interval: std::time::Duration,
    /// With --watch: seconds the command gets to exit after the restart signal, then SIGKILL
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds, requires = "watch")]
    restart_grace: std::time::Duration,
    /// With --watch: the signal that asks the command to stop for a restart (TERM, INT, HUP, QUIT, USR1, USR2)
    #[arg(long, value_name = "SIGNAL", default_value = "TERM", value_parser = parse_restart_signal, requires = "watch")]
    restart_signal: String,
    /// Refuse a vault below generation N, or without a sealed generation (rollback floor; also VSYNC_MIN_GENERATION)
    #[arg(long, value_name = "N")]
    min_generation: Option<u64>,
    /// The command and its arguments (after `--`)
    #[arg(value_name = "COMMAND", required = true, trailing_var_arg = true)]
    command: Vec<OsString>,
}

/// Parse `NAME=ENVVAR`: the asset name may contain `=`, so the variable is after the last one.
fn parse_asset_var(spec: &str) -> Result<(String, String), String> {
    match spec.rsplit_once('=') {
        Some((name, var)) if !name.is_empty() && valid_env_name(var.as_bytes()) => {
            Ok((name.to_string(), var.to_string()))
        }
        _ => Err(format!("expected NAME=ENVVAR (an asset name and an environment variable name), got {spec:?}")),
    }
}

/// A positive number of seconds, decimals allowed (`0.5`), at most a day.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(std::time::Duration::from_secs_f64(s)),
        _ => Err(format!("expected a number of seconds above 0 and at most 86400, got {text:?}")),
    }
}

/// A signal that can ask a program to stop, by name with or without `SIG` (`TERM`, `SIGHUP`);
/// returned as `SIGTERM` (numbers differ between Linux and macOS, names do not).
fn parse_restart_signal(text: &str) -> Result<String, String> {
    let name = text.trim().to_ascii_uppercase();
    let name = name.strip_prefix("SIG").unwrap_or(&name);
    match name {
        "TERM" | "INT" | "HUP" | "QUIT" | "USR1" | "USR2" => Ok(format!("SIG{name}")),
        _ => Err(format!("expected one of TERM, INT, HUP, QUIT, USR1, USR2, got {text:?}")),
    }
}

/// What an environment variable name can be: not empty, no `=`, no NUL.
fn valid_env_name(name: &[u8]) -> bool {
    !name.is_empty() && !name.contains(&b'=') && !name.contains(&0)
}

#[cfg(unix)]
pub use unix::run;

#[cfg(unix)]
mod watch;

/// Windows has no exec, no POSIX signals to forward and no 0600 modes: `vsync run` refuses there.
#[cfg(not(unix))]
pub fn run(_a: RunArgs) -> crate::fail::CliResult<std::process::ExitCode> {
    Err(crate::fail::CliError::input(
        "vsync run needs Linux or macOS; on Windows read the vault with a library or `vsync export`",
    ))
}

#[cfg(unix)]
mod unix {
    use std::ffi::{CStr, CString, OsStr};
    use std::io::Write;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    use std::path::{Path, PathBuf};
    use std::process::ExitCode;
    use std::sync::{mpsc, Arc};
    use std::time::{Duration, Instant};

    use indexmap::IndexMap;
    use nix::errno::Errno;
    use nix::spawn::{posix_spawn, PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
    use nix::sys::signal::{kill, sigprocmask, SigSet, SigmaskHow, Signal};
    use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
    use nix::unistd::{execve, getpgid, getpgrp, Pid};
    use signal_hook::iterator::exfiltrator::WithOrigin;
    use signal_hook::iterator::SignalsInfo;
    use signal_hook::low_level::siginfo::Cause;
    use vsync_core::bootstrap::{self, process_env};
    use vsync_core::payload::parse_dotenv;
    use vsync_core::{ErrorKind, OpenOptions, Source, Vault};
    use zeroize::Zeroizing;

    use super::{valid_env_name, RunArgs};
    use crate::fail::{CliError, CliResult, EXIT_CANNOT_EXECUTE, EXIT_COMMAND_NOT_FOUND};

    /// The signals relayed to the child. Each one's default action terminates vsync, so one that
    /// arrives before the child starts ends vsync the same way (128+N) without starting it.
    const FORWARDED: [Signal; 6] =
        [Signal::SIGINT, Signal::SIGTERM, Signal::SIGHUP, Signal::SIGQUIT, Signal::SIGUSR1, Signal::SIGUSR2];

    /// PATH when the child's environment has none (glibc's and musl's default for execvp).
    const DEFAULT_PATH: &[u8] = b"/usr/bin:/bin";

    pub fn run(a: RunArgs) -> CliResult<ExitCode> {
        // The command (same user) must not read the bootstrap inputs from our /proc/<pid>/environ
        // or memory: not dumpable makes those files root-only and blocks same-user ptrace.
        forbid_inspection();
        // Handlers first, before anything slow: as PID 1 a signal without a handler is dropped
        // by the kernel, so a SIGTERM during the open would otherwise be lost (issue 23.4).
        let events = Events::install()?;
        let defaults = Arc::new(match &a.defaults_file {
            Some(p) => read_defaults(p)?,
            None => IndexMap::new(),
        });
        if let Some(bad) = a.only.iter().find(|k| !valid_env_name(k.as_bytes())) {
            return Err(CliError::input(format!("--only names {bad:?}, which is not an environment variable name")));
        }
        let restart_signal = a
            .restart_signal
            .parse::<Signal>()
            .map_err(|_| CliError::input(format!("--restart-signal {} is not a signal here", a.restart_signal)))?;
        let args = Arc::new(a);
        // The open runs beside the signal wait: a signal ends vsync at once (128+N, as the
        // signal's default action would), without waiting for the open's deadline.
        let prepared = match events.wait_for_open(open_in_background(&events, &args, &defaults, Inputs::FirstOpen)) {
            Waited::Opened(p) => p?,
            Waited::Signal(sig) => return Ok(ExitCode::from(signal_exit_code(sig))),
        };
        if args.exec {
            let Prepared { env, assets, .. } = prepared;
            drop(assets);
            let (program, argv) = program_and_args(&args, &env)?;
            let block = env.block()?;
            drop(env);
            if let Some(sig) = events.signal_arrived(|_| true) {
                return Ok(ExitCode::from(signal_exit_code(sig)));
            }
            return Err(exec(&program, &argv, &block));
        }
        let generation = prepared.generation;
        let own_group = !has_controlling_terminal();
        // Before the first start, any forwarded signal ends vsync (as its default action would).
        let (child, dir) = match start(prepared, &args, &events, own_group, |_| true)? {
            Started::Running(child, dir) => (child, dir),
            Started::Stopped(sig) => return Ok(ExitCode::from(signal_exit_code(sig))),
        };
        let code = if args.watch {
            let watch = super::watch::Watch {
                interval: args.watch_interval,
                grace: args.restart_grace,
                restart_signal,
                poll_timeout: Duration::from_secs(args.timeout.max(1)),
                own_group,
            };
            watch.run(&events, &args, &defaults, Running { child, dir, generation })?
        } else {
            let ended = relay_until_exit(&events, child)?;
            close_dir(dir);
            ended.code()
        };
        Ok(ExitCode::from(code))
    }

    /// `PR_SET_DUMPABLE 0` (Linux): /proc/<pid>/environ, mem and maps become root's, and a
    /// same-user ptrace is refused. The command gets its own, normal state back at execve.
    fn forbid_inspection() {
        #[cfg(target_os = "linux")]
        // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers and touches no memory of ours.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
        }
    }

    /// Does vsync have a controlling terminal? open(2) of /dev/tty succeeds only then.
    fn has_controlling_terminal() -> bool {
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NOCTTY).open("/dev/tty").is_ok()
    }

    /// Where the bootstrap inputs come from for one open.
    #[derive(Clone, Copy)]
    pub(super) enum Inputs {
        /// The first open: the libraries' `open()` exactly, warnings included.
        FirstOpen,
        /// A re-open by --watch: the same inputs read again, their warnings not repeated.
        Reopen,
    }

    /// What the command needs to start: its environment and asset bytes (wiped on drop).
    pub(super) struct Prepared {
        env: ChildEnv,
        assets: Vec<AssetFile>,
        pub(super) generation: u64,
    }

    /// Open the vault completely and build the command's environment from it; the vault's
    /// plaintext is wiped before this returns (only what the command gets is kept).
    fn prepare(a: &RunArgs, defaults: &IndexMap<String, String>, inputs: Inputs) -> CliResult<Prepared> {
        let default_keys: Vec<String> = defaults.keys().cloned().collect();
        let options = OpenOptions {
            defaults: defaults.clone(),
            timeout: Duration::from_secs(a.timeout.max(1)),
            min_generation: a.min_generation,
            ..OpenOptions::default()
        };
        // The libraries' open(): same inputs, same errors (exit 10 + class number).
        let opened = match inputs {
            Inputs::FirstOpen => vsync_core::open(&process_env, options),
            Inputs::Reopen => vsync_core::bootstrap::resolve(&process_env)
                .and_then(|b| vsync_core::open_with(&b.config, &b.passphrase, options)),
        };
        let vault = opened.map_err(|e| match e.kind() {
            ErrorKind::ConfigMissing => CliError::from(e).with_hint(
                "set VSYNC_CONFIG or VSYNC_CONFIG_FILE, and VSYNC_PASSPHRASE or VSYNC_PASSPHRASE_FILE \
                 (vsync run reads only these, like the libraries); the command was not started",
            ),
            _ => CliError::from(e),
        })?;
        let mut env = ChildEnv::from_process(!a.keep_bootstrap);
        let assets = env.apply_vault(&vault, &default_keys, a)?;
        let generation = vault.generation()?;
        // Everything the child needs is copied into wiped buffers; drop the vault's plaintext now
        // so it does not stay in this process for the child's lifetime.
        vault.close();
        Ok(Prepared { env, assets, generation })
    }

    /// Run [`prepare`] on a thread of its own; its result arrives as [`Event::Opened`].
    pub(super) fn open_in_background(
        events: &Events,
        a: &Arc<RunArgs>,
        defaults: &Arc<IndexMap<String, String>>,
        inputs: Inputs,
    ) -> bool {
        let (a, defaults, tx) = (Arc::clone(a), Arc::clone(defaults), events.sender());
        std::thread::Builder::new()
            .name("vsync-open".into())
            .spawn(move || {
                let _ = tx.send(Event::Opened(Box::new(prepare(&a, &defaults, inputs))));
            })
            .is_ok()
    }

    fn program_and_args(a: &RunArgs, env: &ChildEnv) -> CliResult<(CString, Vec<CString>)> {
        let name = a.command.first().ok_or_else(|| CliError::input("no command given after `--`"))?;
        Ok((resolve_program(name, env.get(b"PATH"))?, c_strings(&a.command)?))
    }

    /// The command as it runs: its pid, its asset directory and the generation it was given.
    pub(super) struct Running {
        pub(super) child: Pid,
        pub(super) dir: Option<tempfile::TempDir>,
        pub(super) generation: u64,
    }

    pub(super) enum Started {
        Running(Pid, Option<tempfile::TempDir>),
        /// A forwarded signal arrived before the command started: it was not started.
        Stopped(Signal),
    }

    /// Write the assets and start the command with `prepared`'s environment, unless a signal
    /// for which `stops` holds arrived meanwhile.
    pub(super) fn start(
        prepared: Prepared,
        a: &RunArgs,
        events: &Events,
        own_group: bool,
        stops: impl Fn(Signal) -> bool,
    ) -> CliResult<Started> {
        let Prepared { mut env, assets, .. } = prepared;
        let (program, argv) = program_and_args(a, &env)?;
        let dir = if assets.is_empty() { None } else { Some(write_assets(&assets, &mut env)?) };
        drop(assets);
        if let Some(sig) = events.signal_arrived(stops) {
            close_dir(dir);
            return Ok(Started::Stopped(sig));
        }
        let spawned = env.block().and_then(|block| spawn(&program, &argv, &block, &events.registered, own_group));
        drop(env);
        match spawned {
            Ok(child) => Ok(Started::Running(child, dir)),
            Err(e) => {
                close_dir(dir);
                Err(e)
            }
        }
    }

    fn read_defaults(path: &Path) -> CliResult<IndexMap<String, String>> {
        let bytes = Zeroizing::new(
            std::fs::read(path)
                .map_err(|e| CliError::input(format!("cannot read the --defaults-file {}: {e}", path.display())))?,
        );
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| CliError::input(format!("the --defaults-file {} is not UTF-8", path.display())))?;
        // OpenOptions takes plain Strings; the vault wraps them in wiped buffers at open.
        Ok(parse_dotenv(text).into_iter().map(|(k, v)| (k, v.to_string())).collect())
    }

    /// An `--asset NAME=ENVVAR` with the asset's bytes (wiped on drop).
    struct AssetFile {
        name: String,
        var: String,
        bytes: Zeroizing<Vec<u8>>,
    }

    /// The child's environment: names to values, every value in a buffer wiped on drop.
    struct ChildEnv {
        vars: IndexMap<Vec<u8>, Zeroizing<Vec<u8>>>,
        /// The caller's environment as it was, for the chain's step 2 (before any removal).
        parent: IndexMap<Vec<u8>, Zeroizing<Vec<u8>>>,
    }

    impl ChildEnv {
        fn from_process(remove_bootstrap: bool) -> ChildEnv {
            let parent: IndexMap<Vec<u8>, Zeroizing<Vec<u8>>> =
                std::env::vars_os().map(|(k, v)| (k.into_vec(), Zeroizing::new(v.into_vec()))).collect();
            let mut vars = parent.clone();
            if remove_bootstrap {
                for var in bootstrap::VARIABLES {
                    vars.shift_remove(var.as_bytes());
                }
            }
            ChildEnv { vars, parent }
        }

        fn get(&self, name: &[u8]) -> Option<&[u8]> {
            self.vars.get(name).map(|v| v.as_slice())
        }

        /// Add what the chain resolves from the vault or the defaults for each key (all of the
        /// vault's and the defaults' keys, or the --only ones); keys the caller's environment
        /// resolves keep the caller's value. Returns the assets to write, with their variables.
        fn apply_vault(&mut self, vault: &Vault, default_keys: &[String], a: &RunArgs) -> CliResult<Vec<AssetFile>> {
            let keys: Vec<String> = if a.only.is_empty() {
                let mut keys = vault.keys()?;
                for k in default_keys {
                    if !keys.contains(k) {
                        keys.push(k.clone());
                    }
                }
                keys
            } else {
                a.only.clone()
            };
            let parent = &self.parent;
            let mut lookup = |k: &str| parent.get(k.as_bytes()).map(|v| String::from_utf8_lossy(v).into_owned());
            for key in keys {
                let resolved = vault.resolve(&key, &mut lookup)?;
                match (resolved.source, resolved.value) {
                    (source @ (Source::Vault | Source::Default), Some(value)) => {
                        crate::run_policy::check_key(&key, source == Source::Vault, &[&a.only, &a.allow_keys])?;
                        if value.as_bytes().contains(&0) {
                            return Err(CliError::input(format!(
                                "the value of {key} holds a NUL byte, which an environment variable cannot carry: \
                                 leave it out with --only, or read it with a library"
                            )));
                        }
                        self.vars.insert(key.into_bytes(), Zeroizing::new(value.as_bytes().to_vec()));
                    }
                    (Source::Env, _) => {}
                    _ => {
                        return Err(CliError::from(vsync_core::Error::new(
                            ErrorKind::NotFound,
                            format!(
                                "--only names {key:?}, which neither the vault, the environment nor the defaults set"
                            ),
                        ))
                        .with_hint("list the vault's key names with `vsync status`; the command was not started"));
                    }
                }
            }
            let mut assets = Vec::new();
            for (name, var) in &a.assets {
                asset_file_path(Path::new(""), name)?;
                let bytes = vault.get_as_content(name).map_err(|e| {
                    CliError::from(e)
                        .with_hint("list the vault's asset names with `vsync status`; the command was not started")
                })?;
                assets.push(AssetFile { name: name.clone(), var: var.clone(), bytes });
            }
            Ok(assets)
        }

        /// `NAME=VALUE\0` entries for execve/posix_spawn, in wiped buffers.
        fn block(&self) -> CliResult<EnvBlock> {
            let mut entries = Vec::with_capacity(self.vars.len());
            for (k, v) in &self.vars {
                let mut e = Zeroizing::new(Vec::with_capacity(k.len() + v.len() + 2));
                e.extend_from_slice(k);
                e.push(b'=');
                e.extend_from_slice(v);
                e.push(0);
                // Names and values were checked for NUL; the caller's come from a C environment.
                if CStr::from_bytes_with_nul(&e).is_err() {
                    return Err(CliError::Internal(format!(
                        "the environment variable {} holds a NUL byte",
                        String::from_utf8_lossy(k)
                    )));
                }
                entries.push(e);
            }
            Ok(EnvBlock(entries))
        }
    }

    struct EnvBlock(Vec<Zeroizing<Vec<u8>>>);

    impl EnvBlock {
        fn c_strs(&self) -> Vec<&CStr> {
            // Each entry was checked to be one NUL-terminated C string when it was built.
            self.0.iter().filter_map(|e| CStr::from_bytes_with_nul(e).ok()).collect()
        }
    }

    fn c_strings(args: &[std::ffi::OsString]) -> CliResult<Vec<CString>> {
        args.iter()
            .map(|a| {
                CString::new(a.as_bytes()).map_err(|_| CliError::input("an argument of the command holds a NUL byte"))
            })
            .collect()
    }

    /// Where asset `name` goes under `dir`: its own relative path (`certs/ca.pem` stays
    /// `certs/ca.pem`, so file names and extensions are what programs expect), refused when it
    /// could leave the directory.
    fn asset_file_path(dir: &Path, name: &str) -> CliResult<PathBuf> {
        let parts: Vec<&str> = name.split('/').collect();
        if parts.iter().any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0')) {
            return Err(CliError::input(format!(
                "the asset name {name:?} cannot be a relative file path (empty, '.' or '..' parts)"
            )));
        }
        Ok(parts.iter().fold(dir.to_path_buf(), |p, part| p.join(part)))
    }

    /// A fresh 0700 directory on /dev/shm (or TMPDIR) holding one 0600 file per asset; each
    /// asset's variable gets its file's path. Removed when the returned TempDir is dropped.
    fn write_assets(assets: &[AssetFile], env: &mut ChildEnv) -> CliResult<tempfile::TempDir> {
        let make = |base: &Path| {
            tempfile::Builder::new()
                .prefix("vsync-run-")
                .permissions(std::fs::Permissions::from_mode(0o700))
                .tempdir_in(base)
        };
        let shm = Path::new("/dev/shm");
        let dir = match shm.is_dir().then(|| make(shm)) {
            Some(Ok(d)) => d,
            _ => make(&std::env::temp_dir())
                .map_err(|e| CliError::input(format!("cannot create a directory for the asset files: {e}")))?,
        };
        let fail =
            |what: &str, p: &Path, e: std::io::Error| CliError::input(format!("cannot {what} {}: {e}", p.display()));
        // The umask may have narrowed the mode further; say exactly what it is.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(|e| fail("restrict", dir.path(), e))?;
        let mut written: Vec<&str> = Vec::new();
        for AssetFile { name, var, bytes } in assets {
            let path = asset_file_path(dir.path(), name)?;
            // The same asset under two variables is written once.
            if !written.contains(&name.as_str()) {
                if let Some(parent) = path.parent() {
                    std::fs::DirBuilder::new()
                        .recursive(true)
                        .mode(0o700)
                        .create(parent)
                        .map_err(|e| fail("create", parent, e))?;
                }
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| fail("create", &path, e))?;
                f.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(|e| fail("restrict", &path, e))?;
                f.write_all(bytes).and_then(|()| f.flush()).map_err(|e| fail("write", &path, e))?;
                written.push(name);
            }
            env.vars.insert(var.as_bytes().to_vec(), Zeroizing::new(path.into_os_string().into_vec()));
        }
        Ok(dir)
    }

    pub(super) fn close_dir(dir: Option<tempfile::TempDir>) {
        if let Some(d) = dir {
            let path = d.path().to_path_buf();
            if let Err(e) = d.close() {
                crate::fail::say!("vsync: could not remove the asset directory {}: {e}", path.display());
            }
        }
    }

    /// The program to execute, looked up like execvp does but in the child's PATH (as env(1)
    /// and std::process::Command do): a name with a `/` is used as it is.
    fn resolve_program(name: &OsStr, path: Option<&[u8]>) -> CliResult<CString> {
        let not_found = || CliError::Command {
            code: EXIT_COMMAND_NOT_FOUND,
            message: format!("command not found: {:?}", name.to_string_lossy()),
        };
        let bytes = name.as_bytes();
        if bytes.is_empty() {
            return Err(not_found());
        }
        let found = if bytes.contains(&b'/') {
            Some(bytes.to_vec())
        } else {
            path.unwrap_or(DEFAULT_PATH).split(|b| *b == b':').find_map(|dir| {
                let dir = if dir.is_empty() { Path::new(".") } else { Path::new(OsStr::from_bytes(dir)) };
                let candidate = dir.join(name);
                let meta = std::fs::metadata(&candidate).ok()?;
                (meta.is_file() && meta.permissions().mode() & 0o111 != 0)
                    .then(|| candidate.into_os_string().into_vec())
            })
        };
        CString::new(found.ok_or_else(not_found)?).map_err(|_| not_found())
    }

    fn cannot_start(program: &CStr, errno: Errno) -> CliError {
        let code = if errno == Errno::ENOENT { EXIT_COMMAND_NOT_FOUND } else { EXIT_CANNOT_EXECUTE };
        CliError::Command { code, message: format!("cannot execute {:?}: {}", program.to_string_lossy(), errno.desc()) }
    }

    /// `--exec`: become the command. Returns only on failure.
    fn exec(program: &CStr, args: &[CString], env: &EnvBlock) -> CliError {
        // What the child would get from posix_spawn below: default SIGPIPE (Rust ignores it at
        // start-up, and an ignored signal stays ignored across execve) and an empty mask.
        // SAFETY: SIG_DFL installs no handler code; nothing else runs concurrently here.
        let _ = unsafe { nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigDfl) };
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
        match execve(program, args, &env.c_strs()) {
            Err(errno) => cannot_start(program, errno),
            Ok(never) => match never {},
        }
    }

    fn spawn(program: &CStr, args: &[CString], env: &EnvBlock, handled: &[Signal], own_group: bool) -> CliResult<Pid> {
        let internal = |e: Errno| CliError::Internal(format!("posix_spawn attributes: {e}"));
        let mut attr = PosixSpawnAttr::init().map_err(internal)?;
        // The child starts as if vsync were not there: an empty signal mask, and default actions
        // for SIGPIPE (ignored by Rust's runtime) and for the signals vsync handles.
        let mut defaults = SigSet::empty();
        defaults.add(Signal::SIGPIPE);
        for s in handled {
            defaults.add(*s);
        }
        attr.set_sigmask(&SigSet::empty()).map_err(internal)?;
        attr.set_sigdefault(&defaults).map_err(internal)?;
        let mut flags = PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF;
        if own_group {
            // Without a terminal, a signal to our whole process group (kill -- -PGID, timeout(1))
            // would reach the command directly and again through us: give it a group of its own.
            // With a terminal it stays in ours, so the terminal's ^C and job control reach it.
            attr.set_pgroup(Pid::from_raw(0)).map_err(internal)?;
            flags |= PosixSpawnFlags::POSIX_SPAWN_SETPGROUP;
        }
        attr.set_flags(flags).map_err(internal)?;
        let actions = PosixSpawnFileActions::init().map_err(internal)?;
        posix_spawn(program, &actions, &attr, args, &env.c_strs()).map_err(|e| cannot_start(program, e))
    }

    pub(super) fn signal_exit_code(sig: Signal) -> u8 {
        u8::try_from(128 + sig as i32).unwrap_or(255)
    }

    /// Was this signal one that the kernel sent to our whole process group (a terminal's ^C,
    /// ^\ or hang-up), which the child — still in that group — has received itself? Relaying it
    /// would deliver it twice (many programs read a second ^C as "quit now").
    fn reached_child_directly(kernel_sent: bool, child_in_our_group: bool) -> bool {
        kernel_sent && child_in_our_group
    }

    /// Linux says SI_KERNEL; macOS leaves si_code unset, and only a sender's pid tells a
    /// kill(2) from a terminal there (signal-hook reports no process then).
    fn sent_by_kernel(cause: Cause, sender_known: bool) -> bool {
        cause == Cause::Kernel || (cfg!(target_os = "macos") && !sender_known)
    }

    /// One signal as a process sent it to vsync.
    struct SentSignal {
        sig: Signal,
        sender: libc::pid_t,
        at: Instant,
    }

    /// A sender that signals vsync and then its whole process group (GNU `timeout`, a
    /// supervisor's `kill(0, sig)`) reaches vsync twice within microseconds, and pending signals
    /// merge only when both arrive before the handler runs: under load, relaying each would hand
    /// the command the signal twice (a second SIGTERM means "quit now" to many programs).
    const REPEAT_WINDOW: Duration = Duration::from_millis(250);

    impl SentSignal {
        /// The same signal from the same process as the previous one, within the window.
        fn repeats(&self, previous: Option<&SentSignal>) -> bool {
            previous.is_some_and(|p| {
                p.sig == self.sig && p.sender == self.sender && self.at.duration_since(p.at) < REPEAT_WINDOW
            })
        }
    }

    /// Relay `sig` to the command unless it reached it directly.
    pub(super) fn relay(child: Pid, sig: Signal, kernel_sent: bool) {
        let same_group = getpgid(Some(child)).is_ok_and(|g| g == getpgrp());
        if !reached_child_directly(kernel_sent, same_group) {
            // ESRCH: the child is exiting; its SIGCHLD is on its way.
            let _ = kill(child, sig);
        }
    }

    /// What the main loop waits for: signals (from the handler thread) and the results of the
    /// open and poll threads, on one channel, so one blocking wait (with a deadline) sees all.
    pub(super) enum Event {
        Signal { sig: Signal, kernel_sent: bool },
        Opened(Box<CliResult<Prepared>>),
        Polled(vsync_core::Result<u64>),
    }

    pub(super) enum Waited {
        Opened(CliResult<Prepared>),
        Signal(Signal),
    }

    pub(super) struct Events {
        tx: mpsc::Sender<Event>,
        rx: mpsc::Receiver<Event>,
        /// The forwarded signals that were not ignored when vsync started.
        registered: Vec<Signal>,
    }

    impl Events {
        /// Handle the forwarded signals and SIGCHLD (signal-hook's self-pipe; a thread turns
        /// each into an [`Event`]). A signal that vsync's caller ignored (as a shell does for
        /// SIGINT/SIGQUIT of `cmd &`) stays ignored, so the child inherits the ignore as it
        /// would without vsync.
        fn install() -> CliResult<Events> {
            let registered: Vec<Signal> = FORWARDED.into_iter().filter(|s| !is_ignored(*s)).collect();
            let numbers: Vec<i32> =
                registered.iter().map(|s| *s as i32).chain(std::iter::once(Signal::SIGCHLD as i32)).collect();
            let mut info = SignalsInfo::<WithOrigin>::new(&numbers)
                .map_err(|e| CliError::Internal(format!("cannot install signal handlers: {e}")))?;
            let (tx, rx) = mpsc::channel();
            let signal_tx = tx.clone();
            std::thread::Builder::new()
                .name("vsync-signals".into())
                .spawn(move || {
                    let mut last: Option<SentSignal> = None;
                    for origin in info.forever() {
                        let Ok(sig) = Signal::try_from(origin.signal) else { continue };
                        if sig != Signal::SIGCHLD {
                            if let Some(process) = origin.process.as_ref() {
                                let sent = SentSignal { sig, sender: process.pid, at: Instant::now() };
                                if sent.repeats(last.as_ref()) {
                                    continue;
                                }
                                last = Some(sent);
                            }
                        }
                        let kernel_sent = sent_by_kernel(origin.cause, origin.process.is_some());
                        if signal_tx.send(Event::Signal { sig, kernel_sent }).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| CliError::Internal(format!("cannot start the signal thread: {e}")))?;
            Ok(Events { tx, rx, registered })
        }

        pub(super) fn sender(&self) -> mpsc::Sender<Event> {
            self.tx.clone()
        }

        /// The next event; `None` once `deadline` passed.
        pub(super) fn next(&self, deadline: Option<Instant>) -> Option<Event> {
            match deadline {
                // The channel cannot close: `self` holds a sender.
                None => self.rx.recv().ok(),
                Some(d) => self.rx.recv_timeout(d.saturating_duration_since(Instant::now())).ok(),
            }
        }

        /// Wait for the open started by [`open_in_background`] (`started`: whether its thread
        /// started), or for a forwarded signal, whichever comes first.
        fn wait_for_open(&self, started: bool) -> Waited {
            if !started {
                return Waited::Opened(Err(CliError::Internal("cannot start a thread to open the vault".into())));
            }
            loop {
                match self.next(None) {
                    Some(Event::Opened(result)) => return Waited::Opened(*result),
                    Some(Event::Signal { sig, .. }) if sig != Signal::SIGCHLD => return Waited::Signal(sig),
                    _ => continue,
                }
            }
        }

        /// A forwarded signal for which `stops` holds that arrived and was not handled yet.
        /// Other events are dropped: this is asked only while no command runs and no open or
        /// poll thread is under way.
        fn signal_arrived(&self, stops: impl Fn(Signal) -> bool) -> Option<Signal> {
            std::iter::from_fn(|| self.rx.try_recv().ok()).find_map(|e| match e {
                Event::Signal { sig, .. } if sig != Signal::SIGCHLD && stops(sig) => Some(sig),
                _ => None,
            })
        }
    }

    /// Relay signals to the child until it exits; reap every exited child meanwhile (as PID 1,
    /// orphans are re-parented to us).
    fn relay_until_exit(events: &Events, child: Pid) -> CliResult<Ended> {
        loop {
            // SIGCHLD is handled, so a child that exits before this loop starts still wakes it.
            if let Some(ended) = reap(child)? {
                return Ok(ended);
            }
            if let Some(Event::Signal { sig, kernel_sent }) = events.next(None) {
                if sig != Signal::SIGCHLD {
                    relay(child, sig, kernel_sent);
                }
            }
        }
    }

    /// How the command ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Ended {
        Exited(i32),
        Signaled(Signal),
    }

    impl Ended {
        /// Its exit code, 128+N for a signal N.
        pub(super) fn code(self) -> u8 {
            match self {
                Ended::Exited(code) => u8::try_from(code).unwrap_or(255),
                Ended::Signaled(sig) => signal_exit_code(sig),
            }
        }
    }

    impl std::fmt::Display for Ended {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                Ended::Exited(code) => write!(f, "exit code {code}"),
                Ended::Signaled(sig) => write!(f, "{}", sig.as_str()),
            }
        }
    }

    fn is_ignored(sig: Signal) -> bool {
        // SAFETY: a query (null new action) of the current disposition into a zeroed struct.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(sig as libc::c_int, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
        }
    }

    /// Reap exited children without blocking; `Some(how)` once `child` is among them.
    pub(super) fn reap(child: Pid) -> CliResult<Option<Ended>> {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => return Ok(None),
                Ok(WaitStatus::Exited(pid, code)) if pid == child => return Ok(Some(Ended::Exited(code))),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == child => return Ok(Some(Ended::Signaled(sig))),
                Ok(_) | Err(Errno::EINTR) => continue,
                // ECHILD: nothing left to wait for — our child was reaped above already.
                Err(e) => return Err(CliError::Internal(format!("waiting for the command: {e}"))),
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use signal_hook::low_level::siginfo::Sent;

        #[test]
        fn asset_names_become_relative_paths_inside_the_directory() {
            let d = Path::new("/x");
            assert_eq!(asset_file_path(d, "tls.pem").ok(), Some(PathBuf::from("/x/tls.pem")));
            assert_eq!(asset_file_path(d, "certs/ca.pem").ok(), Some(PathBuf::from("/x/certs/ca.pem")));
            for bad in ["", "/etc/passwd", "../up", "a/../../b", "a//b", "./a", "a/"] {
                assert!(asset_file_path(d, bad).is_err(), "{bad:?} accepted");
            }
        }

        #[test]
        fn program_lookup_uses_the_given_path() -> Result<(), Box<dyn std::error::Error>> {
            let dir = tempfile::tempdir()?;
            let exe = dir.path().join("tool");
            std::fs::write(&exe, "#!/bin/sh\n")?;
            std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))?;
            std::fs::write(dir.path().join("data"), "")?;
            let path = format!("/nonexistent:{}", dir.path().display());
            let found = resolve_program(OsStr::new("tool"), Some(path.as_bytes())).map_err(|e| e.report())?;
            assert_eq!(found.as_bytes(), exe.as_os_str().as_bytes());
            let code = |r: CliResult<CString>| r.err().map(|e| e.exit_code());
            // Not executable, or not there: not found (127), as a shell says.
            assert_eq!(code(resolve_program(OsStr::new("data"), Some(path.as_bytes()))), Some(127));
            assert_eq!(code(resolve_program(OsStr::new("tool"), Some(b"/nonexistent"))), Some(127));
            assert_eq!(code(resolve_program(OsStr::new(""), None)), Some(127));
            // With a slash: used as given.
            let p = resolve_program(OsStr::new("./rel/x"), Some(b"")).map_err(|e| e.report())?;
            assert_eq!(p.as_bytes(), b"./rel/x");
            Ok(())
        }

        #[test]
        fn terminal_signals_are_told_from_kill() {
            // A terminal's ^C, ^\ or hang-up (SI_KERNEL on Linux).
            assert!(sent_by_kernel(Cause::Kernel, false));
            // kill(2) from a process — an orchestrator, `docker stop` (whose pid is 0 inside the
            // container) — is relayed.
            assert!(!sent_by_kernel(Cause::Sent(Sent::User), true));
            assert!(!sent_by_kernel(Cause::Sent(Sent::Queue), true));
        }

        #[test]
        fn a_signal_we_send_ourselves_is_relayed() -> Result<(), Box<dyn std::error::Error>> {
            // Through the real handler: kill(2) on our own pid reports a process sender.
            let mut signals = SignalsInfo::<WithOrigin>::new([libc::SIGUSR2])?;
            kill(nix::unistd::getpid(), Signal::SIGUSR2)?;
            let origin = signals.wait().next().ok_or("no signal")?;
            assert_eq!(origin.signal, libc::SIGUSR2);
            assert!(!reached_child_directly(sent_by_kernel(origin.cause, origin.process.is_some()), true));
            Ok(())
        }

        #[test]
        fn a_senders_second_identical_signal_within_the_window_is_a_repeat() {
            let t0 = Instant::now();
            let first = SentSignal { sig: Signal::SIGTERM, sender: 42, at: t0 };
            let again = |sig, sender, after| SentSignal { sig, sender, at: t0 + after };
            assert!(again(Signal::SIGTERM, 42, Duration::from_millis(1)).repeats(Some(&first)));
            assert!(!again(Signal::SIGTERM, 42, REPEAT_WINDOW).repeats(Some(&first)));
            assert!(!again(Signal::SIGTERM, 43, Duration::from_millis(1)).repeats(Some(&first)));
            assert!(!again(Signal::SIGINT, 42, Duration::from_millis(1)).repeats(Some(&first)));
            assert!(!first.repeats(None));
        }

        #[test]
        fn exit_code_of_a_signal_is_128_plus_its_number() {
            assert_eq!(signal_exit_code(Signal::SIGTERM), 143);
            assert_eq!(signal_exit_code(Signal::SIGKILL), 137);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_var_specs() {
        assert_eq!(parse_asset_var("tls.pem=TLS_FILE"), Ok(("tls.pem".into(), "TLS_FILE".into())));
        assert_eq!(parse_asset_var("a=b.pem=VAR"), Ok(("a=b.pem".into(), "VAR".into())));
        for bad in ["noequals", "=VAR", "name=", "name=A\0B"] {
            assert!(parse_asset_var(bad).is_err(), "{bad:?} accepted");
        }
    }
}
