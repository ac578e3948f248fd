//! `gdt-bench chaos`: deployments under faults, then an audit of every workflow against
//! what GitHub holds.
//!
//! The run has one phase per fault (or one phase with every fault, `--together`). In each,
//! a share of the deployments runs as pipelines do (updates 0.2–1.5 s apart, nobody waiting
//! for the tracker) while the phase's faults are injected; then the faults stop, and the
//! phase's workflows get `--stuck-after-secs` after their last update to finish. At the
//! end every workflow is audited ([`crate::audit::judge`]) against the GitHub deployments
//! whose payload names it.
//!
//! Faults:
//! - worker kill: `gdt worker` SIGKILLed every `--kill-every-secs` and started again at once;
//! - Temporal restart: the dev server (on a SQLite file) stopped with SIGTERM once a third of
//!   the phase's deployments have started, left down `--temporal-down-secs`, started again
//!   on the same port and file. The worker is not touched: a probe deployment started after
//!   the restart must complete, which shows the worker reconnected by itself;
//! - GitHub: `--error-rate` of all requests answered 500, 502, or 502 after GitHub applied
//!   them (a third each), a burst of primary or secondary rate limits every 10 s, and GitHub
//!   down entirely (503) for `--outage-secs` once a quarter of the phase has started.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use gdt_github::DeploymentFilter;
use gdt_tracker::deployments::status::map_status;
use gdt_tracker::deployments::DeploymentService;
use serde::Serialize;
use serde_json::json;
use temporalio_client::Client;
use tokio::sync::watch;

use crate::audit::{self, GitHubDeployment, Verdict, WorkflowEnd};
use crate::cli::{ChaosArgs, Fault};
use crate::error::{Error, Result};
use crate::github::GitHub;
use crate::load::{Driver, LoadSpec, Outcome, Progress, Target, Trace, INITIAL_STATUS, OWNER};
use crate::processes::{DevServer, Slots, Tools, WorkerProcess, WorkerSpec};
use crate::report::{prepare_dirs, round, write_json, Machine};

/// What a chaos run does, with `--small`'s defaults applied.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Deployments in all.
    pub deployments: usize,
    /// Updates per deployment.
    pub updates: usize,
    /// In flight at once.
    pub concurrency: usize,
    /// Faults, one phase each unless `together`.
    pub faults: Vec<String>,
    /// Every fault in one phase.
    pub together: bool,
    /// Seconds over which a phase's deployments start (`None`: the larger of 90 and a
    /// quarter of the phase's deployments).
    pub phase_secs: Option<u64>,
    /// Seconds between worker kills.
    pub kill_every_secs: u64,
    /// Seconds Temporal stays down.
    pub temporal_down_secs: u64,
    /// Seconds GitHub is down.
    pub outage_secs: u64,
    /// Share of GitHub requests failed with 5xx.
    pub error_rate: f64,
    /// Seconds after its last update a workflow counts as stuck.
    pub stuck_after_secs: u64,
    /// Milliseconds between a deployment's updates (uniform range).
    pub update_gap_ms: (u64, u64),
    /// Temporal's SQLite file.
    pub db: PathBuf,
    /// Worker slots.
    pub worker_slots: Slots,
    #[serde(skip)]
    fault_set: Vec<Fault>,
}

impl Plan {
    /// The plan for `args`.
    pub fn from_args(args: &ChaosArgs) -> Result<Plan> {
        let small = args.small;
        let pick = |given: Option<u64>, normal: u64, quick: u64| {
            given.unwrap_or(if small { quick } else { normal })
        };
        let mut fault_set = args.faults.clone();
        fault_set.sort();
        fault_set.dedup();
        if fault_set.is_empty() {
            return Err(Error::Usage("--faults names no fault".into()));
        }
        if !(0.0..1.0).contains(&args.error_rate) {
            return Err(Error::Usage("--error-rate must be in [0, 1)".into()));
        }
        let deployments = args.deployments.unwrap_or(if small { 30 } else { 1000 });
        let phases = if args.together { 1 } else { fault_set.len() };
        if deployments < phases {
            return Err(Error::Usage(format!(
                "--deployments {deployments} is fewer than the {phases} phases"
            )));
        }
        Ok(Plan {
            deployments,
            updates: usize::from(args.updates),
            concurrency: args.concurrency.unwrap_or(if small { 10 } else { 50 }),
            faults: fault_set
                .iter()
                .map(|f| fault_name(*f).to_owned())
                .collect(),
            together: args.together,
            phase_secs: args.phase_secs.or(small.then_some(20)),
            kill_every_secs: pick(args.kill_every_secs, 5, 3),
            temporal_down_secs: pick(args.temporal_down_secs, 10, 3),
            outage_secs: pick(args.outage_secs, 30, 10),
            error_rate: args.error_rate,
            stuck_after_secs: pick(args.stuck_after_secs, 300, 180),
            update_gap_ms: (200, 1500),
            db: args.db.clone(),
            worker_slots: Slots {
                workflow: args.tools.max_concurrent_workflow,
                activity: args.tools.max_concurrent_activity,
            },
            fault_set,
        })
    }
}

