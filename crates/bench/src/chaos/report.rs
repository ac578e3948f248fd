//! The report of `gdt-bench chaos`: the audit's counts, per phase and in all, the problems,
//! and the readable table.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::check::Audited;
use super::plan::Plan;
use crate::audit::{Reason, Verdict, WorkflowEnd};
use crate::load::Trace;
use crate::report::Machine;

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
    /// Lanes (superseding phase) without exactly one winner, the newest, live.
    pub lane_violations: usize,
    /// All five counts are zero.
    pub passed: bool,
    /// How the workflows ended.
    pub workflows: WorkflowCounts,
    /// Per phase: its faults, what happened, and its share of the counts.
    pub phases: Vec<PhaseReport>,
    /// Problems by reason (the reason's first words).
    pub problem_summary: BTreeMap<String, usize>,
    /// Every deployment with a problem (the first 200).
    pub problems: Vec<Problem>,
    /// What is wrong with each lane that has not exactly one winner.
    pub lane_problems: Vec<Reason>,
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
    /// Completed in `inactive`, superseded by a newer deployment of its lane.
    pub superseded: usize,
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

impl ChaosReport {
    /// Adds up the audit: the counts, per phase and in all, and the problems.
    pub(super) fn assemble(
        plan: &Plan,
        phases: Vec<PhaseReport>,
        traces: &[Trace],
        audited: Vec<Audited>,
        lanes: Vec<Reason>,
        stuck: &HashSet<String>,
    ) -> ChaosReport {
        let mut report = ChaosReport {
            deployments: traces.len(),
            lost_updates: 0,
            duplicate_deployments: 0,
            duplicate_statuses: 0,
            stuck_workflows: stuck.len(),
            lane_violations: lanes.len(),
            passed: false,
            workflows: WorkflowCounts::default(),
            phases,
            problem_summary: BTreeMap::new(),
            problems: Vec::new(),
            lane_problems: Vec::new(),
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
                WorkflowEnd::Superseded(_) => counts.superseded += 1,
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
        for reason in &lanes {
            *report
                .problem_summary
                .entry(reason.kind.to_owned())
                .or_default() += 1;
        }
        report.lane_problems = lanes;
        report.passed = report.lane_violations == 0
            && report.lost_updates == 0
            && report.duplicate_deployments == 0
            && report.duplicate_statuses == 0
            && report.stuck_workflows == 0;
        report
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
        t.row("lane_violations", self.lane_violations);
        t.row("result", if self.passed { "PASSED" } else { "FAILED" });
        let w = &self.workflows;
        t.row(
            "workflows",
            format!(
                "{} success, {} superseded, {} other state, {} closed without completing, {} unfinished, {} not started",
                w.completed_success,
                w.superseded,
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

fn describe_end(end: &WorkflowEnd) -> String {
    match end {
        WorkflowEnd::Completed(state) => format!("completed in {state}"),
        WorkflowEnd::Superseded(by) => format!("superseded by deployment {by}"),
        WorkflowEnd::Closed(why) => why.clone(),
        WorkflowEnd::Unfinished => "not finished".into(),
    }
}
