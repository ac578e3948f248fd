//! `gdt-bench run`: the benchmark's scenarios and its report.
//!
//! One Temporal dev server and one sandbox serve the whole run; each scenario gets a fresh
//! worker process on a task queue of its own, so its CPU time and peak memory are its own.
//! The scenarios run one after another, ceiling first: Temporal's store only grows during a
//! run, so the tracker, measured second, is measured on the fuller store. While a tracker load
//! runs, the worker's `/metrics` is scraped as Prometheus would ([`scrape`]); the unmetered
//! scenario, right after the deployments one, runs the same load against a worker with
//! metrics off, so the two CPU figures of one run say what metrics cost. The readable table
//! of the report is in [`table`].

mod scrape;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gdt_tracker::lanes::LaneKey;
use serde::Serialize;
use temporalio_client::Client;

use crate::board::{BoardResult, BoardSpec};
use crate::cli::{RunArgs, Scenario};
use crate::error::{Error, Result};
use crate::front::{ApiResult, Front, WebhooksResult};
use crate::github::GitHub;
use crate::history::{self, DeploymentHistory};
use crate::journal::{self, EntryExt as _, RequestCounts, RequestsPerDeployment};
use crate::load::{Driver, LoadSpec, Outcome, Progress, Trace};
use crate::processes::{proc_stats, DevServer, ProcStats, Slots, Tools, WorkerProcess, WorkerSpec};
use crate::report::{mib, prepare_dirs, round, write_json, Machine, Percentiles};

pub use scrape::MetricsScrapes;

/// The report of `gdt-bench run` (`target/bench/report.json`). Headline figures first;
/// `null` when the scenario that measures them was not run.
#[derive(Debug, Serialize)]
pub struct BenchReport {
    /// Tracker deployments completed per second (first start → last result).
    pub deployments_per_second: Option<f64>,
    /// The same for the ceiling (the same workflow with no-op activities).
    pub ceiling_deployments_per_second: Option<f64>,
    /// `deployments_per_second / ceiling_deployments_per_second`.
    pub throughput_ratio: Option<f64>,
    /// GitHub requests per tracker deployment, by endpoint, from the sandbox journal.
    pub github_requests_per_deployment: Option<RequestsPerDeployment>,
    /// Signal sent → its status arrived at GitHub.
    pub signal_to_github_ms: Option<Percentiles>,
    /// The same, from when the workflow was free to post it (see `journal::SignalLatencies`).
    pub signal_to_github_unqueued_ms: Option<Percentiles>,
    /// Start call → workflow result, per tracker deployment.
    pub end_to_end_ms: Option<Percentiles>,
    /// `gdt worker` CPU seconds (user + system) per 1,000 deployments.
    pub worker_cpu_seconds_per_1000: Option<f64>,
    /// The Temporal server's CPU seconds per 1,000 tracker deployments.
    pub temporal_cpu_seconds_per_1000: Option<f64>,
    /// The same for the ceiling.
    pub ceiling_temporal_cpu_seconds_per_1000: Option<f64>,
    /// History events per tracker deployment (its own workflow), from a sample.
    pub history_events_per_deployment: Option<f64>,
    /// The same for the ceiling.
    pub ceiling_history_events_per_deployment: Option<f64>,
    /// Events of the lane each tracker deployment joined (one lane per deployment here).
    pub lane_history_events_per_deployment: Option<f64>,
    /// `gdt worker` peak RSS (VmHWM) during the deployments scenario.
    pub worker_peak_rss_bytes: Option<u64>,
    /// `worker_cpu_seconds_per_1000` of the unmetered scenario: the same load, metrics off.
    pub unmetered_worker_cpu_seconds_per_1000: Option<f64>,
    /// `worker_cpu_seconds_per_1000 / unmetered_worker_cpu_seconds_per_1000`: what serving
    /// and being scraped for metrics costs the worker (1.0: nothing).
    pub metrics_cpu_ratio: Option<f64>,
    /// 2xx answers per second to `POST /api/v1/deployments` (each starts a deployment).
    pub api_requests_per_second: Option<f64>,
    /// Their response times (the workflow start and the wait for the deployment id included).
    pub api_response_ms: Option<Percentiles>,
    /// 2xx answers per second to signed `pull_request` deliveries (each starts two checks).
    pub webhook_requests_per_second: Option<f64>,
    /// Their response times (signature, decoding and both workflow starts included).
    pub webhook_response_ms: Option<Percentiles>,
    /// The board's worst 99th-percentile response time (ms) with the pages open.
    pub board_p99_ms: Option<f64>,
    /// The same under the stress phase (the upper bound).
    pub board_stress_p99_ms: Option<f64>,
    /// What open board pages add to the Temporal server's CPU, over what the deployments
    /// themselves cost it (`board.verdict.looking_over_deployments`).
    pub board_temporal_cpu_ratio: Option<f64>,
    /// `idle_rss_bytes_<N>`: worker RSS with N deployments open and waiting.
    #[serde(flatten)]
    pub idle_rss: BTreeMap<String, u64>,
    /// Everything measured, per scenario.
    pub scenarios: Scenarios,
    /// What was asked for.
    pub parameters: Parameters,
    /// Where it was measured.
    pub machine: Machine,
    /// The whole run, set-up included.
    pub wall_seconds: f64,
    /// When the report was written (RFC 3339).
    pub generated_at: String,
}