/// The report of `gdt-bench chaos` (`target/chaos/report.json`).
#[derive(Debug, Serialize)]
pub struct ChaosReport {
    /// Deployments driven (probes excluded).
    pub deployments: usize,
    /// Statuses sent that never reached GitHub, plus workflows whose final state is not the
    /// last status sent.
    pub lost_updates: usize,
    /// GitHub deployments beyond the first for one workflow id.
    pub duplicate_deployments: usize,
    /// The same state posted twice in a row on one deployment.
    pub duplicate_statuses: usize,
    /// Workflows not finished `stuck_after_secs` after their last update.
    pub stuck_workflows: usize,
    /// All four counts are zero.
    pub passed: bool,
    /// How the workflows ended.
    pub workflows: WorkflowCounts,
    /// Per phase: its faults, what happened, and its share of the counts.
    pub phases: Vec<PhaseReport>,
    /// Problems by reason (the reason's first words).
    pub problem_summary: BTreeMap<String, usize>,
    /// Every deployment with a problem (the first 200).
    pub problems: Vec<Problem>,
    /// What was asked for.
    pub parameters: Plan,
    /// Where it ran.
    pub machine: Machine,
    /// The whole run.
    pub wall_seconds: f64,
    /// When the report was written.
    pub generated_at: String,
}

/// How the workflows ended.
#[derive(Debug, Default, Serialize)]
pub struct WorkflowCounts {
    /// Completed in `success`.
    pub completed_success: usize,
    /// Completed in another state.
    pub completed_other: usize,
    /// Failed, timed out, terminated or cancelled.
    pub closed_without_completing: usize,
    /// Not finished in time.
    pub unfinished: usize,
    /// Never started (Temporal refused for longer than the driver retries).
    pub not_started: usize,
}

/// One phase.
#[derive(Debug, Serialize)]
pub struct PhaseReport {
    /// Its name.
    pub name: String,
    /// Its faults.
    pub faults: Vec<String>,
    /// Deployments in it.
    pub deployments: usize,
    /// From its first start to its last update sent.
    pub load_seconds: f64,
    /// Then until its workflows finished (or were declared stuck).
    pub settle_seconds: f64,
    /// Its share of the counts.
    pub lost_updates: usize,
    /// Its share.
    pub duplicate_deployments: usize,
    /// Its share.
    pub duplicate_statuses: usize,
    /// Its share.
    pub stuck_workflows: usize,
    /// Faults injected, in order, seconds from the phase's start.
    pub events: Vec<FaultEvent>,
    /// Worker SIGKILLs.
    pub worker_kills: usize,
    /// Times the worker was found to have exited by itself and was started again (what a
    /// supervisor would do); `gdt worker` exits when Temporal is unreachable at its start.
    pub worker_exits: usize,
    /// The Temporal restart and the reconnection check.
    pub temporal_restart: Option<RestartCheck>,
    /// GitHub requests from the phase's start to the end of its settling, by the fault that
    /// answered them (`none`: no fault).
    pub github_requests_by_fault: BTreeMap<String, u64>,
    /// Temporal calls the pipelines retried.
    pub driver_retries: usize,
}

/// A fault injected.
#[derive(Debug, Clone, Serialize)]
pub struct FaultEvent {
    /// Seconds from the phase's start.
    pub at_seconds: f64,
    /// What happened.
    pub what: String,
}

/// The Temporal restart, and whether the worker came back by itself.
#[derive(Debug, Clone, Serialize)]
pub struct RestartCheck {
    /// Seconds Temporal was down (stop to listening again).
    pub down_seconds: f64,
    /// The worker process before the restart is the one running after it (only checked
    /// without worker kills in the same phase).
    pub worker_pid_unchanged: Option<bool>,
    /// A probe deployment started after the restart completed.
    pub worker_reconnected: bool,
    /// Seconds from the restart to the probe's result.
    pub probe_seconds: Option<f64>,
    /// What became of the probe.
    pub probe: String,
}

