//! What a chaos run does: the plan from the command line, `--small`'s defaults applied, and
//! its phases.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::cli::{ChaosArgs, Fault};
use crate::error::{Error, Result};
use crate::processes::Slots;

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

/// One phase as planned.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PhasePlan {
    pub(super) name: String,
    pub(super) faults: Vec<Fault>,
    /// Its deployments are `first..first + count`.
    pub(super) first: usize,
    pub(super) count: usize,
    /// Over which its deployments start.
    pub(super) duration: Duration,
}

impl Plan {
    /// One phase per fault, or one with all of them; the deployments split evenly (the
    /// last phase takes the remainder).
    pub(super) fn phases(&self) -> Vec<PhasePlan> {
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

/// The fault's name on the command line and in reports.
pub(super) fn fault_name(fault: Fault) -> &'static str {
    match fault {
        Fault::WorkerKill => "worker-kill",
        Fault::TemporalRestart => "temporal-restart",
        Fault::Github => "github",
        Fault::Supersede => "supersede",
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
                ("worker-kill", 0, 250, 90),
                ("temporal-restart", 250, 250, 90),
                ("github", 500, 250, 90),
                ("supersede", 750, 250, 90)
            ]
        );
        let together = plan(&["--together"]).phases();
        assert_eq!(together.len(), 1);
        assert_eq!(
            together[0].name,
            "worker-kill+temporal-restart+github+supersede"
        );
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
