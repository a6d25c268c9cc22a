//! `vsync completions <shell>` and `vsync man`: the shell completions and the man pages,
//! generated from the same clap definition the binary parses with, so what the release archives
//! ship (`scripts/dist-cli.sh` runs these) can never disagree with the binary's flags.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Command};
use clap_complete::Shell;

use crate::fail::{CliError, CliResult};

/// Print the completion script for a shell (bash, zsh, fish, elvish, powershell)
#[derive(Args)]
#[command(after_help = "\
Load it for the current shell, or install it where the shell looks:
  bash   source <(vsync completions bash)
         vsync completions bash > ~/.local/share/bash-completion/completions/vsync
  zsh    vsync completions zsh > \"${fpath[1]}/_vsync\"
  fish   vsync completions fish > ~/.config/fish/completions/vsync.fish
The release archives carry the same files under completions/.")]
pub struct CompletionsArgs {
    /// The shell to write the script for
    shell: Shell,
}

/// Print the man page (roff), or write one page per command into a directory
#[derive(Args)]
#[command(after_help = "\
Examples:
  vsync man | man -l -
  vsync man --dir ~/.local/share/man/man1     # vsync.1, vsync-push.1, vsync-run.1, ...")]
pub struct ManArgs {
    /// Write vsync.1 and one vsync-<command>.1 per command into this directory instead
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn completions(a: CompletionsArgs, mut cmd: Command) -> CliResult {
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "vsync", &mut out);
    write_stdout(&out)
}

pub fn man(a: ManArgs, cmd: Command) -> CliResult {
    match a.dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| CliError::input(format!("cannot create {}: {e}", dir.display())))?;
            clap_mangen::generate_to(cmd, &dir)
                .map_err(|e| CliError::input(format!("cannot write the man pages into {}: {e}", dir.display())))
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| CliError::Internal(format!("rendering the man page: {e}")))?;
            write_stdout(&out)
        }
    }
}

/// One write of the whole text; a closed pipe (`vsync man | head`) is not an error worth a report.
fn write_stdout(bytes: &[u8]) -> CliResult {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::input(format!("cannot write to standard output: {e}"))),
    }
}