/// Per-scenario details.
#[derive(Debug, Default, Serialize)]
pub struct Scenarios {
    /// The tracker under load.
    pub deployments: Option<LoadResult>,
    /// The same with the worker's metrics off.
    pub unmetered: Option<LoadResult>,
    /// The same workflow with no-op activities under the same load.
    pub ceiling: Option<LoadResult>,
    /// Deployments through the API.
    pub api: Option<ApiResult>,
    /// Webhooks.
    pub webhooks: Option<WebhooksResult>,
    /// Idle memory.
    pub idle: Option<IdleResult>,
    /// The deployments board's reader API and what it costs Temporal.
    pub board: Option<BoardResult>,
}

/// The parameters of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Parameters {
    /// Deployments per load scenario.
    pub deployments: usize,
    /// Updates per deployment after the start.
    pub updates: usize,
    /// Deployments in flight at once.
    pub concurrency: usize,
    /// Pause before each update.
    pub update_gap_ms: u64,
    /// Deployments started through the API.
    pub api_requests: usize,
    /// Pull requests delivered as webhooks.
    pub webhooks: usize,
    /// Idle sizes.
    pub idle: Vec<usize>,
    /// The scenarios run.
    pub scenarios: Vec<String>,
    /// `memory`, or the SQLite file.
    pub temporal_store: String,
    /// Worker task slots.
    pub worker_slots: Slots,
    /// The initial status and the updates' words.
    pub statuses: Vec<&'static str>,
}

/// One load against one worker.
#[derive(Debug, Serialize)]
pub struct LoadResult {
    /// The workflow type.
    pub workflow: &'static str,
    /// Its task queue.
    pub task_queue: String,
    /// Deployments driven.
    pub deployments: usize,
    /// Deployments whose workflow completed in `success`.
    pub completed: usize,
    /// Up to 20 deployments that did not, and why.
    pub problems: Vec<String>,
    /// First start → last result.
    pub wall_seconds: f64,
    /// `completed / wall_seconds`.
    pub deployments_per_second: f64,
    /// Start call → result.
    pub end_to_end_ms: Option<Percentiles>,
    /// The worker process.
    pub worker: WorkerUsage,
    /// CPU seconds the Temporal dev server used meanwhile.
    pub temporal_server_cpu_seconds: Option<f64>,
    /// CPU seconds this harness used meanwhile (the driver and the in-process sandbox).
    pub harness_cpu_seconds: Option<f64>,
    /// What reached GitHub (the tracker only).
    pub github: Option<GitHubCost>,
    /// Temporal calls the driver retried (none expected).
    pub driver_retries: usize,
    /// The scrapes of the worker's `/metrics` over the load; `None` when it serves none
    /// (metrics off, or the ceiling worker).
    pub metrics: Option<MetricsScrapes>,
    /// History events per deployment (and per lane) by type, read back from a sample of the
    /// workflows that completed.
    pub history: Option<DeploymentHistory>,
}