/// A deployment with a problem.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// The workflow id.
    pub workflow_id: String,
    /// Its phase.
    pub phase: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Stuck, if it was.
    pub stuck: bool,
    /// How the workflow ended.
    pub workflow: String,
    /// The workflow's own record of each update (`deployment-state`), when it answers.
    pub workflow_updates: Vec<String>,
}

/// Runs chaos and writes its report.
pub async fn run(plan: &Plan, tools: &Tools, out: &Path) -> Result<ChaosReport> {
    let began = Instant::now();
    let (logs, work) = prepare_dirs(out)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let file = PathBuf::from(format!("{}{suffix}", plan.db.display()));
        if file.exists() {
            std::fs::remove_file(&file)
                .map_err(Error::io(format!("cannot remove {}", file.display())))?;
        }
    }
    if let Some(dir) = plan.db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
    }

    let github = GitHub::start(&work).await?;
    let mut server = DevServer::start(
        &tools.temporal_cli,
        Some(&plan.db),
        logs.join("temporal.log"),
    )
    .await?;
    eprintln!(
        "chaos: GitHub sandbox on {}, Temporal on {} ({})",
        github.url(),
        server.address(),
        plan.db.display()
    );
    let client = crate::load::connect(&server.address(), Duration::from_secs(60)).await?;
    let run_id = crate::bench::run_id();
    let task_queue = format!("gdt-chaos-{run_id}");
    let worker = Mutex::new(WorkerProcess::start(WorkerSpec::gdt_worker(
        tools,
        &server.address(),
        &task_queue,
        github.worker_env(),
        plan.worker_slots,
        &work,
        logs.join("worker.log"),
    ))?);
    wait_worker_ready(&worker).await?;
    let driver = Driver::new(client.clone(), Target::Tracker, &task_queue);

    let mut traces = Vec::new();
    let mut phase_reports = Vec::new();
    let mut stuck = HashSet::new();
    for (i, phase_plan) in plan.phases().iter().enumerate() {
        eprintln!(
            "phase {}: {}, {} deployments starting over {} s",
            i + 1,
            phase_plan.name,
            phase_plan.count,
            phase_plan.duration.as_secs()
        );
        let spec = LoadSpec {
            name: format!("{run_id}-p{}", i + 1),
            phase: phase_plan.name.clone(),
            first: phase_plan.first,
            count: phase_plan.count,
            updates: plan.updates,
            concurrency: plan.concurrency,
            update_gap_ms: plan.update_gap_ms,
            start_spread: phase_plan.duration,
            wait_for_result: false,
            inactivity_timeout: Duration::from_secs(1800),
            execution_timeout: Duration::from_secs(2 * 3600),
            give_up_after: Duration::from_secs(600),
        };
        let phase = Phase {
            plan,
            faults: &phase_plan.faults,
            duration: phase_plan.duration,
            spec: &spec,
            github: &github,
            worker: &worker,
            driver: &driver,
        };
        let mark = github.journal_len();
        let (phase_traces, mut report) = phase.run(&mut server).await?;
        // Faults are over: the workflows get their time to finish.
        let settle = Instant::now();
        let phase_stuck = wait_all(&driver, &phase_traces, plan.stuck_after_secs).await;
        report.settle_seconds = round(settle.elapsed().as_secs_f64());
        report.stuck_workflows = phase_stuck.len();
        for entry in github.journal_since(mark).await? {
            *report
                .github_requests_by_fault
                .entry(entry.fault.unwrap_or_else(|| "none".to_owned()))
                .or_default() += 1;
        }
        stuck.extend(phase_stuck);
        phase_reports.push(report);
        traces.extend(phase_traces);
    }

    eprintln!("audit: {} workflows against GitHub", traces.len());
    let audited = audit_all(&github, &client, &task_queue, &traces, &stuck).await?;
    drop(worker);
    server.stop().await;
    let mut report = ChaosReport::assemble(plan, phase_reports, &traces, audited, &stuck);
    report.machine = Machine::describe(tools);
    report.wall_seconds = round(began.elapsed().as_secs_f64());
    write_json(out, &report)?;
    Ok(report)
}

/// One phase as planned.
#[derive(Debug, Clone, PartialEq)]
struct PhasePlan {
    name: String,
    faults: Vec<Fault>,
    /// Its deployments are `first..first + count`.
    first: usize,
    count: usize,
    /// Over which its deployments start.
    duration: Duration,
}

