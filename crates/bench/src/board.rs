//! The `board` scenario of `gdt-bench run`: the deployments board's reader API with a month
//! of deployments behind it and pages open on it, and what it costs Temporal.
//!
//! 1. **Setup.** `--board-deployments` deployments over `--board-repos` repositories
//!    ([`plan`]) are started through [`DeploymentService::start`] (so their search attributes
//!    and memo are what real starts set), 50 in flight, on a task queue of their own run by
//!    the ceiling worker (the real workflow, no-op activities). A deployment started
//!    `success` or `failure` completes at once; the last few start `in_progress` and stay
//!    open. The Temporal server's CPU over the setup, per deployment, prices a deployment.
//! 2. **`gdt serve`** for that task queue, with the board's default settings, warmed by
//!    `GET /api/v1/environments` (the first one reads the whole window: the cold read) until
//!    the lanes stop changing.
//! 3. **Phases**, each measuring the Temporal server's CPU and `gdt serve`'s CPU and memory:
//!    `idle` (nobody looks), `board` (`--board-browsers` pages, each its own client: the lanes
//!    every 5 s sending back the last `ETag`, the 7- and 30-day delivery metrics every 30 s,
//!    a random lane's history every 15 s, starting staggered), and `stress` (as many clients
//!    asking for the lanes without `ETag`, each again as soon as answered). Through `idle`
//!    and `board` one deployment status arrives every `--board-status-every-secs` (a start
//!    `in_progress`, then its `success`), so the board's refreshes have news to read and
//!    `board − idle` is what looking costs.
//!
//! 4. **Unit costs** ([`unit_costs`]): a refresh, a refresh of every running deployment, a
//!    close-event read, a window check and a read of the whole window, each made back to back.
//!
//! The verdict compares that cost per hour with what the deployments themselves cost
//! Temporal per hour at `--board-deployments` per 30 days: measured (`board − idle`, which the
//! dev server's own noise blurs), and priced from the unit costs ([`Steady`]: the refreshes of
//! `board.refresh_interval`, one outcome read per deployment that ends and the window checks
//! of `board.rebuild_interval`), apart from the
//! one-time cold read of a server's first look (the warm-up, until every lane's deployment in
//! place shows its outcome).

pub mod browse;
pub mod plan;
pub mod unit_costs;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt as _;
use gdt_tracker::board::service::RUNNING_COUNT_EVERY;
use gdt_tracker::deployments::{
    DeploymentService, DeploymentStatusUpdate, DeploymentWorkflowInput,
};
use serde::Serialize;
use temporalio_client::{Client, WorkflowCountOptions};

pub use browse::{RouteStats, ENVIRONMENTS};

use crate::error::{Error, Result};
use crate::front::{Front, Served};
use crate::load::{commit_sha, OWNER};
use crate::processes::{proc_stats, ProcStats, WorkerProcess, WorkerSpec};
use crate::report::round;
use browse::{Cadence, Reader, Sample, ShownLane, PAGE};
use plan::{Initial, Lane, PlanSpec, Planned};
use unit_costs::UnitCosts;

/// Starts in flight while setup.
const STARTS_IN_FLIGHT: usize = 50;
/// How long the deployments started beforehand may wait before they are all closed.
const SETUP_DRAIN_LIMIT: Duration = Duration::from_secs(900);
/// The hours in the 30 days `--board-deployments` are spread over.
const HOURS_PER_30_DAYS: f64 = 30.0 * 24.0;
/// The response time the board's reader API should stay within at the 99th percentile.
pub const P99_TARGET_MS: f64 = 300.0;

/// The shape of the scenario.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct BoardSpec {
    /// Deployments started beforehand (standing for this many per 30 days).
    pub deployments: usize,
    /// Repositories they go to.
    pub repos: usize,
    /// Pages open in the board phase, and clients in the stress phase.
    pub browsers: usize,
    /// The idle phase.
    #[serde(serialize_with = "seconds")]
    pub idle: Duration,
    /// The board phase.
    #[serde(serialize_with = "seconds")]
    pub browse: Duration,
    /// The stress phase.
    #[serde(serialize_with = "seconds")]
    pub stress: Duration,
    /// One deployment status this often through the idle and board phases.
    #[serde(serialize_with = "seconds")]
    pub status_every: Duration,
}