/// CPU and memory of a worker over a load.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct WorkerUsage {
    /// User + system CPU seconds over the load.
    pub cpu_seconds: f64,
    /// The same per 1,000 deployments.
    pub cpu_seconds_per_1000: f64,
    /// VmHWM at the end (the process started just before the load).
    pub peak_rss_bytes: u64,
    /// VmRSS at the end.
    pub rss_bytes_at_end: u64,
}

/// The tracker's GitHub traffic over a load.
#[derive(Debug, Serialize)]
pub struct GitHubCost {
    /// Requests by endpoint.
    pub requests: RequestCounts,
    /// The same per deployment.
    pub per_deployment: RequestsPerDeployment,
    /// Signal → status at GitHub.
    pub signal_to_github_ms: Option<Percentiles>,
    /// The same from when the workflow was free to post.
    pub signal_to_github_unqueued_ms: Option<Percentiles>,
    /// Signals whose status post was not found.
    pub unmatched_signals: usize,
}

/// Worker memory with deployments open and waiting for updates.
#[derive(Debug, Serialize)]
pub struct IdleResult {
    /// Its task queue.
    pub task_queue: String,
    /// VmRSS of the fresh worker before any deployment.
    pub baseline_rss_bytes: u64,
    /// One point per size.
    pub points: Vec<IdlePoint>,
    /// Why RSS levels off: the SDK keeps at most this many workflows in its sticky cache
    /// (`max_cached_workflows`, which `gdt worker` leaves at the SDK default); the others
    /// live only in Temporal and are replayed when an update arrives.
    pub sdk_max_cached_workflows: usize,
}

/// Worker memory at one number of open deployments.
#[derive(Debug, Serialize)]
pub struct IdlePoint {
    /// Deployments open.
    pub open: usize,
    /// Of those, how many had posted their initial status (and so were waiting) when
    /// memory was read.
    pub waiting: usize,
    /// VmRSS once the worker had gone quiet.
    pub rss_bytes: u64,
    /// VmHWM so far.
    pub peak_rss_bytes: u64,
    /// Seconds from the first start of this step to all of them waiting.
    pub seconds_to_open: f64,
    /// Worker CPU seconds so far.
    pub worker_cpu_seconds: f64,
}

/// Which worker serves a load scenario's task queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// `gdt worker`: the tracker, posting to GitHub, serving metrics.
    Tracker,
    /// The same with metrics off (`GDT_APP_METRICS_ENABLED=false`).
    Unmetered,
    /// `gdt-bench ceiling-worker`: the same workflow with activities that do nothing.
    Ceiling,
}

/// What every scenario shares.
struct Bench<'a> {
    tools: &'a Tools,
    github: GitHub,
    server: DevServer,
    client: Client,
    /// Scrapes the workers' `/metrics`.
    http: reqwest::Client,
    run_id: String,
    logs: PathBuf,
    work: PathBuf,
    slots: Slots,
}

/// The SDK's default `max_cached_workflows` (temporalio-sdk 1.1).
const SDK_MAX_CACHED_WORKFLOWS: usize = 1000;

