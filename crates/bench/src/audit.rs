//! The chaos audit's verdict on one deployment: what the pipeline sent against what GitHub
//! holds and how the workflow ended. Pure, so every rule is table-tested.

use serde::Serialize;

/// One GitHub deployment whose payload names the workflow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitHubDeployment {
    /// Its id.
    pub id: u64,
    /// Its statuses' states, oldest first.
    pub states: Vec<String>,
}

/// How the workflow ended, as Temporal says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkflowEnd {
    /// Completed; the final state it reports.
    Completed(String),
    /// Completed in `inactive` because a newer deployment of its lane superseded it (the
    /// newer one's GitHub id).
    Superseded(u64),
    /// Failed, timed out, terminated or cancelled, and why.
    Closed(String),
    /// Still running, or unknown (counted as stuck elsewhere).
    Unfinished,
}

/// What went wrong with one deployment; all zero and no reasons when nothing did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Statuses the pipeline sent that are not on GitHub (in order), plus one when every
    /// status is there but the final state is not the last one sent.
    pub lost_updates: usize,
    /// GitHub deployments beyond the first for this workflow.
    pub duplicate_deployments: usize,
    /// Statuses that repeat the state just before them on the same deployment.
    pub duplicate_statuses: usize,
    /// What was found.
    pub reasons: Vec<Reason>,
}

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// Its kind, to count problems by: one of the `KIND_*` constants.
    pub kind: &'static str,
    /// The particulars.
    pub detail: String,
}

/// More than one GitHub deployment for the workflow.
pub const KIND_DUPLICATE_DEPLOYMENT: &str = "duplicate deployment";
/// A state posted twice in a row.
pub const KIND_DUPLICATE_STATUS: &str = "duplicate status";
/// No GitHub deployment at all.
pub const KIND_NO_DEPLOYMENT: &str = "no GitHub deployment";
/// Statuses sent that are not on GitHub.
pub const KIND_MISSING_STATUS: &str = "status missing on GitHub";
/// GitHub's final state is not the last one sent.
pub const KIND_FINAL_ON_GITHUB: &str = "final state on GitHub differs";
/// The workflow failed (or timed out) after posting everything.
pub const KIND_NOT_COMPLETED: &str = "workflow did not complete";
/// The workflow reports a final state other than the last one sent.
pub const KIND_FINAL_OF_WORKFLOW: &str = "workflow final state differs";
/// A superseded deployment's statuses are not what was sent up to the supersede, then one
/// `inactive`.
pub const KIND_SUPERSEDED: &str = "superseded deployment ends wrong";
/// A lane's newest deployment is not its one live deployment, or another one is live too.
pub const KIND_LANE: &str = "lane has not exactly one winner";

impl Verdict {
    fn add(&mut self, kind: &'static str, detail: String) {
        self.reasons.push(Reason { kind, detail });
    }
}

/// Judges one deployment of a lane. `replaced`: a newer deployment of its lane succeeded, so
/// after everything sent its GitHub deployment may carry one `inactive` more (the lane's
/// "Replaced by"). A superseded deployment must hold a prefix of what was sent (what was
/// posted before the supersede; updates still waiting are never posted) and then exactly one
/// `inactive`.
pub fn judge_in_lane(
    sent: &[String],
    deployments: &[GitHubDeployment],
    end: &WorkflowEnd,
    replaced: bool,
) -> Verdict {
    const INACTIVE: &str = "inactive";
    if let WorkflowEnd::Superseded(by) = end {
        let mut verdict = judge(&[], deployments, &WorkflowEnd::Unfinished);
        let states = deployments.first().map_or(&[][..], |d| &d.states[..]);
        let ok = states.split_last().is_some_and(|(last, before)| {
            last == INACTIVE && before.len() < sent.len() && sent.starts_with(before)
        });
        if !ok {
            verdict.lost_updates += 1;
            verdict.add(
                KIND_SUPERSEDED,
                format!(
                    "superseded by deployment {by}: sent {}, GitHub has {}",
                    sent.join(" → "),
                    states.join(" → ")
                ),
            );
        }
        return verdict;
    }
    let trimmed: Vec<GitHubDeployment>;
    let deployments = if replaced {
        trimmed = deployments
            .iter()
            .map(|d| {
                let mut d = d.clone();
                if d.states.last().is_some_and(|s| s == INACTIVE)
                    && sent.last().is_some_and(|s| s != INACTIVE)
                {
                    d.states.pop();
                }
                d
            })
            .collect();
        &trimmed[..]
    } else {
        deployments
    };
    judge(sent, deployments, end)
}

/// One deployment of a lane, for [`judge_lane`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneMember {
    /// Its workflow id.
    pub workflow_id: String,
    /// Its GitHub deployment id.
    pub deployment_id: u64,
    /// Its latest state on GitHub.
    pub last_state: Option<String>,
}