fn seconds<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// What the scenario measured.
#[derive(Debug, Serialize)]
pub struct BoardResult {
    /// The deployments' task queue (the board's).
    pub task_queue: String,
    /// The shape asked for.
    pub spec: BoardSpec,
    /// The setup.
    pub setup: Setup,
    /// The first `GET /api/v1/environments` (it reads the whole window from visibility).
    pub cold_read_ms: f64,
    /// Lanes the board shows.
    pub lanes: usize,
    /// Size of the whole lanes answer.
    pub environments_bytes: usize,
    /// First request → lanes stable and every lane's deployment in place read.
    pub warm_up_seconds: f64,
    /// The Temporal server's CPU seconds over the warm-up (its own idle CPU included).
    pub warm_up_temporal_cpu_seconds: f64,
    /// Lanes whose deployment in place still lacked its outcome when the warm-up ended (0
    /// unless it gave up).
    pub warm_up_outcomes_missing: usize,
    /// What one read costs the Temporal server.
    pub unit_costs: UnitCosts,
    /// What looking costs once warm, priced from the unit costs.
    pub steady: Steady,
    /// CPU and memory per phase.
    pub phases: Phases,
    /// The pages' requests, by route.
    pub board_routes: BTreeMap<String, RouteStats>,
    /// The stress phase's requests.
    pub stress_routes: BTreeMap<String, RouteStats>,
    /// Statuses that arrived meanwhile.
    pub trickle: Trickle,
    /// `gdt serve`'s requests to Temporal by operation, per phase (`warm_up` holds the cold
    /// read), from its `temporal_request_total`.
    pub temporal_requests: BTreeMap<&'static str, BTreeMap<String, f64>>,
    /// The answers to the questions asked.
    pub verdict: Verdict,
}

/// The setup.
#[derive(Debug, Serialize)]
pub struct Setup {
    /// Deployments planned.
    pub planned: usize,
    /// Of those, failures.
    pub failures: usize,
    /// Of those, left running.
    pub running: usize,
    /// Lanes they went to.
    pub lanes: usize,
    /// Starts Temporal accepted.
    pub started: usize,
    /// Up to 10 starts that failed, and why.
    pub problems: Vec<String>,
    /// First start → every completing workflow closed.
    pub wall_seconds: f64,
    /// `started / wall_seconds`.
    pub deployments_per_second: f64,
    /// The Temporal dev server's CPU seconds over the setup.
    pub temporal_cpu_seconds: f64,
    /// The same per deployment started.
    pub temporal_cpu_seconds_per_deployment: f64,
    /// The ceiling worker's CPU seconds over the setup.
    pub worker_cpu_seconds: f64,
}

/// CPU and memory over the three phases.
#[derive(Debug, Serialize)]
pub struct Phases {
    /// Nobody looks.
    pub idle: PhaseUsage,
    /// The pages are open.
    pub board: PhaseUsage,
    /// Clients ask for the lanes as fast as answered.
    pub stress: PhaseUsage,
}

/// CPU and memory over one phase.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PhaseUsage {
    /// How long it lasted.
    pub seconds: f64,
    /// The Temporal dev server's CPU seconds.
    pub temporal_cpu_seconds: f64,
    /// The same per hour.
    pub temporal_cpu_seconds_per_hour: f64,
    /// Temporal's CPU per hour over the phase's second half (after a fresh server has read
    /// the outcomes its lanes show).
    pub second_half_temporal_cpu_seconds_per_hour: f64,
    /// `gdt serve`'s CPU seconds.
    pub serve_cpu_seconds: f64,
    /// `gdt serve`'s RSS at the end.
    pub serve_rss_bytes: u64,
    /// `gdt serve`'s peak RSS so far.
    pub serve_peak_rss_bytes: u64,
}

/// The deployment statuses that arrived during the idle and board phases.
#[derive(Debug, Default, Serialize)]
pub struct Trickle {
    /// Deployments started `in_progress`.
    pub started: usize,
    /// `success` reported for them.
    pub finished: usize,
    /// Up to 10 calls that failed, and why.
    pub problems: Vec<String>,
}

/// The answers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Verdict {
    /// The largest 99th percentile of the pages' routes (ms).
    pub board_p99_ms: Option<f64>,
    /// The 99th percentile of the lanes under the stress phase (ms): the upper bound.
    pub stress_p99_ms: Option<f64>,
    /// The pages' p99 within [`P99_TARGET_MS`]: the question asked.
    pub pages_p99_within_target: bool,
    /// The stress phase's p99 within it too (an upper bound: no page asks this often).
    pub stress_p99_within_target: bool,
    /// Temporal's CPU seconds per hour while nobody looks (the statuses still arriving).
    pub idle_temporal_cpu_seconds_per_hour: f64,
    /// The same while the pages are open.
    pub board_temporal_cpu_seconds_per_hour: f64,
    /// `board − idle`: what the open pages add.
    pub looking_temporal_cpu_seconds_per_hour: f64,
    /// What `deployments` per 30 days cost Temporal per hour, at the setup's CPU per
    /// deployment.
    pub deployments_temporal_cpu_seconds_per_hour: f64,
    /// `looking / deployments`.
    pub looking_over_deployments: Option<f64>,
}