/// Runs the benchmark and writes its report.
pub async fn run(args: &RunArgs, tools: &Tools) -> Result<BenchReport> {
    let began = Instant::now();
    let bench = Bench::start(tools, args).await?;
    let updates = usize::from(args.updates);
    let load = |name: &str| LoadSpec {
        name: format!("{}-{name}", bench.run_id),
        phase: name.to_owned(),
        first: 0,
        count: args.deployments,
        updates,
        concurrency: args.concurrency,
        update_gap_ms: (args.update_gap_ms, args.update_gap_ms),
        start_spread: Duration::ZERO,
        wait_for_result: true,
        inactivity_timeout: Duration::from_secs(1800),
        execution_timeout: Duration::from_secs(2 * 3600),
        give_up_after: Duration::from_secs(120),
        lane_size: 1,
    };

    let mut scenarios = Scenarios::default();
    if args.scenarios.contains(&Scenario::Ceiling) {
        eprintln!(
            "ceiling: {} deployments of GitHubDeploymentWorkflow with no-op activities",
            args.deployments
        );
        scenarios.ceiling = Some(bench.load(&load("ceiling"), Target::Ceiling).await?);
    }
    if args.scenarios.contains(&Scenario::Deployments) {
        eprintln!(
            "deployments: {} deployments of GitHubDeploymentWorkflow",
            args.deployments
        );
        scenarios.deployments = Some(bench.load(&load("deployments"), Target::Tracker).await?);
    }
    if args.scenarios.contains(&Scenario::Unmetered) {
        eprintln!(
            "unmetered: {} deployments of GitHubDeploymentWorkflow, worker metrics off",
            args.deployments
        );
        scenarios.unmetered = Some(bench.load(&load("unmetered"), Target::Unmetered).await?);
    }
    if args.scenarios.contains(&Scenario::Api) {
        eprintln!(
            "api: {} deployments started through gdt serve",
            args.api_requests
        );
        let name = format!("{}-api", bench.run_id);
        scenarios.api = Some(
            bench
                .front()
                .api(&name, args.api_requests, args.concurrency)
                .await?,
        );
    }
    if args.scenarios.contains(&Scenario::Webhooks) {
        eprintln!(
            "webhooks: {} signed pull_request deliveries into gdt serve",
            args.webhooks
        );
        let name = format!("{}-webhooks", bench.run_id);
        scenarios.webhooks = Some(
            bench
                .front()
                .webhooks(&name, args.webhooks, args.concurrency)
                .await?,
        );
    }
    // Before idle, whose open deployments would stay in Temporal's store meanwhile.
    if args.scenarios.contains(&Scenario::Board) {
        let spec = BoardSpec {
            deployments: args.board_deployments,
            repos: usize::from(args.board_repos),
            browsers: args.board_browsers,
            idle: Duration::from_secs(args.board_idle_secs),
            browse: Duration::from_secs(args.board_browse_secs),
            stress: Duration::from_secs(args.board_stress_secs),
            status_every: Duration::from_secs(args.board_status_every_secs.max(1)),
        };
        eprintln!(
            "board: {} deployments over {} repositories, then {} pages on gdt serve's board",
            spec.deployments, spec.repos, spec.browsers
        );
        let pid = bench
            .server
            .pid()
            .ok_or_else(|| Error::Usage("the Temporal dev server is not running".to_owned()))?;
        let name = format!("{}-board", bench.run_id);
        scenarios.board = Some(crate::board::run(&bench.front(), &name, spec, pid).await?);
    }
    if args.scenarios.contains(&Scenario::Idle) && !args.idle.0.is_empty() {
        eprintln!("idle: worker memory at {:?} open deployments", args.idle.0);
        scenarios.idle = Some(bench.idle(&args.idle.0, args.concurrency).await?);
    }
    let mut statuses = vec![crate::load::INITIAL_STATUS];
    statuses.extend(crate::load::update_words(updates));
    let parameters = Parameters {
        deployments: args.deployments,
        updates,
        concurrency: args.concurrency,
        update_gap_ms: args.update_gap_ms,
        api_requests: args.api_requests,
        webhooks: args.webhooks,
        idle: args.idle.0.clone(),
        scenarios: args
            .scenarios
            .iter()
            .map(|s| format!("{s:?}").to_lowercase())
            .collect(),
        temporal_store: args
            .sqlite
            .as_ref()
            .map_or("memory".to_owned(), |p| p.display().to_string()),
        worker_slots: bench.slots,
        statuses,
    };
    drop(bench);
    let report = BenchReport::assemble(scenarios, parameters, Machine::describe(tools), began);
    write_json(&args.out, &report)?;
    Ok(report)
}

