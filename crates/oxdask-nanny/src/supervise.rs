//! Running the worker process under the [`Policy`]: start it, watch it, restart it.

use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use oxdask_client::Client;
use oxdask_comm::Tls;
use oxdask_protocol::messages::ClientToScheduler;
use tokio::runtime::Handle;

use crate::policy::{over_memory, Decision, Exit, Policy};

/// What the nanny supervises and where it reports.
#[derive(Debug, Clone)]
pub struct NannyConfig {
    /// The worker's command: program and arguments.
    pub command: Vec<String>,
    /// The scheduler the worker joins (the nanny reports deaths there).
    pub scheduler: String,
    /// The scheduler's token, if it wants one.
    pub token: Option<String>,
    /// TLS settings for the report.
    pub tls: Option<Tls>,
    /// The worker's memory limit in bytes (0: none).
    pub memory_limit: u64,
    /// Fraction of the limit past which the nanny kills the process (None: never).
    pub terminate: Option<f64>,
    /// How often the process is checked.
    pub poll: Duration,
    /// How long a process must live before the nanny counts it as started, when it has no
    /// `ready` file to say so.
    pub settle: Duration,
    /// A file the worker creates once it registered with the scheduler (its path is given to
    /// the worker as `OXDASK_NANNY_READY`): the sign that it started.
    pub ready: Option<std::path::PathBuf>,
}

/// Runs `config.command` until `should_stop` says so (checked every `poll`) or the worker
/// closes normally; returns the nanny's exit code. Call from a plain thread (it blocks);
/// reports go out on `runtime`.
pub fn supervise(
    config: &NannyConfig,
    runtime: &Handle,
    mut should_stop: impl FnMut() -> bool,
) -> i32 {
    let start = Instant::now();
    let mut policy = Policy::default();
    let mut reporter: Option<Client> = None;
    loop {
        let mut child = match spawn(config) {
            Ok(child) => child,
            Err(e) => {
                tracing::error!(command = ?config.command, error = %e, "nanny: cannot start the worker");
                return 1;
            }
        };
        let born = Instant::now();
        let (exit, stopping) = watch(&mut child, config, &mut should_stop, &mut policy, born);
        let decision = policy.on_exit(start.elapsed(), &exit, stopping);
        match decision {
            Decision::Stop { code } => return code,
            Decision::Restart { delay, unexpected } => {
                if unexpected {
                    let cause = exit.cause();
                    tracing::warn!(pid = child.id(), %cause, "nanny: the worker died; restarting it");
                    report(&mut reporter, config, runtime, child.id(), cause);
                }
                let until = Instant::now() + delay;
                while Instant::now() < until {
                    if should_stop() {
                        return 0;
                    }
                    std::thread::sleep(config.poll.min(until - Instant::now()));
                }
            }
        }
    }
}

fn spawn(config: &NannyConfig) -> std::io::Result<Child> {
    let (program, args) = config
        .command
        .split_first()
        .ok_or_else(|| std::io::Error::other("empty worker command"))?;
    let mut command = Command::new(program);
    command
        .args(args)
        .env("OXDASK_NANNY", std::process::id().to_string());
    if let Some(ready) = &config.ready {
        let _ = std::fs::remove_file(ready);
        command.env("OXDASK_NANNY_READY", ready);
    }
    command.spawn()
}

/// Waits for the process to end (killing it past its memory, or when the nanny stops).
fn watch(
    child: &mut Child,
    config: &NannyConfig,
    should_stop: &mut impl FnMut() -> bool,
    policy: &mut Policy,
    born: Instant,
) -> (Exit, bool) {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let exit = match (status.code(), status.signal()) {
                    (Some(code), _) => Exit::Code(code),
                    (None, Some(sig)) => Exit::Signal(sig),
                    (None, None) => Exit::Code(-1),
                };
                return (exit, false);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "nanny: cannot wait for the worker");
                return (Exit::Code(-1), true);
            }
        }
        let started = match &config.ready {
            Some(ready) => ready.exists(),
            None => born.elapsed() >= config.settle,
        };
        if started {
            policy.registered();
        }
        if should_stop() {
            terminate(child);
            return (Exit::Code(0), true);
        }
        let rss = resident_bytes(child.id());
        if over_memory(rss, config.memory_limit, config.terminate) {
            let _ = child.kill();
            let _ = child.wait();
            let limit = config.memory_limit;
            let percent = (config.terminate.unwrap_or(1.0) * 100.0).round() as u32;
            return (
                Exit::Memory {
                    rss,
                    limit,
                    percent,
                },
                false,
            );
        }
        std::thread::sleep(config.poll);
    }
}

/// SIGTERM (through `kill(1)`: no unsafe code here), then SIGKILL if the process has not
/// ended within 5 s.
fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Resident memory of process `pid` in bytes, from `/proc/<pid>/status` (0 when unknown).
fn resident_bytes(pid: u32) -> u64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Tells the scheduler why the worker with `pid` died (best effort).
fn report(
    reporter: &mut Option<Client>,
    config: &NannyConfig,
    runtime: &Handle,
    pid: u32,
    reason: String,
) {
    if reporter.is_none() {
        let connected = Client::connect(
            runtime,
            &config.scheduler,
            config.token.clone(),
            config.tls.clone(),
            5.0,
        );
        match connected {
            Ok(client) => *reporter = Some(client),
            Err(e) => {
                tracing::warn!(error = %e, "nanny: cannot reach the scheduler to report a death");
                return;
            }
        }
    }
    if let Some(client) = reporter {
        if client
            .send(ClientToScheduler::WorkerDied { pid, reason })
            .is_err()
        {
            *reporter = None;
        }
    }
}
