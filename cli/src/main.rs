//! `vsync`: write vaults, mint runtime tokens, rotate passphrases, inspect — over the same core
//! the runtime libraries read with, so what it writes is what they read.

// Diagnostics go through `fail::say!`, which cannot panic when stderr is unwritable (issue 23 #8);
// stdout is written with explicit error handling where a command prints its result.
#![deny(clippy::print_stderr, clippy::print_stdout)]

mod commands;
#[cfg(feature = "dev-server")]
mod dev_server;
mod fail;
mod inputs;
mod run;
mod run_policy;
mod self_docs;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::fail::EXIT_CODES_HELP;

const ABOUT: &str = "vsync: encrypted application secrets in S3 — write vaults, mint runtime tokens, rotate, inspect";

const LONG_ABOUT: &str = "\
vsync writes the vaults that the vsync runtime libraries (Rust, Python, Node, Java, Go) read at
boot. A vault is an encrypted bundle of key/values and binary assets in an S3-compatible bucket;
an application needs two inputs to read it: VSYNC_CONFIG (a runtime token minted by
`vsync runtime-token`) and VSYNC_PASSPHRASE.

Secrets (passphrases, secret keys, values) are never printed unless a command exists to print
them (`get`, `export`, `decode-config --show-secrets`).";

const AFTER_HELP: &str = "\
Quick start:
  vsync runtime-token --endpoint https://s3.example.com --region us-east-1 \\
      --bucket secrets --prefix myapp/prod/ --env prod > prod.token
  VSYNC_CONFIG_FILE=prod.token vsync push --env-file .env.prod --asset tls.pem=./tls.pem
  VSYNC_CONFIG_FILE=prod.token vsync status

Inputs shared by the commands that read or write a vault (PATH may be - for standard input):
  config      --config-file PATH | VSYNC_CONFIG_FILE | VSYNC_CONFIG
  passphrase  --passphrase-file PATH | VSYNC_PASSPHRASE_FILE | VSYNC_PASSPHRASE |
              a prompt without echo when a terminal is attached
  write keys  --access-key-id ID with --secret-access-key-file PATH | AWS_ACCESS_KEY_ID and
              AWS_SECRET_ACCESS_KEY | the token's own
No secret ever needs to be on the command line, where every local user can read it.

";

#[derive(Parser)]
#[command(name = "vsync", version, about = ABOUT, long_about = LONG_ABOUT,
          after_help = format!("{AFTER_HELP}{EXIT_CODES_HELP}"), propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    RuntimeToken(commands::RuntimeTokenArgs),
    Push(commands::PushArgs),
    Prune(commands::PruneArgs),
    RotatePassphrase(commands::RotateArgs),
    Status(commands::StatusArgs),
    Get(commands::GetArgs),
    Export(commands::ExportArgs),
    Run(run::RunArgs),
    DecodeConfig(commands::DecodeArgs),
    #[command(subcommand)]
    Vectors(commands::VectorsCommand),
    #[cfg(feature = "dev-server")]
    DevServer(dev_server::DevServerArgs),
    Completions(self_docs::CompletionsArgs),
    Man(self_docs::ManArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(fail::EXIT_USAGE as u8) } else { ExitCode::SUCCESS };
        }
    };
    // `run` exits with its command's code; every other command exits 0 on success.
    let done = |r: fail::CliResult| r.map(|()| ExitCode::SUCCESS);
    let result = std::panic::catch_unwind(|| match cli.command {
        Command::RuntimeToken(a) => done(commands::runtime_token(a)),
        Command::Push(a) => done(commands::push(a)),
        Command::Prune(a) => done(commands::prune(a)),
        Command::RotatePassphrase(a) => done(commands::rotate(a)),
        Command::Status(a) => done(commands::status(a)),
        Command::Get(a) => done(commands::get(a)),
        Command::Export(a) => done(commands::export(a)),
        Command::Run(a) => run::run(a),
        Command::DecodeConfig(a) => done(commands::decode_config(a)),
        Command::Vectors(c) => done(commands::vectors(c)),
        #[cfg(feature = "dev-server")]
        Command::DevServer(a) => done(dev_server::run(a)),
        Command::Completions(a) => done(self_docs::completions(a, Cli::command())),
        Command::Man(a) => done(self_docs::man(a, Cli::command())),
    });
    let result = result.unwrap_or_else(|_| Err(fail::CliError::Internal("vsync panicked".into())));
    match result {
        Ok(code) => code,
        Err(e) => {
            crate::fail::say!("{}", e.report());
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(1))
        }
    }
}