impl<'a> Bench<'a> {
    async fn start(tools: &'a Tools, args: &RunArgs) -> Result<Bench<'a>> {
        let (logs, work) = prepare_dirs(&args.out)?;
        let github = GitHub::start(&work).await?;
        eprintln!("GitHub sandbox on {}", github.url());
        let server = DevServer::start(
            &tools.temporal_cli,
            args.sqlite.as_deref(),
            logs.join("temporal.log"),
        )
        .await?;
        eprintln!("Temporal dev server on {}", server.address());
        let client = crate::temporal::connect(&server.address(), Duration::from_secs(60)).await?;
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Usage(format!("cannot build an HTTP client: {e}")))?;
        Ok(Bench {
            tools,
            github,
            server,
            client,
            http,
            run_id: run_id(),
            logs,
            work,
            slots: Slots {
                workflow: args.tools.max_concurrent_workflow,
                activity: args.tools.max_concurrent_activity,
            },
        })
    }

    fn front(&self) -> Front<'_> {
        Front {
            tools: self.tools,
            github: &self.github,
            temporal: self.server.address(),
            client: self.client.clone(),
            slots: self.slots,
            logs: &self.logs,
            work: &self.work,
        }
    }

    fn worker(&self, target: Target, task_queue: &str) -> Result<WorkerProcess> {
        let log = self.logs.join(format!("{task_queue}.log"));
        let spec = match target {
            Target::Tracker | Target::Unmetered => {
                let spec = WorkerSpec::gdt_worker(
                    self.tools,
                    &self.server.address(),
                    task_queue,
                    self.github.worker_env(),
                    self.slots,
                    &self.work,
                    log,
                )?;
                if target == Target::Unmetered {
                    spec.without_metrics()
                } else {
                    spec
                }
            }
            Target::Ceiling => WorkerSpec::ceiling_worker(
                self.tools,
                &self.server.address(),
                task_queue,
                self.slots,
                &self.work,
                log,
            ),
        };
        WorkerProcess::start(spec)
    }

    /// One load scenario: a fresh worker, the load (its `/metrics` scraped meanwhile when it
    /// serves them), the worker's and Temporal's CPU over it, and (for the tracker) what
    /// reached GitHub.
    async fn load(&self, spec: &LoadSpec, target: Target) -> Result<LoadResult> {
        let task_queue = format!("gdt-bench-{}", spec.name);
        let mut worker = self.worker(target, &task_queue)?;
        worker.wait_ready(Duration::from_secs(60)).await?;
        let mark = self.github.journal_len();
        let worker_before = worker.stats()?;
        let server_before = self.server.pid().and_then(|p| proc_stats(p).ok());
        let harness_before = proc_stats(std::process::id()).ok();
        let progress = Arc::new(Progress::default());
        let printer = progress.print_every(spec.phase.clone(), spec.count, Duration::from_secs(10));
        let began = Instant::now();
        let scraper = worker
            .metrics_url()
            .map(|url| scrape::Scraper::start(self.http.clone(), url));
        let traces = Driver::new(self.client.clone(), &task_queue)
            .run(spec, &progress)
            .await;
        let wall = began.elapsed().as_secs_f64();
        drop(printer);
        // The closing scrape comes before the worker's CPU is read, so it is counted in it.
        let metrics = match scraper {
            Some(scraper) => Some(scraper.finish().await),
            None => None,
        };
        let worker_after = worker.stats()?;
        let server_after = self.server.pid().and_then(|p| proc_stats(p).ok());
        let harness_after = proc_stats(std::process::id()).ok();
        worker.kill();

        let completed = traces.iter().filter(|t| succeeded(t)).count();
        let problems: Vec<String> = traces
            .iter()
            .filter(|t| !succeeded(t))
            .take(20)
            .map(describe_problem)
            .collect();
        let e2e: Vec<f64> = traces
            .iter()
            .filter(|t| succeeded(t))
            .filter_map(Trace::end_to_end)
            .map(|d| d.num_microseconds().unwrap_or(i64::MAX) as f64 / 1000.0)
            .collect();
        let github = match target {
            Target::Tracker | Target::Unmetered => {
                let entries = self.github.journal_since(mark).await?;
                let posts = journal::status_posts(&entries)?;
                let latencies = journal::signal_latencies(&traces, &posts);
                let requests = RequestCounts::of(&entries);
                Some(GitHubCost {
                    requests,
                    per_deployment: requests.per(spec.count),
                    signal_to_github_ms: Percentiles::of(&latencies.raw_ms),
                    signal_to_github_unqueued_ms: Percentiles::of(&latencies.unqueued_ms),
                    unmatched_signals: latencies.unmatched,
                })
            }
            Target::Ceiling => None,
        };
        let completed_ids: Vec<String> = traces
            .iter()
            .filter(|t| succeeded(t))
            .map(|t| t.workflow_id.clone())
            .collect();
        let lanes: HashMap<&str, LaneKey> = traces
            .iter()
            .map(|t| (t.workflow_id.as_str(), t.lane_key()))
            .collect();
        let history = history::sample(
            &self.client,
            &completed_ids,
            |id| lanes.get(id).cloned(),
            &task_queue,
        )
        .await?;
        let cpu = worker_after.cpu_seconds - worker_before.cpu_seconds;
        let diff = |a: Option<ProcStats>, b: Option<ProcStats>| {
            Some(round(b?.cpu_seconds - a?.cpu_seconds))
        };
        Ok(LoadResult {
            workflow: gdt_tracker::deployments::WORKFLOW_TYPE,
            task_queue,
            deployments: spec.count,
            completed,
            problems,
            wall_seconds: round(wall),
            deployments_per_second: round(completed as f64 / wall.max(1e-9)),
            end_to_end_ms: Percentiles::of(&e2e),
            worker: WorkerUsage {
                cpu_seconds: round(cpu),
                cpu_seconds_per_1000: round(cpu / spec.count.max(1) as f64 * 1000.0),
                peak_rss_bytes: worker_after.peak_rss_bytes,
                rss_bytes_at_end: worker_after.rss_bytes,
            },
            temporal_server_cpu_seconds: diff(server_before, server_after),
            harness_cpu_seconds: diff(harness_before, harness_after),
            github,
            driver_retries: progress.retries.load(std::sync::atomic::Ordering::Relaxed),
            metrics,
            history,
        })
    }

    /// Idle memory: a fresh `gdt worker`, then deployments opened in steps up to each size,
    /// each posting its initial status and then waiting (a 1 h inactivity timeout) for
    /// updates that never come. Memory is read once every one is waiting and the worker has
    /// gone quiet.
    async fn idle(&self, sizes: &[usize], concurrency: usize) -> Result<IdleResult> {
        let name = format!("{}-idle", self.run_id);
        let task_queue = format!("gdt-bench-{name}");
        let mut worker = self.worker(Target::Tracker, &task_queue)?;
        worker.wait_ready(Duration::from_secs(60)).await?;
        let baseline = quiet_stats(&worker).await?;
        let driver = Driver::new(self.client.clone(), &task_queue);
        let mut cursor = self.github.journal_len();
        let mut waiting = 0usize;
        let mut open = 0usize;
        let mut points = Vec::new();
        for &size in sizes {
            let began = Instant::now();
            let spec = LoadSpec {
                name: name.clone(),
                phase: format!("idle-{size}"),
                first: open,
                count: size - open,
                updates: 0,
                concurrency,
                update_gap_ms: (0, 0),
                start_spread: Duration::ZERO,
                wait_for_result: false,
                inactivity_timeout: Duration::from_secs(3600),
                // They close by themselves (posting nothing) if a SQLite store outlives the run.
                execution_timeout: Duration::from_secs(3600),
                give_up_after: Duration::from_secs(120),
                lane_size: 1,
            };
            let progress = Arc::new(Progress::default());
            let printer =
                progress.print_every(spec.phase.clone(), spec.count, Duration::from_secs(10));
            let traces = driver.run(&spec, &progress).await;
            drop(printer);
            if let Some(failed) = traces.iter().find(|t| t.start_error.is_some()) {
                return Err(Error::Temporal(format!(
                    "idle deployment {} did not start: {}",
                    failed.workflow_id,
                    failed.start_error.as_deref().unwrap_or_default()
                )));
            }
            open = size;
            // Waiting means the initial status is on GitHub: follow the journal until every
            // open deployment has one, or progress stops for a minute.
            let mut last_progress = Instant::now();
            while waiting < open && last_progress.elapsed() < Duration::from_secs(60) {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let entries = self.github.journal_since(cursor).await?;
                cursor += entries.len();
                let posted = entries
                    .iter()
                    .filter(|e| e.endpoint() == journal::Endpoint::CreateStatus && e.succeeded())
                    .count();
                if posted > 0 {
                    last_progress = Instant::now();
                }
                waiting += posted;
                if !worker.is_running() {
                    return Err(Error::Process {
                        what: "gdt worker exited during the idle scenario".into(),
                        log: worker.log().to_owned(),
                    });
                }
            }
            let seconds_to_open = round(began.elapsed().as_secs_f64());
            let stats = quiet_stats(&worker).await?;
            eprintln!(
                "  idle: {open} open, {waiting} waiting, worker RSS {}",
                mib(stats.rss_bytes)
            );
            points.push(IdlePoint {
                open,
                waiting,
                rss_bytes: stats.rss_bytes,
                peak_rss_bytes: stats.peak_rss_bytes,
                seconds_to_open,
                worker_cpu_seconds: round(stats.cpu_seconds),
            });
        }
        worker.kill();
        Ok(IdleResult {
            task_queue,
            baseline_rss_bytes: baseline.rss_bytes,
            points,
            sdk_max_cached_workflows: SDK_MAX_CACHED_WORKFLOWS,
        })
    }
}