impl Verdict {
    /// The verdict on the measurements.
    pub fn of(
        board_routes: &BTreeMap<String, RouteStats>,
        stress_routes: &BTreeMap<String, RouteStats>,
        phases: &Phases,
        cpu_per_deployment: f64,
        deployments_per_30_days: usize,
    ) -> Verdict {
        let worst = |routes: &BTreeMap<String, RouteStats>| {
            routes
                .values()
                .filter_map(|r| r.response_ms.map(|p| p.p99))
                .reduce(f64::max)
        };
        let within = |p99: Option<f64>| p99.is_some_and(|p| p <= P99_TARGET_MS);
        let board_p99_ms = worst(board_routes);
        let stress_p99_ms = worst(stress_routes);
        let idle = phases.idle.temporal_cpu_seconds_per_hour;
        let board = phases.board.temporal_cpu_seconds_per_hour;
        let looking = board - idle;
        let deployments = cpu_per_deployment * deployments_per_30_days as f64 / HOURS_PER_30_DAYS;
        Verdict {
            board_p99_ms,
            stress_p99_ms,
            pages_p99_within_target: within(board_p99_ms),
            stress_p99_within_target: within(stress_p99_ms),
            idle_temporal_cpu_seconds_per_hour: round(idle),
            board_temporal_cpu_seconds_per_hour: round(board),
            looking_temporal_cpu_seconds_per_hour: round(looking),
            deployments_temporal_cpu_seconds_per_hour: round(deployments),
            looking_over_deployments: (deployments > 0.0).then(|| round(looking / deployments)),
        }
    }
}

/// What looking costs the Temporal server once a server is warm, priced from the unit costs,
/// and what its first look costs once.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Steady {
    /// `board.refresh_interval` (the default, which `gdt serve` ran with).
    pub refresh_interval_seconds: f64,
    /// Lists per hour while someone looks: one per refresh interval per API server.
    pub lists_per_hour: f64,
    /// Deployments a refresh reads at this scale: those that changed within what it reads
    /// (`board.refresh_interval` plus `board.visibility_lag`), at this scale's rate (the
    /// bench's statuses arrive far faster, to give the pages news).
    pub rows_per_refresh: f64,
    /// One refresh at this scale: a list with no rows, plus the measured cost of a row
    /// (`(list − empty list) / its rows`) times `rows_per_refresh`.
    pub refresh_temporal_cpu_seconds: f64,
    /// Outcomes read per hour: at most one per deployment that ends, at this scale's rate.
    pub outcome_reads_per_hour: f64,
    /// `board.rebuild_interval` (the default): how often a server checks that it holds the
    /// whole window, by a count of its closed deployments.
    pub rebuild_interval_seconds: f64,
    /// One check (measured).
    pub window_check_temporal_cpu_seconds: f64,
    /// One read of the whole window, when a check finds a difference (measured; the
    /// outcomes are kept). Not in the steady state: a check differs only when visibility
    /// lost a change for longer than two minutes.
    pub rebuild_temporal_cpu_seconds: f64,
    /// `lists × refresh cost + lists / RUNNING_COUNT_EVERY × count cost + reads × read cost
    /// + checks × check cost`.
    pub looking_temporal_cpu_seconds_per_hour: f64,
    /// What the deployments cost per hour at this scale.
    pub deployments_temporal_cpu_seconds_per_hour: f64,
    /// `looking / deployments`.
    pub looking_over_deployments: Option<f64>,
    /// One server's first look, net of the server's own CPU meanwhile: the whole window read,
    /// then every lane's deployment in place.
    pub cold_temporal_cpu_seconds: f64,
    /// The same over what the window's deployments cost Temporal (30 days of them).
    pub cold_over_window_deployments: Option<f64>,
}

/// How often a board server reads Temporal, and how far back: `board.refresh_interval`,
/// `board.rebuild_interval` and `board.visibility_lag`.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Between two refreshes while someone looks.
    pub refresh: Duration,
    /// Between two checks of the whole window.
    pub rebuild: Duration,
    /// How far before the last read a refresh reads again.
    pub lag: Duration,
}

