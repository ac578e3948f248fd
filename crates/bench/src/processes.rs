//! The processes a run starts, stops, kills and measures: the Temporal dev server and the
//! workers (`gdt worker`, or this binary's `ceiling-worker`).
//!
//! Each is its own OS process so that it can be SIGKILLed, restarted, and measured through
//! `/proc/<pid>/stat` (CPU) and `/proc/<pid>/status` (RSS), exactly as it would run in
//! production. Children are started through `setpriv --pdeathsig KILL` when it exists, so
//! they die with the harness even when the harness itself is killed; `setpriv` execs the
//! program, so the pid measured is the program's own. The death signal fires when the
//! *thread* that spawned the child exits, so children are spawned only from the main thread
//! or tokio's worker threads (which live as long as the runtime), never from
//! `spawn_blocking`.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gdt_tracker::dev_server::DevServerCommand;

use crate::error::{Error, Result};

/// `setpriv` from util-linux; see the module docs.
const SETPRIV: &str = "/usr/bin/setpriv";

/// The programs a run needs.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The `gdt` binary (`gdt worker`).
    pub gdt: PathBuf,
    /// The `temporal` CLI (`temporal server start-dev`).
    pub temporal_cli: PathBuf,
    /// This binary, for `gdt-bench ceiling-worker`.
    pub bench: PathBuf,
}

impl Tools {
    /// Finds the programs: `gdt` next to this binary (so `cargo build --release -p gdt -p
    /// gdt-bench` is all it takes) unless `gdt` is given; the `temporal` CLI from `temporal_cli`,
    /// else `GDT_TEMPORAL_CLI` (the Makefile sets it), else `.venv/bin/temporal` of this
    /// workspace (what `scripts/bootstrap.sh` installs).
    pub fn locate(gdt: Option<PathBuf>, temporal_cli: Option<PathBuf>) -> Result<Tools> {
        let bench = std::env::current_exe().map_err(Error::io("cannot find gdt-bench itself"))?;
        let gdt = match gdt {
            Some(path) => path,
            None => bench.with_file_name("gdt"),
        };
        if !gdt.is_file() {
            return Err(Error::MissingTool {
                what: "the gdt binary",
                path: gdt,
                hint:
                    "build it next to gdt-bench with `cargo build --release -p gdt -p gdt-bench` \
                       (what `make bench` does), or pass --gdt PATH",
            });
        }
        let temporal_cli = temporal_cli
            .or_else(|| std::env::var_os("GDT_TEMPORAL_CLI").map(PathBuf::from))
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/temporal")
            });
        if !temporal_cli.is_file() {
            return Err(Error::MissingTool {
                what: "the temporal CLI",
                path: temporal_cli,
                hint: "run `make bootstrap` (installs it into .venv/), or pass --temporal-cli PATH",
            });
        }
        Ok(Tools {
            gdt,
            temporal_cli,
            bench,
        })
    }
}

/// A free TCP port on the loopback interface.
pub fn free_port() -> Result<u16> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(Error::io("cannot find a free port"))
}