impl Plan {
    /// One phase per fault, or one with all of them; the deployments split evenly (the
    /// last phase takes the remainder).
    fn phases(&self) -> Vec<PhasePlan> {
        let groups: Vec<Vec<Fault>> = if self.together {
            vec![self.fault_set.clone()]
        } else {
            self.fault_set.iter().map(|f| vec![*f]).collect()
        };
        let share = self.deployments / groups.len();
        let last = groups.len() - 1;
        groups
            .into_iter()
            .enumerate()
            .map(|(i, faults)| {
                let count = if i == last {
                    self.deployments - share * last
                } else {
                    share
                };
                PhasePlan {
                    name: faults
                        .iter()
                        .map(|f| fault_name(*f))
                        .collect::<Vec<_>>()
                        .join("+"),
                    faults,
                    first: share * i,
                    count,
                    // Four starts a second at most by default: well below what the tracker
                    // does on two cores, so what the faults do is not mixed up with overload.
                    duration: Duration::from_secs(
                        self.phase_secs.unwrap_or_else(|| 90.max(count as u64 / 4)),
                    ),
                }
            })
            .collect()
    }
}

impl ChaosReport {
    /// Adds up the audit: the counts, per phase and in all, and the problems.
    fn assemble(
        plan: &Plan,
        phases: Vec<PhaseReport>,
        traces: &[Trace],
        audited: Vec<Audited>,
        stuck: &HashSet<String>,
    ) -> ChaosReport {
        let mut report = ChaosReport {
            deployments: traces.len(),
            lost_updates: 0,
            duplicate_deployments: 0,
            duplicate_statuses: 0,
            stuck_workflows: stuck.len(),
            passed: false,
            workflows: WorkflowCounts::default(),
            phases,
            problem_summary: BTreeMap::new(),
            problems: Vec::new(),
            parameters: plan.clone(),
            machine: Machine::default(),
            wall_seconds: 0.0,
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        };
        for (trace, audited) in traces.iter().zip(audited) {
            let verdict = &audited.verdict;
            report.lost_updates += verdict.lost_updates;
            report.duplicate_deployments += verdict.duplicate_deployments;
            report.duplicate_statuses += verdict.duplicate_statuses;
            if let Some(phase) = report.phases.iter_mut().find(|p| p.name == trace.phase) {
                phase.lost_updates += verdict.lost_updates;
                phase.duplicate_deployments += verdict.duplicate_deployments;
                phase.duplicate_statuses += verdict.duplicate_statuses;
            }
            let counts = &mut report.workflows;
            match &audited.end {
                _ if trace.start_error.is_some() => counts.not_started += 1,
                WorkflowEnd::Completed(s) if s == "success" => counts.completed_success += 1,
                WorkflowEnd::Completed(_) => counts.completed_other += 1,
                WorkflowEnd::Closed(_) => counts.closed_without_completing += 1,
                WorkflowEnd::Unfinished => counts.unfinished += 1,
            }
            let is_stuck = stuck.contains(&trace.workflow_id);
            if *verdict == Verdict::default() && !is_stuck {
                continue;
            }
            let kinds = verdict.reasons.iter().map(|r| r.kind);
            for kind in kinds.chain(is_stuck.then_some("not finished in time")) {
                *report.problem_summary.entry(kind.to_owned()).or_default() += 1;
            }
            if report.problems.len() < 200 {
                report.problems.push(Problem {
                    workflow_id: trace.workflow_id.clone(),
                    phase: trace.phase.clone(),
                    verdict: audited.verdict,
                    stuck: is_stuck,
                    workflow: describe_end(&audited.end),
                    workflow_updates: audited.workflow_updates,
                });
            }
        }
        report.passed = report.lost_updates == 0
            && report.duplicate_deployments == 0
            && report.duplicate_statuses == 0
            && report.stuck_workflows == 0;
        report
    }
}

/// One phase: its load with its faults injected alongside.
struct Phase<'a> {
    plan: &'a Plan,
    faults: &'a [Fault],
    /// Over which the phase's deployments start; faults are scheduled within it.
    duration: Duration,
    spec: &'a LoadSpec,
    github: &'a GitHub,
    worker: &'a Mutex<WorkerProcess>,
    driver: &'a Driver,
}

