//! `vsync run --watch`: restart the command when a newer vault generation is pushed.
//!
//! The libraries are pull-once; live reload lives one layer up, here, in the process that is
//! already the command's parent. One loop on the main thread waits on one channel for signals
//! (relayed as in plain `vsync run`), the command's exit, the poll's answer (one HEAD, on a
//! thread) and the re-open's result (on a thread), with the next poll or the end of the restart
//! grace as its deadline. Design notes: docs/run.md ("--watch").

use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use nix::sys::signal::{kill, Signal};
use vsync_core::bootstrap::process_env;
use vsync_core::Config;

use super::unix::{
    close_dir, open_in_background, reap, relay, signal_exit_code, start, Ended, Event, Events, Inputs, Prepared,
    Running, Started,
};
use super::RunArgs;
use crate::fail::{CliError, CliResult};

/// Signals to `vsync run` that mean "stop", also while a restart is under way (then nothing
/// is started). SIGHUP, SIGUSR1 and SIGUSR2 are only relayed: programs read them as "reload".
const STOP: [Signal; 3] = [Signal::SIGINT, Signal::SIGTERM, Signal::SIGQUIT];

/// The first back-off after a failed poll; it doubles up to the interval.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

pub(super) struct Watch {
    pub(super) interval: Duration,
    pub(super) grace: Duration,
    pub(super) restart_signal: Signal,
    pub(super) poll_timeout: Duration,
    pub(super) own_group: bool,
}

/// What the loop is doing between events.
enum Phase {
    /// Waiting for the next poll.
    Idle { next_poll: Instant },
    /// A poll (`None`) or an open of generation N (`Some(N)`) runs on its thread; its event
    /// ends this phase.
    Asking(Option<u64>),
    /// The restart signal was sent; the new vault is ready, waiting for the old command to end.
    Restarting(Restart),
}

struct Restart {
    next: Prepared,
    /// When SIGKILL is sent (None once it was).
    kill_at: Option<Instant>,
    /// A stop signal arrived meanwhile: nothing is started, vsync exits 128+N.
    stop: Option<Signal>,
}