impl Steady {
    /// Prices looking at `intervals` from `units`, with deployments costing
    /// `cpu_per_deployment` each at `deployments_per_30_days`; the warm-up took `warm_cpu`
    /// over `warm_seconds`.
    pub fn of(
        units: &UnitCosts,
        intervals: Intervals,
        (warm_cpu, warm_seconds): (f64, f64),
        cpu_per_deployment: f64,
        deployments_per_30_days: usize,
    ) -> Steady {
        let lists_per_hour = 3600.0 / intervals.refresh.as_secs_f64().max(1.0);
        let rebuilds_per_hour = 3600.0 / intervals.rebuild.as_secs_f64().max(1.0);
        let outcome_reads_per_hour = deployments_per_30_days as f64 / HOURS_PER_30_DAYS;
        let cold = (warm_cpu - units.baseline_cpu_seconds_per_second * warm_seconds).max(0.0);
        let rows_per_refresh =
            outcome_reads_per_hour * (intervals.refresh + intervals.lag).as_secs_f64() / 3600.0;
        let per_row = if units.rows_per_list > 0 {
            (units.cpu_seconds_per_list - units.cpu_seconds_per_empty_list).max(0.0)
                / units.rows_per_list as f64
        } else {
            0.0
        };
        let refresh = units.cpu_seconds_per_empty_list + per_row * rows_per_refresh;
        let looking = lists_per_hour * refresh
            + lists_per_hour / f64::from(RUNNING_COUNT_EVERY) * units.cpu_seconds_per_running_count
            + outcome_reads_per_hour * units.cpu_seconds_per_outcome_read
            + rebuilds_per_hour * units.cpu_seconds_per_window_check;
        let deployments = cpu_per_deployment * outcome_reads_per_hour;
        let window = cpu_per_deployment * deployments_per_30_days as f64;
        Steady {
            refresh_interval_seconds: intervals.refresh.as_secs_f64(),
            lists_per_hour: round(lists_per_hour),
            rows_per_refresh: round(rows_per_refresh),
            refresh_temporal_cpu_seconds: (refresh * 1e6).round() / 1e6,
            outcome_reads_per_hour: round(outcome_reads_per_hour),
            rebuild_interval_seconds: intervals.rebuild.as_secs_f64(),
            window_check_temporal_cpu_seconds: units.cpu_seconds_per_window_check,
            rebuild_temporal_cpu_seconds: round(units.cpu_seconds_per_rebuild),
            looking_temporal_cpu_seconds_per_hour: round(looking),
            deployments_temporal_cpu_seconds_per_hour: round(deployments),
            looking_over_deployments: (deployments > 0.0).then(|| round(looking / deployments)),
            cold_temporal_cpu_seconds: round(cold),
            cold_over_window_deployments: (window > 0.0)
                .then(|| (cold / window * 1e4).round() / 1e4),
        }
    }
}

/// Runs the scenario on `front`'s Temporal server (whose process is `temporal_pid`).
pub async fn run(
    front: &Front<'_>,
    name: &str,
    spec: BoardSpec,
    temporal_pid: u32,
) -> Result<BoardResult> {
    let task_queue = format!("gdt-bench-{name}");
    let mut worker = WorkerProcess::start(WorkerSpec::ceiling_worker(
        front.tools,
        &front.temporal,
        &task_queue,
        front.slots,
        front.work,
        front.logs.join(format!("{task_queue}.log")),
    ))?;
    worker.wait_ready(Duration::from_secs(60)).await?;
    let service = DeploymentService::new(
        front.client.clone(),
        &task_queue,
        Duration::from_secs(24 * 3600),
        Duration::from_secs(30),
    );
    let planned = plan::plan(PlanSpec {
        deployments: spec.deployments,
        repos: spec.repos,
        seed: 15,
    });
    let setup = set_up(&service, name, &planned, &task_queue, &worker, temporal_pid).await?;
    eprintln!(
        "  started {} deployments in {:.0} s; Temporal {:.4} CPU-s each",
        setup.started, setup.wall_seconds, setup.temporal_cpu_seconds_per_deployment
    );

    let served = front.serve(&task_queue).await?;
    let metrics = served.process.metrics_url();
    let metrics = metrics.as_deref();
    let mut requests = BTreeMap::new();
    let mut last = browse::temporal_requests(metrics).await;
    let mut mark = |phase: &'static str, now: BTreeMap<String, f64>| {
        requests.insert(phase, browse::delta(&last, &now));
        last = now;
    };
    let warm = warm_up(&Reader::new(&served.api, &served.token)?, temporal_pid).await?;
    mark("warm_up", browse::temporal_requests(metrics).await);
    eprintln!(
        "  gdt serve: cold read {:.0} ms, {} lanes, {} bytes",
        warm.cold_read_ms,
        warm.lanes.len(),
        warm.bytes
    );

    let lanes: Vec<Lane> = {
        let mut lanes: Vec<Lane> = planned.iter().map(|p| p.lane.clone()).collect();
        lanes.sort();
        lanes.dedup();
        lanes
    };
    let trickle_until = Instant::now() + spec.idle + spec.browse;
    let trickle = tokio::spawn(trickle(
        service.clone(),
        format!("{name}-news"),
        lanes,
        spec.status_every,
        trickle_until,
    ));

    let server = &served.process;
    eprintln!("  idle: {} s, nobody looks", spec.idle.as_secs());
    let (idle, _) = measure_with(temporal_pid, server, spec.idle, async {
        tokio::time::sleep(spec.idle).await;
        Vec::new()
    })
    .await?;
    mark("idle", browse::temporal_requests(metrics).await);
    eprintln!(
        "  board: {} s, {} pages open",
        spec.browse.as_secs(),
        spec.browsers
    );
    let board_until = Instant::now() + spec.browse;
    let (board, board_samples) = {
        let pages = open_pages(&served, &warm.lanes, spec, PAGE, board_until)?;
        measure_with(temporal_pid, server, spec.browse, pages).await?
    };
    mark("board", browse::temporal_requests(metrics).await);
    let trickle = trickle
        .await
        .map_err(|e| Error::Usage(format!("the status trickle panicked: {e}")))?;
    eprintln!(
        "  stress: {} s, {} clients asking for the lanes without ETag",
        spec.stress.as_secs(),
        spec.browsers
    );
    let stress_until = Instant::now() + spec.stress;
    let hammers = (0..spec.browsers)
        .map(|_| {
            let reader = Reader::new(&served.api, &served.token)?;
            Ok(tokio::spawn(browse::hammer(reader, stress_until)))
        })
        .collect::<Result<Vec<_>>>()?;
    let (stress, stress_samples) =
        measure_with(temporal_pid, server, spec.stress, joined(hammers)).await?;
    mark("stress", browse::temporal_requests(metrics).await);
    drop(served);
    worker.kill();
    eprintln!(
        "  unit costs: 100 refreshes, 100 refreshes of every running deployment, 100 close-event \
         reads, 100 window checks, 3 window reads, back to back"
    );
    let closed: Vec<String> = planned
        .iter()
        .enumerate()
        .filter(|(_, p)| p.outcome != Initial::Running)
        .map(|(index, _)| format!("{name}-{index}"))
        .collect();
    let units = unit_costs::measure(&front.client, temporal_pid, &task_queue, &closed).await?;
    let defaults = gdt_config::Config::default().board;
    let steady = Steady::of(
        &units,
        Intervals {
            refresh: defaults.refresh_interval,
            rebuild: defaults.rebuild_interval,
            lag: defaults.visibility_lag,
        },
        (warm.temporal_cpu_seconds, warm.seconds),
        setup.temporal_cpu_seconds_per_deployment,
        spec.deployments,
    );

    let phases = Phases {
        idle,
        board,
        stress,
    };
    let board_routes = RouteStats::by_route(&board_samples, phases.board.seconds);
    let stress_routes = RouteStats::by_route(&stress_samples, phases.stress.seconds);
    let verdict = Verdict::of(
        &board_routes,
        &stress_routes,
        &phases,
        setup.temporal_cpu_seconds_per_deployment,
        spec.deployments,
    );
    Ok(BoardResult {
        task_queue,
        spec,
        setup,
        cold_read_ms: round(warm.cold_read_ms),
        lanes: warm.lanes.len(),
        environments_bytes: warm.bytes,
        warm_up_seconds: round(warm.seconds),
        warm_up_temporal_cpu_seconds: round(warm.temporal_cpu_seconds),
        warm_up_outcomes_missing: warm.outcomes_missing,
        unit_costs: units,
        steady,
        phases,
        board_routes,
        stress_routes,
        trickle,
        temporal_requests: requests,
        verdict,
    })
}