impl Phase<'_> {
    async fn run(&self, server: &mut DevServer) -> Result<(Vec<Trace>, PhaseReport)> {
        let began = Instant::now();
        let progress = Arc::new(Progress::default());
        let printer = progress.print_every(
            self.spec.phase.clone(),
            self.spec.count,
            Duration::from_secs(10),
        );
        let (done_tx, done_rx) = watch::channel(false);
        let events = Mutex::new(Vec::new());
        let note = |what: String| {
            eprintln!("  [{:>5.1} s] {what}", began.elapsed().as_secs_f64());
            lock(&events).push(FaultEvent {
                at_seconds: round(began.elapsed().as_secs_f64()),
                what,
            });
        };
        let load = async {
            let traces = self.driver.run(self.spec, &progress).await;
            let _ = done_tx.send(true);
            traces
        };
        let kills = async {
            if self.faults.contains(&Fault::WorkerKill) {
                self.kill_worker(done_rx.clone(), &note).await
            } else {
                Ok((0, 0))
            }
        };
        let restart = async {
            if self.faults.contains(&Fault::TemporalRestart) {
                self.restart_temporal(server, began, &note).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let github = async {
            if self.faults.contains(&Fault::Github) {
                self.fail_github(done_rx.clone(), began, &note).await
            } else {
                Ok(())
            }
        };
        let (traces, kills, restart, github) = tokio::join!(load, kills, restart, github);
        drop(printer);
        // Whatever happened, the phase's faults end here.
        self.github.clear_faults().await?;
        let ((worker_kills, mut worker_exits), restart, ()) = (kills?, restart?, github?);
        {
            let mut worker = lock(self.worker);
            if !worker.is_running() {
                worker_exits += 1;
                note("gdt worker had exited by itself (see its log); started again".into());
                worker.restart()?;
            }
        }
        wait_worker_ready(self.worker).await?;
        let report = PhaseReport {
            name: self.spec.phase.clone(),
            faults: self
                .faults
                .iter()
                .map(|f| fault_name(*f).to_owned())
                .collect(),
            deployments: self.spec.count,
            load_seconds: round(began.elapsed().as_secs_f64()),
            settle_seconds: 0.0,
            lost_updates: 0,
            duplicate_deployments: 0,
            duplicate_statuses: 0,
            stuck_workflows: 0,
            events: events.into_inner().unwrap_or_else(|e| e.into_inner()),
            worker_kills,
            worker_exits,
            temporal_restart: restart,
            github_requests_by_fault: BTreeMap::new(),
            driver_retries: progress.retries.load(Ordering::Relaxed),
        };
        Ok((traces, report))
    }

    /// SIGKILLs the worker every `kill_every_secs` and starts it again, until the load is
    /// done. Returns the kills, and how often the worker was found to have exited by itself.
    async fn kill_worker(
        &self,
        mut done: watch::Receiver<bool>,
        note: &impl Fn(String),
    ) -> Result<(usize, usize)> {
        let every = Duration::from_secs(self.plan.kill_every_secs);
        let mut kills = 0;
        let mut exits = 0;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = done.wait_for(|d| *d) => return Ok((kills, exits)),
            }
            let mut worker = lock(self.worker);
            if !worker.is_running() {
                // `gdt worker` exits when it cannot reach Temporal at start-up; a supervisor
                // (Kubernetes, systemd) would start it again, and so does this loop.
                exits += 1;
                note("gdt worker had exited by itself (see its log); starting it again".into());
            }
            let pid = worker.pid();
            worker.kill();
            worker.restart()?;
            kills += 1;
            note(format!(
                "gdt worker SIGKILLed (pid {}) and started again (pid {})",
                pid.unwrap_or_default(),
                worker.pid().unwrap_or_default()
            ));
        }
    }

    /// Stops Temporal a third into the phase, starts it again after `temporal_down_secs`,
    /// then checks with a probe deployment that the worker reconnected.
    async fn restart_temporal(
        &self,
        server: &mut DevServer,
        began: Instant,
        note: &impl Fn(String),
    ) -> Result<RestartCheck> {
        tokio::time::sleep_until((began + self.duration / 3).into()).await;
        let pid_before = lock(self.worker).pid();
        let stopped = Instant::now();
        server.stop().await;
        note(format!(
            "Temporal stopped (SIGTERM); down for {} s",
            self.plan.temporal_down_secs
        ));
        tokio::time::sleep(Duration::from_secs(self.plan.temporal_down_secs)).await;
        server.start_again().await?;
        let down_seconds = round(stopped.elapsed().as_secs_f64());
        note(format!(
            "Temporal started again on {} with the same database, after {down_seconds} s",
            server.address()
        ));
        let restarted = Instant::now();
        // A deployment started after the restart can only complete if a worker polls the
        // restarted server: the check that the worker reconnected by itself.
        let probe = LoadSpec {
            name: format!("{}-probe", self.spec.name),
            phase: "probe".into(),
            first: 0,
            count: 1,
            updates: 1,
            concurrency: 1,
            update_gap_ms: (0, 0),
            start_spread: Duration::ZERO,
            wait_for_result: false,
            inactivity_timeout: Duration::from_secs(600),
            execution_timeout: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(120),
        };
        let quiet = Arc::new(Progress::default());
        let traces = self.driver.run(&probe, &quiet).await;
        let (outcome, finished) = match traces.first() {
            Some(t) if t.start_error.is_none() => {
                self.driver
                    .wait_result(&t.workflow_id, Instant::now() + Duration::from_secs(180))
                    .await
            }
            Some(t) => (
                Outcome::Unknown(t.start_error.clone().unwrap_or_default()),
                false,
            ),
            None => (Outcome::Unknown("probe not run".into()), false),
        };
        let reconnected =
            finished && matches!(&outcome, Outcome::Completed(r) if r.final_status == "success");
        let worker_pid_unchanged = if self.faults.contains(&Fault::WorkerKill) {
            None
        } else {
            let mut worker = lock(self.worker);
            Some(worker.is_running() && worker.pid() == pid_before)
        };
        note(format!(
            "probe deployment after the restart: {}; worker pid unchanged: {}",
            describe_outcome(&outcome),
            worker_pid_unchanged.map_or("not checked (workers are being killed)".into(), |b| b
                .to_string())
        ));
        Ok(RestartCheck {
            down_seconds,
            worker_pid_unchanged,
            worker_reconnected: reconnected,
            probe_seconds: reconnected.then(|| round(restarted.elapsed().as_secs_f64())),
            probe: describe_outcome(&outcome),
        })
    }

    /// 5xx on `error_rate` of requests throughout, a rate-limit burst every 10 s, and
    /// GitHub down for `outage_secs` a quarter into the phase. Returns when the load is done
    /// and the outage is over, whichever is later.
    async fn fail_github(
        &self,
        mut done: watch::Receiver<bool>,
        began: Instant,
        note: &impl Fn(String),
    ) -> Result<()> {
        // Probability faults are tried in order, each sparing the rest, so three at p make
        // 1 - (1 - p)^3 of requests fail: solve for p.
        let p = 1.0 - (1.0 - self.plan.error_rate).powf(1.0 / 3.0);
        for kind in ["500", "502", "502_after_apply"] {
            self.github
                .add_fault(&json!({"path": "/**", "kind": kind, "probability": p}))
                .await?;
        }
        note(format!(
            "GitHub answers {:.0}% of requests with 500, 502 or 502-after-applying",
            self.plan.error_rate * 100.0
        ));
        let outage_at = began + self.duration / 4;
        let outage_over = outage_at + Duration::from_secs(self.plan.outage_secs);
        let mut outage_started = false;
        let mut bursts = 0u32;
        let mut next_burst = began + Duration::from_secs(10);
        loop {
            let load_done = *done.borrow();
            if load_done && Instant::now() >= outage_over {
                return Ok(());
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                _ = done.changed(), if !load_done => {}
            }
            if !outage_started && Instant::now() >= outage_at {
                outage_started = true;
                self.github
                    .add_fault(&json!({"kind": "down", "seconds": self.plan.outage_secs}))
                    .await?;
                note(format!(
                    "GitHub down (503 on every request) for {} s",
                    self.plan.outage_secs
                ));
            }
            if Instant::now() >= next_burst {
                next_burst += Duration::from_secs(10);
                bursts += 1;
                let kind = if bursts % 2 == 1 {
                    "primary_rate_limit"
                } else {
                    "secondary_rate_limit"
                };
                self.github
                    .add_fault(&json!({"path": "/repos/**", "kind": kind, "count": 5}))
                    .await?;
                note(format!("the next 5 repository requests get a {kind}"));
            }
        }
    }
}

