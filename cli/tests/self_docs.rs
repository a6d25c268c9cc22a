//! `vsync completions <shell>` and `vsync man`: what the release archives ship under
//! completions/ and man/man1/ (scripts/dist-cli.sh generates them with these commands). The
//! completion scripts are loaded by the real shells where they are installed (bash always is).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn vsync(args: &[&str]) -> Result<String, Box<dyn std::error::Error>> {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_vsync"))
        .env_clear()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()?;
    assert_eq!(out.status.code(), Some(0), "vsync {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Ok(String::from_utf8(out.stdout)?)
}

fn shell_present(shell: &str) -> bool {
    Command::new(shell).arg("-c").arg("exit 0").output().is_ok_and(|o| o.status.success())
}

#[test]
fn bash_completion_loads_and_completes_subcommands_and_flags() -> TestResult {
    let script = vsync(&["completions", "bash"])?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("vsync.bash");
    std::fs::write(&file, &script)?;
    // Load it as `source <(vsync completions bash)` would, then ask it what the user gets after
    // `vsync ro<TAB>` and `vsync push --env-<TAB>`.
    let probe = r#"
        source "$1" || exit 3
        complete -p vsync || exit 4
        fn=$(complete -p vsync | sed -n 's/.*-F \([^ ]*\).*/\1/p')
        COMP_WORDS=(vsync ro); COMP_CWORD=1; COMP_LINE="vsync ro"; COMP_POINT=${#COMP_LINE}
        "$fn" vsync ro vsync; echo "sub: ${COMPREPLY[*]}"
        COMP_WORDS=(vsync push --env-); COMP_CWORD=2; COMP_LINE="vsync push --env-"; COMP_POINT=${#COMP_LINE}
        "$fn" vsync --env- push; echo "flag: ${COMPREPLY[*]}"
    "#;
    let out = Command::new("bash").arg("-c").arg(probe).arg("probe").arg(&file).output()?;
    let stdout = String::from_utf8(out.stdout)?;
    assert!(out.status.success(), "bash: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l == "sub: rotate-passphrase"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("flag: ") && l.contains("--env-file")), "{stdout}");
    Ok(())
}

#[test]
fn zsh_and_fish_scripts_name_every_subcommand() -> TestResult {
    let zsh = vsync(&["completions", "zsh"])?;
    let fish = vsync(&["completions", "fish"])?;
    assert!(zsh.starts_with("#compdef vsync"), "{}", &zsh[..zsh.len().min(200)]);
    for sub in ["runtime-token", "push", "rotate-passphrase", "status", "run", "completions", "man"] {
        assert!(zsh.contains(&format!("'{sub}:")), "zsh: no {sub}");
        assert!(fish.contains(&format!("-a \"{sub}\"")), "fish: no {sub}");
    }
    // Where the shells are installed, they must parse what we generate.
    for (shell, script, check) in [("zsh", &zsh, "-n"), ("fish", &fish, "--no-execute")] {
        if shell_present(shell) {
            let dir = tempfile::tempdir()?;
            let file = dir.path().join("script");
            std::fs::write(&file, script)?;
            let out = Command::new(shell).arg(check).arg(&file).output()?;
            assert!(out.status.success(), "{shell}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }
    Ok(())
}

#[test]
fn an_unknown_shell_is_a_usage_error() -> TestResult {
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_vsync"))
        .env_clear()
        .args(["completions", "tcsh"])
        .timeout(Duration::from_secs(60))
        .output()?;
    assert_eq!(out.status.code(), Some(2));
    Ok(())
}

#[test]
fn man_page_is_roff_for_vsync_with_its_commands() -> TestResult {
    let page = vsync(&["man"])?;
    assert!(page.contains(".TH vsync 1"), "{}", &page[..page.len().min(300)]);
    assert!(page.contains(&format!(".TH vsync 1  \"vsync {}\"", env!("CARGO_PKG_VERSION"))), "no version");
    for sub in ["runtime\\-token", "push", "rotate\\-passphrase", "run"] {
        assert!(page.contains(&format!("vsync\\-{sub}(1)")), "man page lists no {sub}");
    }
    Ok(())
}

#[test]
fn man_dir_writes_one_page_per_command() -> TestResult {
    let dir = tempfile::tempdir()?;
    let man1 = dir.path().join("share/man/man1");
    let man1_str = man1.to_str().ok_or("path")?;
    vsync(&["man", "--dir", man1_str])?;
    for page in ["vsync.1", "vsync-push.1", "vsync-run.1", "vsync-runtime-token.1", "vsync-completions.1"] {
        let text = std::fs::read_to_string(Path::new(&man1).join(page))?;
        assert!(text.starts_with(".ie \\n(.g .ds Aq") || text.contains(".TH "), "{page}: not roff");
    }
    Ok(())
}