/// Judges a lane as a whole: exactly one winner, the newest deployment (by GitHub id), is
/// live (`success`); every other one ends `inactive` (superseded, or replaced).
pub fn judge_lane(members: &[LaneMember]) -> Vec<Reason> {
    let Some(newest) = members.iter().max_by_key(|m| m.deployment_id) else {
        return Vec::new();
    };
    let mut reasons = Vec::new();
    if newest.last_state.as_deref() != Some("success") {
        reasons.push(Reason {
            kind: KIND_LANE,
            detail: format!(
                "the newest deployment {} ({}) ends in {}, not success",
                newest.deployment_id,
                newest.workflow_id,
                newest.last_state.as_deref().unwrap_or("nothing")
            ),
        });
    }
    for other in members
        .iter()
        .filter(|m| m.deployment_id != newest.deployment_id)
    {
        if other.last_state.as_deref() != Some("inactive") {
            reasons.push(Reason {
                kind: KIND_LANE,
                detail: format!(
                    "deployment {} ({}) ends in {} although {} is newer",
                    other.deployment_id,
                    other.workflow_id,
                    other.last_state.as_deref().unwrap_or("nothing"),
                    newest.deployment_id
                ),
            });
        }
    }
    reasons
}

/// Judges one deployment: `sent` are the GitHub states of what the pipeline sent (the
/// initial status and every update it sent or tried to send), in order.
pub fn judge(sent: &[String], deployments: &[GitHubDeployment], end: &WorkflowEnd) -> Verdict {
    let mut verdict = Verdict {
        duplicate_deployments: deployments.len().saturating_sub(1),
        ..Verdict::default()
    };
    if verdict.duplicate_deployments > 0 {
        let ids: Vec<String> = deployments.iter().map(|d| d.id.to_string()).collect();
        verdict.add(
            KIND_DUPLICATE_DEPLOYMENT,
            format!(
                "{} GitHub deployments carry this workflow id: {}",
                deployments.len(),
                ids.join(", ")
            ),
        );
    }
    for deployment in deployments {
        let repeats = deployment
            .states
            .windows(2)
            .filter(|w| w[0] == w[1])
            .count();
        if repeats > 0 {
            verdict.duplicate_statuses += repeats;
            verdict.add(
                KIND_DUPLICATE_STATUS,
                format!(
                    "deployment {} has a state posted twice in a row: {}",
                    deployment.id,
                    deployment.states.join(" → ")
                ),
            );
        }
    }
    // The deployment that holds most of what was sent is the one the workflow used.
    let best = deployments
        .iter()
        .map(|d| (matched(sent, &d.states), d))
        .max_by_key(|(n, _)| *n);
    let (found, states): (usize, &[String]) = match best {
        Some((n, d)) => (n, &d.states),
        None => (0, &[]),
    };
    let missing = sent.len() - found;
    if missing > 0 {
        verdict.lost_updates += missing;
        if deployments.is_empty() {
            verdict.add(
                KIND_NO_DEPLOYMENT,
                format!("none for this workflow; sent {}", sent.join(" → ")),
            );
        } else {
            verdict.add(
                KIND_MISSING_STATUS,
                format!(
                    "{missing} of the {} statuses sent are not on GitHub: sent {}, GitHub has {}",
                    sent.len(),
                    sent.join(" → "),
                    states.join(" → ")
                ),
            );
        }
    } else if let Some(last) = sent.last() {
        let final_on_github = states.last();
        let final_of_workflow = match end {
            WorkflowEnd::Completed(state) => Some(state.as_str()),
            WorkflowEnd::Superseded(_) => Some("inactive"),
            WorkflowEnd::Closed(_) | WorkflowEnd::Unfinished => None,
        };
        if final_on_github != Some(last) {
            verdict.lost_updates += 1;
            verdict.add(
                KIND_FINAL_ON_GITHUB,
                format!(
                    "GitHub ends in {}, the pipeline's last status was {last}",
                    final_on_github.map_or("nothing", String::as_str)
                ),
            );
        } else if let WorkflowEnd::Closed(why) = end {
            verdict.lost_updates += 1;
            verdict.add(KIND_NOT_COMPLETED, why.clone());
        } else if final_of_workflow.is_some_and(|f| f != last) {
            verdict.lost_updates += 1;
            verdict.add(
                KIND_FINAL_OF_WORKFLOW,
                format!(
                    "the workflow ended in {}, the pipeline's last status was {last}",
                    final_of_workflow.unwrap_or_default()
                ),
            );
        }
    }
    verdict
}

