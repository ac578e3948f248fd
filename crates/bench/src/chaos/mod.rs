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
//!   down entirely (503) for `--outage-secs` once a quarter of the phase has started;
//! - superseding: three deployments per lane, each started while the one before still runs,
//!   with two workers (one SIGKILLed every `--kill-every-secs`) and `--error-rate` of GitHub
//!   requests failing. The audit then also judges each lane as a whole: its newest deployment
//!   is the one live `success`, every other one ends `inactive`, superseded or replaced.
//!
//! # Layout
//! - [`plan`]: what a run does: the phases and their faults, from the command line.
//! - [`phase`]: one phase's load with its faults injected (worker kills, the Temporal
//!   restart, GitHub's errors, rate limits and outage).
//! - [`check`]: waiting for every workflow, then auditing each against GitHub.
//! - [`report`]: the counts, per phase and in all, and the readable table.

mod check;
mod phase;
mod plan;
mod report;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cli::Fault;
use crate::error::{Error, Result};
use crate::github::GitHub;
use crate::load::{Driver, LoadSpec};
use crate::processes::{DevServer, Tools, WorkerProcess, WorkerSpec};
use crate::report::{prepare_dirs, round, write_json, Machine};

use check::{audit_all, wait_all};
use phase::{wait_worker_ready, Phase};
pub use plan::Plan;
pub use report::{ChaosReport, FaultEvent, PhaseReport, Problem, RestartCheck, WorkflowCounts};

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
    let client = crate::temporal::connect(&server.address(), Duration::from_secs(60)).await?;
    let run_id = crate::bench::run_id();
    let task_queue = format!("gdt-chaos-{run_id}");
    let address = server.address();
    let start_worker = |log: &str| -> Result<Mutex<WorkerProcess>> {
        Ok(Mutex::new(WorkerProcess::start(WorkerSpec::gdt_worker(
            tools,
            &address,
            &task_queue,
            github.worker_env(),
            plan.worker_slots,
            &work,
            logs.join(log),
        )?)?))
    };
    let worker = start_worker("worker.log")?;
    wait_worker_ready(&worker).await?;
    let driver = Driver::new(client.clone(), &task_queue);

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
            // Superseding: three deployments per lane, each starting while the one before
            // still runs.
            lane_size: if phase_plan.faults.contains(&Fault::Supersede) {
                3
            } else {
                1
            },
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
        // Superseding is decided across workers: a second one polls alongside the one that
        // is killed, for the phase and its settling.
        let second_worker = if phase_plan.faults.contains(&Fault::Supersede) {
            let second = start_worker(&format!("worker-2-phase-{}.log", i + 1))?;
            wait_worker_ready(&second).await?;
            Some(second)
        } else {
            None
        };
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
        drop(second_worker);
        stuck.extend(phase_stuck);
        phase_reports.push(report);
        traces.extend(phase_traces);
    }

    eprintln!("audit: {} workflows against GitHub", traces.len());
    let (audited, lanes) = audit_all(&github, &client, &task_queue, &traces, &stuck).await?;
    drop(worker);
    server.stop().await;
    let mut report = ChaosReport::assemble(plan, phase_reports, &traces, audited, lanes, &stuck);
    report.machine = Machine::describe(tools);
    report.wall_seconds = round(began.elapsed().as_secs_f64());
    write_json(out, &report)?;
    Ok(report)
}