/// Starts every planned deployment, 50 at a time, then waits until all but the running ones
/// have closed; Temporal's CPU over the whole.
async fn set_up(
    service: &DeploymentService,
    name: &str,
    planned: &[Planned],
    task_queue: &str,
    worker: &WorkerProcess,
    temporal_pid: u32,
) -> Result<Setup> {
    let temporal_before = proc_stats(temporal_pid)?;
    let worker_before = worker.stats()?;
    let began = Instant::now();
    let now = Utc::now();
    let mut started = 0;
    let mut problems = Vec::new();
    let mut last_print = Instant::now();
    let mut starts = futures::stream::iter(planned.iter().enumerate())
        .map(|(index, p)| {
            let input = start_input(name, index, p, now);
            let workflow_id = format!("{name}-{index}");
            async move {
                (
                    workflow_id.clone(),
                    service.start(&input, &workflow_id).await,
                )
            }
        })
        .buffer_unordered(STARTS_IN_FLIGHT);
    while let Some((workflow_id, outcome)) = starts.next().await {
        match outcome {
            Ok(_) => started += 1,
            Err(e) if problems.len() < 10 => problems.push(format!("{workflow_id}: {e}")),
            Err(_) => {}
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            eprintln!("  starting: {started} of {} started", planned.len());
            last_print = Instant::now();
        }
    }
    let running = planned
        .iter()
        .filter(|p| p.outcome == Initial::Running)
        .count();
    wait_closed(service.client(), task_queue, started, running).await?;
    let wall = began.elapsed().as_secs_f64();
    let temporal_cpu = proc_stats(temporal_pid)?.cpu_seconds - temporal_before.cpu_seconds;
    let worker_cpu = worker.stats()?.cpu_seconds - worker_before.cpu_seconds;
    let mut lanes: Vec<&Lane> = planned.iter().map(|p| &p.lane).collect();
    lanes.sort();
    lanes.dedup();
    Ok(Setup {
        planned: planned.len(),
        failures: planned
            .iter()
            .filter(|p| p.outcome == Initial::Failure)
            .count(),
        running,
        lanes: lanes.len(),
        started,
        problems,
        wall_seconds: round(wall),
        deployments_per_second: round(started as f64 / wall.max(1e-9)),
        temporal_cpu_seconds: round(temporal_cpu),
        temporal_cpu_seconds_per_deployment: (temporal_cpu / started.max(1) as f64 * 1e5).round()
            / 1e5,
        worker_cpu_seconds: round(worker_cpu),
    })
}