/// The worker's stats once it has gone quiet: less than 2% of a core over a second, or
/// after 30 s whatever it is doing.
async fn quiet_stats(worker: &WorkerProcess) -> Result<ProcStats> {
    let began = Instant::now();
    let mut before = worker.stats()?;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = worker.stats()?;
        if now.cpu_seconds - before.cpu_seconds < 0.02 || began.elapsed() > Duration::from_secs(30)
        {
            return Ok(now);
        }
        before = now;
    }
}

fn succeeded(trace: &Trace) -> bool {
    matches!(&trace.outcome, Outcome::Completed(r) if r.final_status == "success")
}

fn describe_problem(trace: &Trace) -> String {
    let what = match &trace.outcome {
        Outcome::Completed(r) => format!("completed in state {}", r.final_status),
        Outcome::Closed(why) => why.clone(),
        Outcome::NotWaited => "not waited for".to_owned(),
        Outcome::Unknown(why) => why.clone(),
    };
    let undelivered = trace
        .updates
        .iter()
        .filter_map(|u| u.error.as_deref())
        .next()
        .map(|e| format!("; an update was not delivered: {e}"))
        .unwrap_or_default();
    format!("{}: {what}{undelivered}", trace.workflow_id)
}

/// A short id that keeps this run's workflow ids apart from an earlier run's in a reused
/// SQLite store.
pub(crate) fn run_id() -> String {
    format!(
        "{}{:04x}",
        chrono::Utc::now().format("%m%d%H%M%S"),
        rand::random::<u16>()
    )
}