impl Watch {
    /// Watch until the command exits by itself (its code) or a stop signal ended it.
    pub(super) fn run(
        &self,
        events: &Events,
        a: &Arc<RunArgs>,
        defaults: &Arc<IndexMap<String, String>>,
        mut running: Running,
    ) -> CliResult<u8> {
        let mut phase = Phase::Idle { next_poll: Instant::now() + self.jittered() };
        let mut backoff: Option<Duration> = None;
        // The generation whose open failed and was reported (once per generation).
        let mut reported_open_failure: Option<u64> = None;
        // A stop signal relayed outside a restart: the command is on its way out, never restarted.
        let mut stopping = false;
        loop {
            if let Some(ended) = reap(running.child)? {
                let Phase::Restarting(restart) = phase else {
                    close_dir(running.dir.take());
                    return Ok(ended.code());
                };
                close_dir(running.dir.take());
                if let Some(sig) = restart.stop {
                    return Ok(signal_exit_code(sig));
                }
                let killed = restart.kill_at.is_none();
                let old = running.generation;
                let new = restart.next.generation;
                // Between the old command's end and the new one's start, a stop signal means
                // stop; the others have no command to go to.
                running = match start(restart.next, a, events, self.own_group, |sig| STOP.contains(&sig))? {
                    Started::Running(child, dir) => Running { child, dir, generation: new },
                    Started::Stopped(sig) => return Ok(signal_exit_code(sig)),
                };
                say(&format!(
                    "generation {old} → {new}: the command was restarted (the old one ended with {})",
                    self.describe(ended, killed)
                ));
                phase = Phase::Idle { next_poll: Instant::now() + self.jittered() };
                continue;
            }
            let deadline = match &phase {
                Phase::Idle { next_poll } if !stopping => Some(*next_poll),
                Phase::Restarting(Restart { kill_at, .. }) => *kill_at,
                _ => None,
            };
            let Some(event) = events.next(deadline) else {
                // A deadline passed.
                phase = match phase {
                    Phase::Idle { .. } => {
                        self.poll_in_background(events);
                        Phase::Asking(None)
                    }
                    Phase::Restarting(mut restart) => {
                        // The grace period is over: the command did not end on the restart signal.
                        let _ = kill(running.child, Signal::SIGKILL);
                        restart.kill_at = None;
                        Phase::Restarting(restart)
                    }
                    asking => asking,
                };
                continue;
            };
            match event {
                Event::Signal { sig: Signal::SIGCHLD, .. } => {}
                Event::Signal { sig, kernel_sent } => {
                    if STOP.contains(&sig) {
                        match &mut phase {
                            Phase::Restarting(restart) => restart.stop = Some(sig),
                            _ => stopping = true,
                        }
                    }
                    relay(running.child, sig, kernel_sent);
                }
                Event::Polled(Ok(remote)) => {
                    backoff = None;
                    phase = if stopping || remote <= running.generation {
                        Phase::Idle { next_poll: Instant::now() + self.jittered() }
                    } else if open_in_background(events, a, defaults, Inputs::Reopen) {
                        Phase::Asking(Some(remote))
                    } else {
                        say("cannot start a thread to open the new generation; trying again at the next poll");
                        Phase::Idle { next_poll: Instant::now() + self.jittered() }
                    };
                }
                Event::Polled(Err(e)) => {
                    let wait = backoff.map_or(FIRST_BACKOFF, |b| b.saturating_mul(2)).min(self.interval);
                    backoff = Some(wait);
                    let e = CliError::from(e);
                    say(&format!(
                        "polling the store failed ({}, {}): {}; the command keeps running; next poll in {:.1} s",
                        e.class_name(),
                        e.code(),
                        e.message(),
                        wait.as_secs_f64()
                    ));
                    phase = Phase::Idle { next_poll: Instant::now() + wait };
                }
                Event::Opened(result) => {
                    let wanted = match phase {
                        Phase::Asking(Some(generation)) => generation,
                        _ => 0,
                    };
                    phase = match *result {
                        Ok(next) if !stopping && next.generation > running.generation => {
                            let _ = kill(running.child, self.restart_signal);
                            Phase::Restarting(Restart { next, kill_at: Some(Instant::now() + self.grace), stop: None })
                        }
                        // Not newer after all (an eventually consistent store), or stopping.
                        Ok(_) => Phase::Idle { next_poll: Instant::now() + self.jittered() },
                        Err(e) => {
                            // Each failing generation is reported once; the command keeps running.
                            if reported_open_failure != Some(wanted) {
                                reported_open_failure = Some(wanted);
                                say(&format!(
                                    "cannot open generation {wanted} ({}, {}): {}; the command keeps running on \
                                     generation {}; trying again at each poll",
                                    e.class_name(),
                                    e.code(),
                                    e.message(),
                                    running.generation
                                ));
                            }
                            Phase::Idle { next_poll: Instant::now() + self.jittered() }
                        }
                    };
                }
            }
        }
    }

    fn describe(&self, ended: Ended, killed: bool) -> String {
        if killed {
            format!("SIGKILL after the {:.1} s grace period", self.grace.as_secs_f64())
        } else {
            ended.to_string()
        }
    }

    /// The interval with ±10 % jitter, so that a fleet started together does not poll in step.
    fn jittered(&self) -> Duration {
        self.interval.mul_f64(0.9 + 0.2 * rand::random::<f64>())
    }

    /// One HEAD of the manifest (the core's `remote_generation`), on a thread; its answer
    /// arrives as [`Event::Polled`]. The token is read again for each poll (from
    /// VSYNC_CONFIG_FILE, or VSYNC_CONFIG), so no credentials are kept between polls.
    fn poll_in_background(&self, events: &Events) {
        let (tx, timeout) = (events.sender(), self.poll_timeout);
        let spawned = std::thread::Builder::new().name("vsync-poll".into()).spawn(move || {
            let _ = tx.send(Event::Polled(remote_generation(timeout)));
        });
        if let Err(e) = spawned {
            let _ = events.sender().send(Event::Polled(Err(vsync_core::Error::new(
                vsync_core::ErrorKind::S3Unreachable,
                format!("cannot start a thread to poll: {e}"),
            ))));
        }
    }
}

fn remote_generation(timeout: Duration) -> vsync_core::Result<u64> {
    let config = {
        let inputs = vsync_core::bootstrap::resolve(&process_env)?;
        Config::decode(&inputs.config)?
    };
    vsync_core::s3::run(&config, timeout, |store| async move {
        vsync_core::vault::remote_generation_of(&store).await.map(|(generation, _)| generation)
    })
}

/// One line on stderr, never a panic (a closed stderr must not end the watch).
fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "vsync: watch: {line}");
}
