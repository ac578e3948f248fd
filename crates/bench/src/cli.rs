//! The command line. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Benchmarks and chaos runs of the GitHub deployment tracker against a real Temporal dev
/// server, the GitHub sandbox and `gdt worker` as its own process.
#[derive(Debug, Parser)]
#[command(name = "gdt-bench", version)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Throughput, latency, GitHub cost, CPU (with worker metrics on and off) and memory
    /// (`make bench`). Writes
    /// target/bench/report.json and prints a table.
    Run(RunArgs),
    /// Load while killing the worker, restarting Temporal and failing GitHub, then an audit
    /// of every workflow against GitHub (`make chaos`). Writes target/chaos/report.json and
    /// exits non-zero on any lost update, duplicate or stuck workflow.
    Chaos(ChaosArgs),
    /// Runs the no-op ceiling workflow's worker (started by `run`; not for direct use).
    #[command(hide = true)]
    CeilingWorker(CeilingWorkerArgs),
}

/// Where the programs are, shared by `run` and `chaos`.
#[derive(Debug, Args)]
pub struct ToolArgs {
    /// The `gdt` binary (default: next to gdt-bench).
    #[arg(long)]
    pub gdt: Option<PathBuf>,
    /// The `temporal` CLI (default: $GDT_TEMPORAL_CLI, else .venv/bin/temporal).
    #[arg(long)]
    pub temporal_cli: Option<PathBuf>,
    /// Workflow task slots of the workers (`gdt worker`'s default).
    #[arg(long, default_value_t = 10)]
    pub max_concurrent_workflow: usize,
    /// Activity task slots of the workers (`gdt worker`'s default).
    #[arg(long, default_value_t = 20)]
    pub max_concurrent_activity: usize,
}

/// A scenario of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Scenario {
    /// The tracker: `--deployments` deployments through `gdt worker`, its `/metrics` scraped
    /// every 15 s meanwhile, as Prometheus would.
    Deployments,
    /// The same load with the worker's metrics off (`GDT_APP_METRICS_ENABLED=false`), so the
    /// report can say what metrics cost the worker's CPU.
    Unmetered,
    /// The same load against a workflow whose activities do nothing.
    Ceiling,
    /// Deployments started (and finished) through `gdt serve`'s API.
    Api,
    /// Signed `pull_request` webhooks into `gdt serve`, each starting both checks (a first, a
    /// second and a third push of each pull request).
    Webhooks,
    /// Worker memory with `--idle` deployments open and waiting.
    Idle,
    /// The deployments board: `--board-deployments` deployments over `--board-repos`
    /// repositories, then `gdt serve`'s board reader API with `--board-browsers` pages open
    /// on it and under closed-loop load: response times, and the Temporal server's CPU while
    /// nobody looks and while the pages are open, against what the deployments cost it.
    Board,
}

/// `gdt-bench run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Deployments in the deployments, unmetered and ceiling scenarios.
    #[arg(long, default_value_t = 1000)]
    pub deployments: usize,
    /// Status updates per deployment after the start (the last is `success`).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub updates: u16,
    /// Deployments in flight at once.
    #[arg(long, default_value_t = 50)]
    pub concurrency: usize,
    /// Pause before each update, in milliseconds (0: a pipeline that reports at once).
    #[arg(long, default_value_t = 0)]
    pub update_gap_ms: u64,
    /// Deployments started through the API in the api scenario.
    #[arg(long, default_value_t = 500)]
    pub api_requests: usize,
    /// Pull requests in the webhooks scenario: a signed `opened` delivery each, then a second
    /// head pushed and its `synchronize` delivery.
    #[arg(long, default_value_t = 300)]
    pub webhooks: usize,
    /// Open deployments at which idle worker memory is measured, ascending; `none` skips.
    #[arg(long, default_value = "1000,10000", value_parser = parse_sizes)]
    pub idle: Sizes,
    /// Deployments in the board scenario (standing for this many in 30 days).
    #[arg(long, default_value_t = 10_000)]
    pub board_deployments: usize,
    /// Repositories they go to (one to three services each).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u16).range(1..))]
    pub board_repos: u16,
    /// Pages open on the board (and clients in its stress phase).
    #[arg(long, default_value_t = 20)]
    pub board_browsers: usize,
    /// Seconds of the board scenario's idle phase (nobody looks).
    #[arg(long, default_value_t = 60)]
    pub board_idle_secs: u64,
    /// Seconds of the board scenario's board phase (the pages open).
    #[arg(long, default_value_t = 120)]
    pub board_browse_secs: u64,
    /// Seconds of the board scenario's stress phase (the lanes asked for without ETag, each
    /// client again as soon as answered).
    #[arg(long, default_value_t = 20)]
    pub board_stress_secs: u64,
    /// Seconds between deployment statuses arriving during the idle and board phases.
    #[arg(long, default_value_t = 3)]
    pub board_status_every_secs: u64,
    /// Scenarios to run (default: all but board, which takes about 11 minutes on its own).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ceiling,deployments,unmetered,api,webhooks,idle"
    )]
    pub scenarios: Vec<Scenario>,
    /// Keep Temporal's state in this SQLite file instead of memory.
    #[arg(long)]
    pub sqlite: Option<PathBuf>,
    /// Where to write the report.
    #[arg(long, default_value = "target/bench/report.json")]
    pub out: PathBuf,
    /// Where the programs are.
    #[command(flatten)]
    pub tools: ToolArgs,
}