impl LoadResult {
    /// The Temporal server's CPU seconds per 1,000 deployments of this load.
    fn temporal_cpu_per_1000(&self) -> Option<f64> {
        let cpu = self.temporal_server_cpu_seconds?;
        Some(round(cpu / self.deployments.max(1) as f64 * 1000.0))
    }
}

impl BenchReport {
    fn assemble(
        scenarios: Scenarios,
        parameters: Parameters,
        machine: Machine,
        began: Instant,
    ) -> BenchReport {
        let tracker = scenarios.deployments.as_ref();
        let ceiling = scenarios.ceiling.as_ref();
        let unmetered = scenarios.unmetered.as_ref();
        let github = tracker.and_then(|t| t.github.as_ref());
        let board = scenarios.board.as_ref().map(|b| b.verdict);
        let idle_rss = scenarios
            .idle
            .iter()
            .flat_map(|idle| &idle.points)
            .map(|p| (format!("idle_rss_bytes_{}", p.open), p.rss_bytes))
            .collect();
        BenchReport {
            deployments_per_second: tracker.map(|t| t.deployments_per_second),
            ceiling_deployments_per_second: ceiling.map(|c| c.deployments_per_second),
            throughput_ratio: tracker.zip(ceiling).and_then(|(t, c)| {
                (c.deployments_per_second > 0.0)
                    .then(|| round(t.deployments_per_second / c.deployments_per_second))
            }),
            github_requests_per_deployment: github.map(|g| g.per_deployment),
            signal_to_github_ms: github.and_then(|g| g.signal_to_github_ms),
            signal_to_github_unqueued_ms: github.and_then(|g| g.signal_to_github_unqueued_ms),
            end_to_end_ms: tracker.and_then(|t| t.end_to_end_ms),
            worker_cpu_seconds_per_1000: tracker.map(|t| t.worker.cpu_seconds_per_1000),
            temporal_cpu_seconds_per_1000: tracker.and_then(LoadResult::temporal_cpu_per_1000),
            ceiling_temporal_cpu_seconds_per_1000: ceiling
                .and_then(LoadResult::temporal_cpu_per_1000),
            history_events_per_deployment: tracker
                .and_then(|t| t.history.as_ref())
                .map(|h| h.deployments.per_workflow),
            ceiling_history_events_per_deployment: ceiling
                .and_then(|c| c.history.as_ref())
                .map(|h| h.deployments.per_workflow),
            lane_history_events_per_deployment: tracker
                .and_then(|t| t.history.as_ref())
                .and_then(|h| h.lanes.as_ref())
                .map(|l| l.per_workflow),
            worker_peak_rss_bytes: tracker.map(|t| t.worker.peak_rss_bytes),
            unmetered_worker_cpu_seconds_per_1000: unmetered.map(|u| u.worker.cpu_seconds_per_1000),
            metrics_cpu_ratio: tracker.zip(unmetered).and_then(|(t, u)| {
                (u.worker.cpu_seconds_per_1000 > 0.0)
                    .then(|| round(t.worker.cpu_seconds_per_1000 / u.worker.cpu_seconds_per_1000))
            }),
            api_requests_per_second: scenarios.api.as_ref().map(|a| a.start.requests_per_second),
            api_response_ms: scenarios.api.as_ref().and_then(|a| a.start.response_ms),
            webhook_requests_per_second: scenarios
                .webhooks
                .as_ref()
                .map(|w| w.deliveries.requests_per_second),
            webhook_response_ms: scenarios
                .webhooks
                .as_ref()
                .and_then(|w| w.deliveries.response_ms),
            board_p99_ms: board.and_then(|v| v.board_p99_ms),
            board_stress_p99_ms: board.and_then(|v| v.stress_p99_ms),
            board_temporal_cpu_ratio: board.and_then(|v| v.looking_over_deployments),
            idle_rss,
            scenarios,
            parameters,
            machine,
            wall_seconds: round(began.elapsed().as_secs_f64()),
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}
