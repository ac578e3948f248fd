//! What the board scenario deploys before anyone looks: a month of an organisation's
//! deployments, drawn from a fixed seed so every run deploys the same shape.
//!
//! `repos` repositories (`board-000`, …) hold one to three services each: a repository with
//! one deploys as a whole (no service, the repository-level lane), one with more names them
//! (`api`, `web`, `worker`). Each deployment goes to a lane drawn at random: `production` or
//! `staging` (45 % each) or `dev` (10 %). About 8 % fail, and most failures are followed, a
//! little later, by a success of the same lane (the fix). The last [`running_for`]
//! deployments stay in progress. Commits were made 5 minutes to 3 days before their
//! deployment starts, so lead times spread.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

/// The services a repository with more than one deploys.
const SERVICES: [&str; 3] = ["api", "web", "worker"];
/// Chance that a drawn deployment fails (the fixes that follow bring the whole to ~8 %).
const FAILURE_CHANCE: f64 = 0.085;
/// Chance that a failure is followed by a fix.
const FIX_CHANCE: f64 = 0.85;
/// A fix comes this many deployments (of the whole plan) after its failure.
const FIX_AFTER: std::ops::Range<usize> = 20..200;
/// Commit ages, in seconds: 5 minutes to 3 days.
const COMMIT_AGE_SECS: std::ops::RangeInclusive<u64> = 300..=3 * 24 * 3600;

/// The shape of the plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanSpec {
    /// Deployments in all.
    pub deployments: usize,
    /// Repositories they go to.
    pub repos: usize,
    /// The seed of the draw.
    pub seed: u64,
}

/// How a planned deployment starts, and so ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    /// Started `success`: the workflow completes at once.
    Success,
    /// Started `failure`: the workflow completes at once.
    Failure,
    /// Started `in_progress`: the workflow waits for more.
    Running,
}

impl Initial {
    /// The initial status word.
    pub fn status(self) -> &'static str {
        match self {
            Initial::Success => "success",
            Initial::Failure => "failure",
            Initial::Running => "in_progress",
        }
    }
}

/// One lane: repository name (the owner is the load's), service (empty: the repository as a
/// whole) and environment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lane {
    /// The repository's name.
    pub repo: String,
    /// The service; empty for the repository-level lane.
    pub service: &'static str,
    /// The environment.
    pub environment: &'static str,
}

/// One planned deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Where it goes.
    pub lane: Lane,
    /// How it starts.
    pub outcome: Initial,
    /// How long before its start its commit was made.
    pub commit_age: Duration,
}

/// Deployments left running: one in 200, at most 50 (the default plan's 10,000 leave 50).
pub fn running_for(deployments: usize) -> usize {
    (deployments / 200).clamp(1, 50).min(deployments)
}

/// The plan, in start order.
pub fn plan(spec: PlanSpec) -> Vec<Planned> {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let services: Vec<&[&'static str]> = (0..spec.repos)
        .map(|_| match rng.random_range(1..=3) {
            1 => &[""][..],
            n => &SERVICES[..n],
        })
        .collect();
    // Fixes waiting, by the index at which they are due.
    let mut fixes: BTreeMap<usize, Vec<Lane>> = BTreeMap::new();
    let mut planned = Vec::with_capacity(spec.deployments);
    for index in 0..spec.deployments {
        let due = fixes.first_entry().filter(|e| *e.key() <= index);
        let (lane, outcome) = if let Some(mut entry) = due {
            let lane = entry.get_mut().pop().expect("no empty entries");
            if entry.get().is_empty() {
                entry.remove();
            }
            (lane, Initial::Success)
        } else {
            let r = rng.random_range(0..spec.repos.max(1));
            let service = services
                .get(r)
                .map_or("", |s| s[rng.random_range(0..s.len())]);
            let environment = match rng.random_range(0..100) {
                0..10 => "dev",
                10..55 => "staging",
                _ => "production",
            };
            let lane = Lane {
                repo: repo_name(r),
                service,
                environment,
            };
            if rng.random_bool(FAILURE_CHANCE) {
                if rng.random_bool(FIX_CHANCE) {
                    let at = index + rng.random_range(FIX_AFTER);
                    fixes.entry(at).or_default().push(lane.clone());
                }
                (lane, Initial::Failure)
            } else {
                (lane, Initial::Success)
            }
        };
        planned.push(Planned {
            lane,
            outcome,
            commit_age: Duration::from_secs(rng.random_range(COMMIT_AGE_SECS)),
        });
    }
    let running = running_for(spec.deployments);
    for p in planned.iter_mut().rev().take(running) {
        p.outcome = Initial::Running;
    }
    planned
}

/// The name of repository `index`.
pub fn repo_name(index: usize) -> String {
    format!("board-{index:03}")
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn default_plan() -> Vec<Planned> {
        plan(PlanSpec {
            deployments: 10_000,
            repos: 500,
            seed: 15,
        })
    }

    #[test]
    fn the_default_plan_has_the_asked_shape() {
        let plan = default_plan();
        assert_eq!(plan.len(), 10_000);
        let share = |f: &dyn Fn(&Planned) -> bool| {
            plan.iter().filter(|p| f(p)).count() as f64 / plan.len() as f64
        };
        let failures = share(&|p| p.outcome == Initial::Failure);
        assert!((0.06..0.10).contains(&failures), "failures {failures}");
        let dev = share(&|p| p.lane.environment == "dev");
        assert!((0.08..0.12).contains(&dev), "dev {dev}");
        let repos: HashSet<&str> = plan.iter().map(|p| p.lane.repo.as_str()).collect();
        assert_eq!(repos.len(), 500);
        let running: Vec<usize> = (0..plan.len())
            .filter(|&i| plan[i].outcome == Initial::Running)
            .collect();
        assert_eq!(running, (9_950..10_000).collect::<Vec<_>>());
        assert!(plan
            .iter()
            .all(|p| COMMIT_AGE_SECS.contains(&p.commit_age.as_secs())));
        // Repositories with one service deploy as a whole; others name theirs.
        assert!(plan.iter().any(|p| p.lane.service.is_empty()));
        assert!(plan.iter().any(|p| p.lane.service == "worker"));
    }

    #[test]
    fn most_failures_are_followed_by_a_success_of_their_lane() {
        let plan = default_plan();
        let failures: Vec<usize> = (0..plan.len())
            .filter(|&i| plan[i].outcome == Initial::Failure)
            .collect();
        let fixed = failures
            .iter()
            .filter(|&&i| {
                plan[i + 1..]
                    .iter()
                    .any(|p| p.lane == plan[i].lane && p.outcome == Initial::Success)
            })
            .count();
        assert!(
            fixed as f64 >= 0.8 * failures.len() as f64,
            "{fixed} of {} fixed",
            failures.len()
        );
    }

    #[test]
    fn plans_are_reproducible_and_small_ones_work() {
        let spec = PlanSpec {
            deployments: 500,
            repos: 50,
            seed: 1,
        };
        assert_eq!(plan(spec), plan(spec));
        assert_eq!(running_for(500), 2);
        assert_eq!(running_for(10_000), 50);
        assert_eq!(running_for(100_000), 50);
        assert_eq!(running_for(0), 0);
        assert!(plan(PlanSpec {
            deployments: 0,
            repos: 1,
            seed: 1
        })
        .is_empty());
    }
}