/// What a pipeline would have started planned deployment `index` with, at `now`.
fn start_input(
    name: &str,
    index: usize,
    p: &Planned,
    now: chrono::DateTime<Utc>,
) -> DeploymentWorkflowInput {
    let commit_time = now - chrono::Duration::from_std(p.commit_age).unwrap_or_default();
    DeploymentWorkflowInput {
        repo_owner: OWNER.to_owned(),
        repo_name: p.lane.repo.clone(),
        commit_sha: commit_sha(),
        branch_name: "main".to_owned(),
        environment: p.lane.environment.to_owned(),
        harness_pipeline_id: format!("gdt-bench-{name}"),
        harness_execution_id: index.to_string(),
        status: p.outcome.status().to_owned(),
        log_url: format!("https://ci.example.com/{}/{index}", p.lane.repo),
        environment_url: format!("https://{}.{}.example.com", p.lane.environment, p.lane.repo),
        description: "gdt-bench board deployment".to_owned(),
        // The running ones stay open through the run.
        inactivity_timeout_seconds: Some(6 * 3600),
        service: p.lane.service.to_owned(),
        commit_timestamp: Some(commit_time.to_rfc3339()),
        ..DeploymentWorkflowInput::default()
    }
}

/// Waits until visibility lists `started` deployment workflows on `task_queue`, at most
/// `running` of them still running.
async fn wait_closed(
    client: &Client,
    task_queue: &str,
    started: usize,
    running: usize,
) -> Result<()> {
    let base = format!("WorkflowType = 'GitHubDeploymentWorkflow' AND TaskQueue = '{task_queue}'");
    let count = |query: String| async move {
        client
            .count_workflows(query, WorkflowCountOptions::default())
            .await
            .map(|c| c.count())
            .map_err(|e| {
                Error::Temporal(format!(
                    "cannot count the deployments started beforehand: {e}"
                ))
            })
    };
    let deadline = Instant::now() + SETUP_DRAIN_LIMIT;
    let mut last_print = Instant::now();
    loop {
        let all = count(base.clone()).await?;
        let open = count(format!("{base} AND ExecutionStatus = 'Running'")).await?;
        if all >= started && open <= running {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(Error::Temporal(format!(
                "{open} of the deployments started beforehand still running (and {all} of {started} listed) after \
                 {SETUP_DRAIN_LIMIT:?}; see the ceiling worker's log"
            )));
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            eprintln!("  starting: {all} listed, {open} still running");
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// What the warm-up learnt.
struct Warm {
    cold_read_ms: f64,
    lanes: Vec<ShownLane>,
    bytes: usize,
    seconds: f64,
    temporal_cpu_seconds: f64,
    outcomes_missing: usize,
}

/// How long the warm-up waits for the outcomes before it gives up.
const WARM_UP_LIMIT: Duration = Duration::from_secs(900);

/// Asks for the lanes until two answers in a row show the same number of them and every
/// lane's deployment in place shows its outcome (the board reads them a few hundred per
/// refresh), or [`WARM_UP_LIMIT`] passed; the Temporal server's CPU over it all.
async fn warm_up(reader: &Reader, temporal_pid: u32) -> Result<Warm> {
    let cpu_before = proc_stats(temporal_pid)?.cpu_seconds;
    let began = Instant::now();
    let body = reader.json(ENVIRONMENTS, &[]).await?;
    let cold_read_ms = began.elapsed().as_secs_f64() * 1000.0;
    let mut lanes = browse::shown_lanes(&body);
    let mut bytes = serde_json::to_vec(&body).map_or(0, |b| b.len());
    let mut missing;
    let deadline = Instant::now() + WARM_UP_LIMIT;
    let mut last_print = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let body = reader.json(ENVIRONMENTS, &[]).await?;
        let now = browse::shown_lanes(&body);
        let stable = !now.is_empty() && now.len() == lanes.len();
        lanes = now;
        bytes = serde_json::to_vec(&body).map_or(bytes, |b| b.len());
        missing = browse::outcomes_missing(&body);
        if (stable && missing == 0) || Instant::now() >= deadline {
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(15) {
            eprintln!("  warming up: {missing} lanes' outcomes still to read");
            last_print = Instant::now();
        }
    }
    if lanes.is_empty() {
        return Err(Error::Usage(
            "gdt serve's board shows no lanes after the deployments were started; see its log"
                .to_owned(),
        ));
    }
    Ok(Warm {
        cold_read_ms,
        lanes,
        bytes,
        seconds: began.elapsed().as_secs_f64(),
        temporal_cpu_seconds: proc_stats(temporal_pid)?.cpu_seconds - cpu_before,
        outcomes_missing: missing,
    })
}

/// The pages, each its own client, the first requests spread over the lanes' period.
fn open_pages(
    served: &Served,
    lanes: &[ShownLane],
    spec: BoardSpec,
    cadence: Cadence,
    until: Instant,
) -> Result<impl std::future::Future<Output = Vec<Sample>>> {
    let pages = (0..spec.browsers)
        .map(|i| {
            let reader = Reader::new(&served.api, &served.token)?;
            let lanes = lanes.to_vec();
            let offset = cadence
                .environments
                .mul_f64(i as f64 / spec.browsers.max(1) as f64);
            Ok(tokio::spawn(async move {
                browse::page(reader, &lanes, cadence, offset, until).await
            }))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(joined(pages))
}

/// The samples of every task, once all are done.
async fn joined(tasks: Vec<tokio::task::JoinHandle<Vec<Sample>>>) -> Vec<Sample> {
    futures::future::join_all(tasks)
        .await
        .into_iter()
        .filter_map(std::result::Result::ok)
        .flatten()
        .collect()
}

/// One deployment status every `every` until `until`: a start `in_progress` on a planned
/// lane, then its `success`, taking turns.
async fn trickle(
    service: DeploymentService,
    name: String,
    lanes: Vec<Lane>,
    every: Duration,
    until: Instant,
) -> Trickle {
    let mut result = Trickle::default();
    let mut attempts = 0;
    let mut open: Option<String> = None;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let problem = |result: &mut Trickle, what: String| {
        if result.problems.len() < 10 {
            result.problems.push(what);
        }
    };
    loop {
        tick.tick().await;
        if Instant::now() >= until || lanes.is_empty() {
            return result;
        }
        match open.take() {
            Some(workflow_id) => {
                let update = DeploymentStatusUpdate {
                    status: "success".to_owned(),
                    event_id: Some(format!("{workflow_id}-success")),
                    ..DeploymentStatusUpdate::default()
                };
                match service.submit_status(&workflow_id, update).await {
                    Ok(_) => result.finished += 1,
                    Err(e) => problem(&mut result, format!("{workflow_id}: {e}")),
                }
            }
            None => {
                let index = attempts;
                attempts += 1;
                let lane = &lanes[rand::random_range(0..lanes.len())];
                let planned = Planned {
                    lane: lane.clone(),
                    outcome: Initial::Running,
                    commit_age: Duration::from_secs(rand::random_range(300..3600)),
                };
                let workflow_id = format!("{name}-{index}");
                let input = start_input(&name, index, &planned, Utc::now());
                match service.start(&input, &workflow_id).await {
                    Ok(_) => {
                        result.started += 1;
                        open = Some(workflow_id);
                    }
                    Err(e) => problem(&mut result, format!("{workflow_id}: {e}")),
                }
            }
        }
    }
}

/// Runs `load` for `length`, reading the Temporal server's and `gdt serve`'s CPU at the
/// start, halfway and at the end.
async fn measure_with(
    temporal_pid: u32,
    server: &WorkerProcess,
    length: Duration,
    load: impl std::future::Future<Output = Vec<Sample>>,
) -> Result<(PhaseUsage, Vec<Sample>)> {
    let began = Instant::now();
    let temporal_start = proc_stats(temporal_pid)?;
    let server_start = server.stats()?;
    let halfway = async {
        tokio::time::sleep(length / 2).await;
        (Instant::now(), proc_stats(temporal_pid))
    };
    let (samples, (half_at, temporal_half)) = futures::join!(load, halfway);
    let temporal_end = proc_stats(temporal_pid)?;
    let server_end = server.stats()?;
    let seconds = began.elapsed().as_secs_f64();
    let second_half = half_at.elapsed().as_secs_f64();
    let temporal_half = temporal_half?;
    Ok((
        usage(
            seconds,
            second_half,
            [temporal_start, temporal_half, temporal_end],
            server_start,
            server_end,
        ),
        samples,
    ))
}

fn usage(
    seconds: f64,
    second_half_seconds: f64,
    [t0, t_half, t1]: [ProcStats; 3],
    s0: ProcStats,
    s1: ProcStats,
) -> PhaseUsage {
    let per_hour = |cpu: f64, secs: f64| round(cpu / secs.max(1e-9) * 3600.0);
    let temporal = t1.cpu_seconds - t0.cpu_seconds;
    PhaseUsage {
        seconds: round(seconds),
        temporal_cpu_seconds: round(temporal),
        temporal_cpu_seconds_per_hour: per_hour(temporal, seconds),
        second_half_temporal_cpu_seconds_per_hour: per_hour(
            t1.cpu_seconds - t_half.cpu_seconds,
            second_half_seconds,
        ),
        serve_cpu_seconds: round(s1.cpu_seconds - s0.cpu_seconds),
        serve_rss_bytes: s1.rss_bytes,
        serve_peak_rss_bytes: s1.peak_rss_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Percentiles;

    fn route(p99: f64) -> RouteStats {
        RouteStats {
            requests: 1,
            ok: 1,
            not_modified: 0,
            not_modified_share: 0.0,
            failed: 0,
            response_ms: Some(Percentiles {
                p50: p99 / 2.0,
                p95: p99,
                p99,
                max: p99,
                mean: p99,
                count: 1,
            }),
            bytes_per_ok: 0.0,
            bytes_total: 0,
            requests_per_second: 0.0,
        }
    }

    fn phase(per_hour: f64) -> PhaseUsage {
        PhaseUsage {
            seconds: 60.0,
            temporal_cpu_seconds: per_hour / 60.0,
            temporal_cpu_seconds_per_hour: per_hour,
            second_half_temporal_cpu_seconds_per_hour: per_hour,
            serve_cpu_seconds: 0.0,
            serve_rss_bytes: 0,
            serve_peak_rss_bytes: 0,
        }
    }

    #[test]
    fn the_verdict_takes_the_worst_route_and_what_looking_adds() {
        let board = BTreeMap::from([
            ("a".to_owned(), route(40.0)),
            ("b".to_owned(), route(120.0)),
        ]);
        let stress = BTreeMap::from([("a".to_owned(), route(280.0))]);
        let phases = Phases {
            idle: phase(36.0),
            board: phase(54.0),
            stress: phase(500.0),
        };
        // 0.072 CPU-s per deployment × 10,000 per 30 days = 1 CPU-s per hour.
        let v = Verdict::of(&board, &stress, &phases, 0.072, 10_000);
        assert_eq!(v.board_p99_ms, Some(120.0));
        assert_eq!(v.stress_p99_ms, Some(280.0));
        assert!(v.pages_p99_within_target && v.stress_p99_within_target);
        assert_eq!(v.looking_temporal_cpu_seconds_per_hour, 18.0);
        assert_eq!(v.deployments_temporal_cpu_seconds_per_hour, 1.0);
        assert_eq!(v.looking_over_deployments, Some(18.0));

        let slow = BTreeMap::from([("a".to_owned(), route(301.0))]);
        let v = Verdict::of(&board, &slow, &phases, 0.072, 10_000);
        assert!(v.pages_p99_within_target && !v.stress_p99_within_target);
        let v = Verdict::of(&BTreeMap::new(), &BTreeMap::new(), &phases, 0.0, 0);
        assert!(!v.pages_p99_within_target && !v.stress_p99_within_target);
        assert_eq!(
            Verdict::of(&board, &stress, &phases, 0.0, 10_000).looking_over_deployments,
            None
        );
    }

    #[test]
    fn steady_looking_is_priced_from_the_unit_costs() {
        let units = UnitCosts {
            baseline_cpu_seconds_per_second: 0.05,
            lists: 100,
            rows_per_list: 50,
            cpu_seconds_per_list: 0.004,
            cpu_seconds_per_empty_list: 0.003,
            cpu_seconds_per_running_count: 0.005,
            rows_per_running_list: 50,
            cpu_seconds_per_running_list: 0.09,
            outcome_reads: 100,
            cpu_seconds_per_outcome_read: 0.003,
            cpu_seconds_per_window_check: 0.04,
            rebuilds: 3,
            rows_per_rebuild: 10_000,
            cpu_seconds_per_rebuild: 4.0,
        };
        // 10,000 deployments per 30 days: 13.89 an hour, at 0.072 CPU-s each 1 CPU-s/h.
        let intervals = Intervals {
            refresh: Duration::from_secs(60),
            rebuild: Duration::from_secs(4 * 3600),
            lag: Duration::from_secs(120),
        };
        let s = Steady::of(&units, intervals, (12.0, 40.0), 0.072, 10_000);
        assert_eq!(s.lists_per_hour, 60.0);
        assert_eq!(s.outcome_reads_per_hour, 13.889);
        // 12 − 0.05 × 40 = 10 CPU-s once, against 720 for the window's deployments.
        assert_eq!(s.cold_temporal_cpu_seconds, 10.0);
        assert_eq!(s.cold_over_window_deployments, Some(0.0139));
        assert_eq!(s.rebuild_temporal_cpu_seconds, 4.0);
        assert_eq!(s.window_check_temporal_cpu_seconds, 0.04);
        // 13.889 deployments an hour change within the 3 minutes a refresh reads: 0.694 rows,
        // at (0.004 − 0.003) / 50 a row: a refresh 0.003 + 0.694 × 0.00002 = 0.0030139.
        assert_eq!(s.rows_per_refresh, 0.694);
        assert_eq!(s.refresh_temporal_cpu_seconds, 0.003014);
        // 60 × 0.0030139 + 60 / 5 × 0.005 + 13.889 × 0.003 + 0.04 / 4 h = 0.2925
        assert_eq!(s.looking_temporal_cpu_seconds_per_hour, 0.293);
        assert_eq!(s.deployments_temporal_cpu_seconds_per_hour, 1.0);
        assert_eq!(s.looking_over_deployments, Some(0.293));
        let free = Steady::of(&units, intervals, (1.0, 40.0), 0.0, 0);
        assert_eq!(free.cold_temporal_cpu_seconds, 0.0, "never below zero");
        assert_eq!(free.looking_over_deployments, None);
    }
}