/// Waits for every started workflow of `traces` to finish, each until `stuck_after_secs`
/// after its last update; returns the ids of those that did not.
async fn wait_all(driver: &Driver, traces: &[Trace], stuck_after_secs: u64) -> HashSet<String> {
    let now_utc = chrono::Utc::now();
    let now = Instant::now();
    let waits = traces
        .iter()
        .filter(|t| t.start_error.is_none())
        .map(|trace| async move {
            let since_last = (now_utc - trace.last_sent_at())
                .to_std()
                .unwrap_or_default();
            let left = Duration::from_secs(stuck_after_secs).saturating_sub(since_last);
            let (_, finished) = driver.wait_result(&trace.workflow_id, now + left).await;
            (!finished).then(|| trace.workflow_id.clone())
        });
    futures::stream::iter(waits)
        .buffer_unordered(100)
        .filter_map(|stuck| async move { stuck })
        .collect()
        .await
}

/// One workflow's audit.
struct Audited {
    verdict: Verdict,
    end: WorkflowEnd,
    workflow_updates: Vec<String>,
}

async fn audit_all(
    github: &GitHub,
    client: &Client,
    task_queue: &str,
    traces: &[Trace],
    stuck: &HashSet<String>,
) -> Result<Vec<Audited>> {
    let reader = github.reader()?;
    let driver = Driver::new(client.clone(), Target::Tracker, task_queue);
    let service = DeploymentService::new(
        client.clone(),
        task_queue,
        Duration::from_secs(3600),
        Duration::from_secs(30),
    );
    let audits = traces.iter().map(|trace| {
        let reader = reader.clone();
        let driver = driver.clone();
        let service = service.clone();
        async move {
            let end = if stuck.contains(&trace.workflow_id) || trace.start_error.is_some() {
                WorkflowEnd::Unfinished
            } else {
                // Finished already (wait_all saw it), so this answers at once.
                let deadline = Instant::now() + Duration::from_secs(60);
                match driver.wait_result(&trace.workflow_id, deadline).await.0 {
                    Outcome::Completed(r) => WorkflowEnd::Completed(r.final_status),
                    Outcome::Closed(why) => WorkflowEnd::Closed(why),
                    Outcome::NotWaited | Outcome::Unknown(_) => WorkflowEnd::Unfinished,
                }
            };
            let deployments = github_deployments(&reader, trace).await?;
            let verdict = audit::judge(&sent_states(trace), &deployments, &end);
            // Only for deployments with a problem: the workflow's own account of each update.
            let workflow_updates = if verdict != Verdict::default() {
                match service.state(&trace.workflow_id).await {
                    Ok(view) => view
                        .updates
                        .iter()
                        .map(|u| {
                            format!(
                                "{} {}{}",
                                u.status,
                                u.outcome,
                                u.detail
                                    .as_deref()
                                    .map(|d| format!(": {d}"))
                                    .unwrap_or_default()
                            )
                        })
                        .collect(),
                    Err(e) => vec![format!("(deployment-state query failed: {e})")],
                }
            } else {
                Vec::new()
            };
            Ok::<_, Error>(Audited {
                verdict,
                end,
                workflow_updates,
            })
        }
    });
    futures::stream::iter(audits)
        .buffered(20)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// The GitHub states of what a deployment's pipeline sent, or tried to send, in order.
fn sent_states(trace: &Trace) -> Vec<String> {
    std::iter::once(INITIAL_STATUS)
        .chain(
            trace
                .updates
                .iter()
                .filter(|u| u.sent_at.is_some())
                .map(|u| u.word),
        )
        .map(|word| map_status(word).map_or_else(|_| word.to_owned(), |s| s.as_str().to_owned()))
        .collect()
}

/// Every deployment in the trace's repository whose payload names its workflow, with its
/// statuses oldest first.
async fn github_deployments(
    reader: &gdt_github::Client,
    trace: &Trace,
) -> Result<Vec<GitHubDeployment>> {
    let listed = reader
        .list_deployments(OWNER, &trace.repo, &DeploymentFilter::default())
        .await
        .map_err(|e| Error::Sandbox(format!("listing deployments of {}: {e}", trace.repo)))?;
    let mut found = Vec::new();
    for deployment in listed {
        if deployment
            .payload
            .get("workflow_id")
            .and_then(|v| v.as_str())
            != Some(trace.workflow_id.as_str())
        {
            continue;
        }
        let mut statuses = reader
            .list_deployment_statuses(OWNER, &trace.repo, deployment.id)
            .await
            .map_err(|e| {
                Error::Sandbox(format!(
                    "listing statuses of deployment {}: {e}",
                    deployment.id
                ))
            })?;
        statuses.sort_by_key(|s| s.id);
        found.push(GitHubDeployment {
            id: deployment.id,
            states: statuses
                .iter()
                .map(|s| s.state.as_str().to_owned())
                .collect(),
        });
    }
    found.sort_by_key(|d| d.id);
    Ok(found)
}

async fn wait_worker_ready(worker: &Mutex<WorkerProcess>) -> Result<()> {
    // The lock is taken for each check only: the worker killer may need it meanwhile.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !lock(worker).check_ready()? {
        if Instant::now() >= deadline {
            return Err(Error::Process {
                what: "gdt worker was not ready within 60 s".into(),
                log: lock(worker).log().to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves the value usable for what this harness does.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

fn fault_name(fault: Fault) -> &'static str {
    match fault {
        Fault::WorkerKill => "worker-kill",
        Fault::TemporalRestart => "temporal-restart",
        Fault::Github => "github",
    }
}

fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Completed(r) => format!("completed in {}", r.final_status),
        Outcome::Closed(why) => why.clone(),
        Outcome::NotWaited => "not waited for".into(),
        Outcome::Unknown(why) => format!("unknown: {why}"),
    }
}

fn describe_end(end: &WorkflowEnd) -> String {
    match end {
        WorkflowEnd::Completed(state) => format!("completed in {state}"),
        WorkflowEnd::Closed(why) => why.clone(),
        WorkflowEnd::Unfinished => "not finished".into(),
    }
}

impl ChaosReport {
    /// The readable summary.
    pub fn table(&self) -> String {
        let mut t = crate::report::Table::default();
        t.section(&format!(
            "gdt-bench chaos: {} deployments, faults {}{}",
            self.deployments,
            self.parameters.faults.join(", "),
            if self.parameters.together {
                " (together)"
            } else {
                " (one phase each)"
            }
        ));
        t.row("lost_updates", self.lost_updates);
        t.row("duplicate_deployments", self.duplicate_deployments);
        t.row("duplicate_statuses", self.duplicate_statuses);
        t.row("stuck_workflows", self.stuck_workflows);
        t.row("result", if self.passed { "PASSED" } else { "FAILED" });
        let w = &self.workflows;
        t.row(
            "workflows",
            format!(
                "{} success, {} other state, {} closed without completing, {} unfinished, {} not started",
                w.completed_success,
                w.completed_other,
                w.closed_without_completing,
                w.unfinished,
                w.not_started
            ),
        );
        for phase in &self.phases {
            t.section(&format!(
                "phase {} ({} deployments, load {:.0} s, settle {:.0} s)",
                phase.name, phase.deployments, phase.load_seconds, phase.settle_seconds
            ));
            t.row(
                "lost / dup deployments / dup statuses / stuck",
                format!(
                    "{} / {} / {} / {}",
                    phase.lost_updates,
                    phase.duplicate_deployments,
                    phase.duplicate_statuses,
                    phase.stuck_workflows
                ),
            );
            if phase.worker_kills > 0 {
                t.row("worker SIGKILLs", phase.worker_kills);
            }
            if phase.worker_exits > 0 {
                t.row("worker exits by itself", phase.worker_exits);
            }
            if let Some(r) = &phase.temporal_restart {
                t.row("Temporal down", format!("{:.1} s", r.down_seconds));
                t.row("worker reconnected by itself", r.worker_reconnected);
                t.opt("worker pid unchanged", r.worker_pid_unchanged);
            }
            let faulted: Vec<String> = phase
                .github_requests_by_fault
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            t.row("GitHub requests by fault", faulted.join(", "));
        }
        if !self.problem_summary.is_empty() {
            t.section("problems by kind");
            for (kind, n) in &self.problem_summary {
                t.row(kind, n);
            }
        }
        t.row("wall time", format!("{:.0} s", self.wall_seconds));
        t.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser as _;

    fn plan(args: &[&str]) -> Plan {
        let cli = Cli::try_parse_from([&["gdt-bench", "chaos"], args].concat()).expect("args");
        let Command::Chaos(args) = cli.command else {
            panic!("not chaos");
        };
        Plan::from_args(&args).expect("plan")
    }

    #[test]
    fn deployments_split_over_phases() {
        let phases = plan(&["--deployments", "1000"]).phases();
        let shape: Vec<(&str, usize, usize, u64)> = phases
            .iter()
            .map(|p| (p.name.as_str(), p.first, p.count, p.duration.as_secs()))
            .collect();
        assert_eq!(
            shape,
            [
                ("worker-kill", 0, 333, 90),
                ("temporal-restart", 333, 333, 90),
                ("github", 666, 334, 90)
            ]
        );
        let together = plan(&["--together"]).phases();
        assert_eq!(together.len(), 1);
        assert_eq!(together[0].name, "worker-kill+temporal-restart+github");
        assert_eq!(
            (together[0].count, together[0].duration.as_secs()),
            (1000, 250)
        );
    }

    #[test]
    fn small_is_small() {
        let small = plan(&["--small"]);
        assert_eq!((small.deployments, small.outage_secs), (30, 10));
        assert!(small.phases().iter().all(|p| p.duration.as_secs() == 20));
        assert!(Plan::from_args(&{
            let Command::Chaos(args) =
                Cli::try_parse_from(["gdt-bench", "chaos", "--deployments", "2"])
                    .expect("args")
                    .command
            else {
                panic!("not chaos")
            };
            args
        })
        .is_err());
    }
}