/// How many of `sent` appear in `states` in the same order: the length of their longest
/// common subsequence, so one missing status does not hide the ones after it.
fn matched(sent: &[String], states: &[String]) -> usize {
    let mut previous = vec![0usize; states.len() + 1];
    for want in sent {
        let mut row = vec![0usize; states.len() + 1];
        for (j, state) in states.iter().enumerate() {
            row[j + 1] = if want == state {
                previous[j] + 1
            } else {
                row[j].max(previous[j + 1])
            };
        }
        previous = row;
    }
    previous[states.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| (*w).to_owned()).collect()
    }

    fn dep(id: u64, states: &[&str]) -> GitHubDeployment {
        GitHubDeployment {
            id,
            states: s(states),
        }
    }

    fn done() -> WorkflowEnd {
        WorkflowEnd::Completed("success".into())
    }

    #[test]
    fn verdicts() {
        let sent = s(&["queued", "in_progress", "success"]);
        // (name, GitHub deployments, workflow end, (lost, duplicate deployments, duplicate statuses))
        type Case = (
            &'static str,
            Vec<GitHubDeployment>,
            WorkflowEnd,
            (usize, usize, usize),
        );
        let cases: Vec<Case> = vec![
            (
                "all there",
                vec![dep(1, &["queued", "in_progress", "success"])],
                done(),
                (0, 0, 0),
            ),
            (
                "a status missing",
                vec![dep(1, &["queued", "success"])],
                done(),
                (1, 0, 0),
            ),
            (
                "no deployment",
                vec![],
                WorkflowEnd::Closed("failed".into()),
                (3, 0, 0),
            ),
            (
                "posted twice",
                vec![dep(1, &["queued", "in_progress", "in_progress", "success"])],
                done(),
                (0, 0, 1),
            ),
            (
                "two deployments",
                vec![dep(1, &["queued", "in_progress", "success"]), dep(2, &[])],
                done(),
                (0, 1, 0),
            ),
            (
                "ends elsewhere on GitHub",
                vec![dep(1, &["queued", "in_progress", "success", "inactive"])],
                done(),
                (1, 0, 0),
            ),
            (
                "workflow failed after all was posted",
                vec![dep(1, &["queued", "in_progress", "success"])],
                WorkflowEnd::Closed("failed".into()),
                (1, 0, 0),
            ),
            (
                "workflow reports another final state",
                vec![dep(1, &["queued", "in_progress", "success"])],
                WorkflowEnd::Completed("inactive".into()),
                (1, 0, 0),
            ),
            (
                "out of order",
                vec![dep(1, &["queued", "success", "in_progress"])],
                done(),
                (1, 0, 0),
            ),
        ];
        for (name, deployments, end, (lost, dup_deployments, dup_statuses)) in cases {
            let v = judge(&sent, &deployments, &end);
            assert_eq!(
                (
                    v.lost_updates,
                    v.duplicate_deployments,
                    v.duplicate_statuses
                ),
                (lost, dup_deployments, dup_statuses),
                "{name}: {v:?}"
            );
            assert_eq!(v.reasons.is_empty(), v == Verdict::default(), "{name}");
        }
    }

    #[test]
    fn lane_verdicts() {
        let sent = s(&["queued", "in_progress", "success"]);
        let superseded = WorkflowEnd::Superseded(9);
        // (name, GitHub deployment, end, replaced, lost)
        type Case = (
            &'static str,
            Vec<GitHubDeployment>,
            WorkflowEnd,
            bool,
            usize,
        );
        let cases: Vec<Case> = vec![
            (
                "superseded early",
                vec![dep(1, &["queued", "inactive"])],
                superseded.clone(),
                false,
                0,
            ),
            (
                "superseded late",
                vec![dep(1, &["queued", "in_progress", "inactive"])],
                superseded.clone(),
                false,
                0,
            ),
            (
                "superseded, nothing after",
                vec![dep(1, &["queued"])],
                superseded.clone(),
                false,
                1,
            ),
            (
                "superseded, a status skipped",
                vec![dep(1, &["in_progress", "inactive"])],
                superseded.clone(),
                false,
                1,
            ),
            (
                "superseded twice",
                vec![dep(1, &["queued", "inactive", "inactive"])],
                superseded.clone(),
                false,
                1,
            ),
            (
                "superseded after its success was posted",
                vec![dep(1, &["queued", "in_progress", "success", "inactive"])],
                superseded,
                false,
                1,
            ),
            (
                "replaced after its success",
                vec![dep(1, &["queued", "in_progress", "success", "inactive"])],
                done(),
                true,
                0,
            ),
            (
                "inactive without a newer success",
                vec![dep(1, &["queued", "in_progress", "success", "inactive"])],
                done(),
                false,
                1,
            ),
        ];
        for (name, deployments, end, replaced, lost) in cases {
            let v = judge_in_lane(&sent, &deployments, &end, replaced);
            assert_eq!(v.lost_updates, lost, "{name}: {v:?}");
        }
        let member = |id: u64, state: &str| LaneMember {
            workflow_id: format!("w{id}"),
            deployment_id: id,
            last_state: Some(state.to_owned()),
        };
        assert!(judge_lane(&[
            member(1, "inactive"),
            member(2, "inactive"),
            member(3, "success")
        ])
        .is_empty());
        assert_eq!(
            judge_lane(&[member(1, "success"), member(3, "success")]).len(),
            1
        );
        assert_eq!(
            judge_lane(&[member(1, "inactive"), member(3, "inactive")]).len(),
            1
        );
        assert_eq!(
            judge_lane(&[member(2, "success"), member(3, "in_progress")]).len(),
            2
        );
    }
}