/// A command that runs `program` and dies with the harness (see the module docs).
fn command(program: &Path) -> Command {
    if Path::new(SETPRIV).is_file() {
        let mut cmd = Command::new(SETPRIV);
        cmd.args(["--pdeathsig", "KILL", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn append_log(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(Error::io(format!("cannot open log {}", path.display())))
}

/// Sends SIGTERM (a polite stop: the process may clean up).
fn terminate(pid: u32) {
    // `kill` rather than a libc call: the workspace forbids unsafe code. A failure means the
    // process is already gone, which is what was wanted.
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Waits for `child` to exit for at most `timeout`; `true` when it did.
async fn wait_exit(child: &mut Child, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !matches!(child.try_wait(), Ok(None)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGKILL, then reaps the process so no zombie is left.
fn kill_now(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// A Temporal dev server (`temporal server start-dev`) on a loopback port, in memory or on a
/// SQLite file, with the tracker's search attributes registered.
pub struct DevServer {
    command: DevServerCommand,
    log: PathBuf,
    child: Option<Child>,
}

impl DevServer {
    /// Starts a server on a free port and waits until it accepts connections. With `db` the
    /// state is kept in that SQLite file, so the server can be stopped and started again
    /// without losing workflows.
    pub async fn start(cli: &Path, db: Option<&Path>, log: PathBuf) -> Result<DevServer> {
        let command = DevServerCommand::new(cli, free_port()?, free_port()?)
            .headless()
            .db_file(db);
        let mut server = DevServer {
            command,
            log,
            child: None,
        };
        server.spawn().await?;
        Ok(server)
    }

    /// `127.0.0.1:PORT`, the frontend's gRPC address.
    pub fn address(&self) -> String {
        self.command.address()
    }

    /// The server's pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server with SIGTERM and waits for it to exit (SIGKILL after 30 s).
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            terminate(child.id());
            if !wait_exit(&mut child, Duration::from_secs(30)).await {
                kill_now(&mut child);
            }
        }
    }

    /// Starts the server again on the same port and database file.
    pub async fn start_again(&mut self) -> Result<()> {
        self.stop().await;
        self.spawn().await
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = append_log(&self.log)?;
        let cli = self.command.cli();
        let child = command(cli)
            .args(self.command.args())
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(Error::io("cannot share a log"))?)
            .stderr(log)
            .spawn()
            .map_err(Error::io(format!("cannot run {}", cli.display())))?;
        self.child = Some(child);
        let address = self.address();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if tokio::net::TcpStream::connect(&address).await.is_ok() {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(Error::Process {
                        what: format!("the Temporal dev server exited at start ({status})"),
                        log: self.log.clone(),
                    });
                }
            }
            if Instant::now() >= deadline {
                return Err(Error::Process {
                    what: format!(
                        "the Temporal dev server did not listen on {address} within 60 s"
                    ),
                    log: self.log.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_now(&mut child);
        }
    }
}

/// How to run one worker process.
#[derive(Debug, Clone)]
pub struct WorkerSpec {
    /// A name for messages (`gdt worker`, `ceiling worker`).
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its whole environment besides `PATH` and `HOME`: nothing else leaks in, so a
    /// developer's `.env` or `GDT_*` variables cannot change what is measured.
    pub env: Vec<(String, String)>,
    /// Its working directory (an empty one, so no `config.yaml` is picked up).
    pub dir: PathBuf,
    /// Where its stderr goes (appended across restarts).
    pub log: PathBuf,
    /// A line fragment the worker logs once it polls its task queue.
    pub ready_marker: String,
}

/// Task slots of a worker; both kinds of worker get the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Slots {
    /// Workflow task slots.
    pub workflow: usize,
    /// Activity task slots.
    pub activity: usize,
}

impl WorkerSpec {
    /// `gdt worker` on `task_queue` (its PR-check worker on `<task_queue>-pr`), against
    /// `temporal` and the GitHub of `github_env`, logging JSON at `info` as in production.
    pub fn gdt_worker(
        tools: &Tools,
        temporal: &str,
        task_queue: &str,
        github_env: Vec<(String, String)>,
        slots: Slots,
        dir: &Path,
        log: PathBuf,
    ) -> Result<WorkerSpec> {
        let mut env: Vec<(String, String)> = vec![
            ("GDT_TEMPORAL_HOST_PORT".into(), temporal.to_owned()),
            // Its own health and metrics ports, so workers of parallel runs never compete
            // for 8080 and 9090; a restart of this spec reuses them.
            ("GDT_APP_HEALTH_PORT".into(), free_port()?.to_string()),
            ("GDT_APP_METRICS_PORT".into(), free_port()?.to_string()),
            ("GDT_TEMPORAL_TASK_QUEUE".into(), task_queue.to_owned()),
            (
                "GDT_PR_CHECKS_TASK_QUEUE".into(),
                format!("{task_queue}-pr"),
            ),
            (
                "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_WORKFLOW".into(),
                slots.workflow.to_string(),
            ),
            (
                "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_ACTIVITY".into(),
                slots.activity.to_string(),
            ),
            ("GDT_APP_LOG_FORMAT".into(), "json".into()),
            ("GDT_APP_LOG_LEVEL".into(), "info".into()),
        ];
        env.extend(github_env);
        Ok(WorkerSpec {
            name: "gdt worker".into(),
            program: tools.gdt.clone(),
            args: vec!["worker".into()],
            env,
            dir: dir.to_owned(),
            log,
            ready_marker: "worker started".into(),
        })
    }

    /// The same worker with its metrics listener and the Temporal SDK's exporter off
    /// (`GDT_APP_METRICS_ENABLED=false`), for measuring what metrics cost.
    pub fn without_metrics(mut self) -> WorkerSpec {
        self.env
            .push(("GDT_APP_METRICS_ENABLED".into(), "false".into()));
        self
    }

    /// Where the worker serves `/metrics`: on the loopback at its `GDT_APP_METRICS_PORT`,
    /// unless it has no such port (the ceiling worker) or has metrics off.
    pub fn metrics_url(&self) -> Option<String> {
        let var = |key: &str| {
            self.env
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        if var("GDT_APP_METRICS_ENABLED").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
            return None;
        }
        var("GDT_APP_METRICS_PORT").map(|port| format!("http://127.0.0.1:{port}/metrics"))
    }

    /// `gdt-bench ceiling-worker` on `task_queue`.
    pub fn ceiling_worker(
        tools: &Tools,
        temporal: &str,
        task_queue: &str,
        slots: Slots,
        dir: &Path,
        log: PathBuf,
    ) -> WorkerSpec {
        WorkerSpec {
            name: "ceiling worker".into(),
            program: tools.bench.clone(),
            args: vec![
                "ceiling-worker".into(),
                "--temporal".into(),
                temporal.to_owned(),
                "--task-queue".into(),
                task_queue.to_owned(),
                "--max-concurrent-workflow".into(),
                slots.workflow.to_string(),
                "--max-concurrent-activity".into(),
                slots.activity.to_string(),
            ],
            env: Vec::new(),
            dir: dir.to_owned(),
            log,
            ready_marker: crate::ceiling::READY_MARKER.into(),
        }
    }
}

/// A worker process that can be SIGKILLed and started again.
pub struct WorkerProcess {
    spec: WorkerSpec,
    child: Option<Child>,
    /// How long the log was when this start began: only what follows is this start's.
    log_offset: u64,
}

impl WorkerProcess {
    /// Starts the worker (without waiting for it to be ready).
    pub fn start(spec: WorkerSpec) -> Result<WorkerProcess> {
        let mut worker = WorkerProcess {
            spec,
            child: None,
            log_offset: 0,
        };
        worker.spawn()?;
        Ok(worker)
    }

    /// Waits until this start of the worker has logged its ready line.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while !self.check_ready()? {
            if Instant::now() >= deadline {
                return Err(Error::Process {
                    what: format!("{} was not ready within {timeout:?}", self.spec.name),
                    log: self.spec.log.clone(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Whether this start of the worker has logged its ready line; an error when it exited.
    pub fn check_ready(&mut self) -> Result<bool> {
        let log = std::fs::read(&self.spec.log).unwrap_or_default();
        let offset = usize::try_from(self.log_offset).unwrap_or(usize::MAX);
        let since_start = String::from_utf8_lossy(log.get(offset..).unwrap_or_default());
        if since_start.contains(self.spec.ready_marker.as_str()) {
            return Ok(true);
        }
        if !self.is_running() {
            return Err(Error::Process {
                what: format!("{} exited before it was ready", self.spec.name),
                log: self.spec.log.clone(),
            });
        }
        Ok(false)
    }

    /// The pid while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process is still alive (reaping it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGKILL: the worker gets no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_now(&mut child);
        }
    }

    /// Kills the worker if it runs and starts it again.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn()
    }

    /// CPU and memory of the running process.
    pub fn stats(&self) -> Result<ProcStats> {
        let pid = self.pid().ok_or_else(|| {
            Error::Parse(format!("{} is not running; no /proc stats", self.spec.name))
        })?;
        proc_stats(pid)
    }

    /// Where the worker serves `/metrics`, if it does (see [`WorkerSpec::metrics_url`]).
    pub fn metrics_url(&self) -> Option<String> {
        self.spec.metrics_url()
    }

    /// The worker's log file.
    pub fn log(&self) -> &Path {
        &self.spec.log
    }

    fn spawn(&mut self) -> Result<()> {
        let log = append_log(&self.spec.log)?;
        self.log_offset = log
            .metadata()
            .map_err(Error::io(format!(
                "cannot stat {}",
                self.spec.log.display()
            )))?
            .len();
        let mut cmd = command(&self.spec.program);
        cmd.args(&self.spec.args)
            .current_dir(&self.spec.dir)
            .env_clear();
        for key in ["PATH", "HOME"] {
            if let Some(value) = std::env::var_os(key) {
                cmd.env(key, value);
            }
        }
        let child = cmd
            .envs(self.spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(Error::io(format!(
                "cannot start {} ({})",
                self.spec.name,
                self.spec.program.display()
            )))?;
        self.child = Some(child);
        Ok(())
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process's CPU time and memory, from `/proc`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ProcStats {
    /// User plus system CPU time so far, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size now (`VmRSS`).
    pub rss_bytes: u64,
    /// Peak resident set size (`VmHWM`).
    pub peak_rss_bytes: u64,
}

/// Reads `/proc/<pid>/stat` (utime + stime) and `/proc/<pid>/status` (VmRSS, VmHWM).
pub fn proc_stats(pid: u32) -> Result<ProcStats> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(Error::io(format!("cannot read /proc/{pid}/stat")))?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(Error::io(format!("cannot read /proc/{pid}/status")))?;
    let ticks = parse_cpu_ticks(&stat)
        .ok_or_else(|| Error::Parse(format!("unexpected /proc/{pid}/stat: {stat}")))?;
    let kib = |key: &str| {
        parse_status_kib(&status, key)
            .ok_or_else(|| Error::Parse(format!("no {key} in /proc/{pid}/status")))
    };
    Ok(ProcStats {
        cpu_seconds: ticks as f64 / clock_ticks_per_second(),
        rss_bytes: kib("VmRSS")? * 1024,
        peak_rss_bytes: kib("VmHWM")? * 1024,
    })
}

/// utime + stime, in clock ticks. The command name (field 2) may hold spaces and
/// parentheses, so fields are counted from the last `)`: state is field 3, utime 14, stime 15.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

/// A `Key:   123 kB` line of `/proc/<pid>/status`, in KiB.
fn parse_status_kib(status: &str, key: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let value = line.strip_prefix(key)?.strip_prefix(':')?;
        value.split_whitespace().next()?.parse().ok()
    })
}

/// `getconf CLK_TCK`, or 100 (Linux's value nearly everywhere) when it cannot be asked.
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<f64>().ok())
            .filter(|t| *t > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_utime_plus_stime_even_with_odd_command_names() {
        let stat = "4242 (gdt (worker) x) S 1 4242 4242 0 -1 4194560 2000 0 0 0 \
                    150 25 0 0 20 0 12 0 100 1000000 500 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(175));
        assert_eq!(parse_cpu_ticks("garbage"), None);
    }

    #[test]
    fn status_values_are_read_in_kib() {
        let status = "Name:\tgdt\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(51200));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(40960));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[test]
    fn metrics_are_scraped_only_where_the_worker_serves_them() {
        let spec = |env: &[(&str, &str)]| WorkerSpec {
            name: "gdt worker".into(),
            program: PathBuf::from("gdt"),
            args: Vec::new(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            dir: PathBuf::from("."),
            log: PathBuf::from("worker.log"),
            ready_marker: "worker started".into(),
        };
        let metered = spec(&[("GDT_APP_METRICS_PORT", "9191")]);
        assert_eq!(
            metered.metrics_url().as_deref(),
            Some("http://127.0.0.1:9191/metrics")
        );
        assert_eq!(metered.without_metrics().metrics_url(), None);
        assert_eq!(spec(&[]).metrics_url(), None);
    }

    #[test]
    fn own_process_stats_are_readable() {
        let stats = proc_stats(std::process::id()).expect("own /proc stats");
        assert!(stats.rss_bytes > 0 && stats.peak_rss_bytes >= stats.rss_bytes);
    }
}