/// A fault of `chaos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Fault {
    /// `gdt worker` SIGKILLed every `--kill-every-secs` and started again.
    WorkerKill,
    /// The Temporal dev server (on SQLite) stopped and started again on the same port and
    /// file, while the worker keeps running and must reconnect by itself.
    TemporalRestart,
    /// The sandbox answering `--error-rate` of requests with 5xx, rate limits now and then,
    /// and down entirely for `--outage-secs`.
    Github,
    /// Three deployments per lane (one repository, environment and service; two services per
    /// repository), each started while the one before still runs, so the newest supersedes
    /// the others; two workers, one SIGKILLed every `--kill-every-secs`, and `--error-rate`
    /// of GitHub requests failing.
    Supersede,
}

/// `gdt-bench chaos`.
#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Deployments in all, split evenly over the phases [default: 1000; 30 with --small].
    #[arg(long)]
    pub deployments: Option<usize>,
    /// Status updates per deployment after the start (the last is `success`).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub updates: u16,
    /// Deployments in flight at once [default: 50; 10 with --small].
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Faults to inject (default: all).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "worker-kill,temporal-restart,github,supersede"
    )]
    pub faults: Vec<Fault>,
    /// Inject every fault at once in one phase, instead of one phase per fault.
    #[arg(long)]
    pub together: bool,
    /// Seconds over which each phase's deployments start, evenly
    /// [default: the larger of 90 and a quarter of the phase's deployments; 20 with --small].
    #[arg(long)]
    pub phase_secs: Option<u64>,
    /// Seconds between worker kills [default: 5; 3 with --small].
    #[arg(long)]
    pub kill_every_secs: Option<u64>,
    /// Seconds Temporal stays down when restarted [default: 10; 3 with --small].
    #[arg(long)]
    pub temporal_down_secs: Option<u64>,
    /// Seconds GitHub is down entirely [default: 30; 10 with --small].
    #[arg(long)]
    pub outage_secs: Option<u64>,
    /// Share of GitHub requests answered with a 5xx during the GitHub fault.
    #[arg(long, default_value_t = 0.10)]
    pub error_rate: f64,
    /// A workflow not finished this many seconds after its last update is stuck
    /// [default: 300; 180 with --small].
    #[arg(long)]
    pub stuck_after_secs: Option<u64>,
    /// A quick run for `make test`: 30 deployments, short outages.
    #[arg(long)]
    pub small: bool,
    /// The SQLite file Temporal keeps its state in (recreated).
    #[arg(long, default_value = "target/chaos/temporal.db")]
    pub db: PathBuf,
    /// Where to write the report.
    #[arg(long, default_value = "target/chaos/report.json")]
    pub out: PathBuf,
    /// Where the programs are.
    #[command(flatten)]
    pub tools: ToolArgs,
}

/// `gdt-bench ceiling-worker`.
#[derive(Debug, Args)]
pub struct CeilingWorkerArgs {
    /// Temporal's host:port.
    #[arg(long)]
    pub temporal: String,
    /// The task queue to poll.
    #[arg(long)]
    pub task_queue: String,
    /// Workflow task slots.
    #[arg(long, default_value_t = 10)]
    pub max_concurrent_workflow: usize,
    /// Activity task slots.
    #[arg(long, default_value_t = 20)]
    pub max_concurrent_activity: usize,
}

/// Ascending sizes, e.g. `1000,10000`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sizes(pub Vec<usize>);

fn parse_sizes(text: &str) -> Result<Sizes, String> {
    if text.eq_ignore_ascii_case("none") || text.is_empty() {
        return Ok(Sizes(Vec::new()));
    }
    let sizes = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<usize>()
                .map_err(|e| format!("{s:?} is not a count: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    if sizes.windows(2).any(|w| w[0] >= w[1]) || sizes.first() == Some(&0) {
        return Err("sizes must be positive and ascending, e.g. 1000,10000".to_owned());
    }
    Ok(Sizes(sizes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_sizes("1000,10000"), Ok(Sizes(vec![1000, 10000])));
        assert_eq!(parse_sizes("none"), Ok(Sizes(vec![])));
        assert!(parse_sizes("10000,1000").is_err());
        assert!(parse_sizes("0").is_err());
        assert!(parse_sizes("x").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
