//! What a lane does with each event: a pure function of its state and the event.
//!
//! The rules, all keyed on GitHub's deployment ids (which grow with time, so the order the
//! events arrive in does not matter):
//! - **Superseding.** When a deployment starts, every running deployment of the lane with a
//!   smaller id is superseded by it; if a deployment with a larger id has already started, the
//!   newcomer is the one superseded. Exactly one deployment, the newest, is left running.
//! - **Inactivation.** When a deployment ends in `success`, the lane's previous success (and
//!   only that one) is marked inactive; if a newer success is already live, the one that just
//!   ended is. A lane that has never seen a success looks for the previous one on GitHub once.
//!
//! Events repeat (activities are retried): each deployment's start and end are applied once.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::model::{LaneEvent, LaneView, Member, Success};

/// How many deployments a lane remembers having seen start and end, to apply repeated
/// events once. Retries come within minutes; a lane sees far fewer deployments than this in
/// that time.
pub const REMEMBERED: usize = 500;

/// Everything a lane knows. Carried from run to run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaneState {
    /// Deployments running now, by increasing id.
    pub running: Vec<Member>,
    /// The newest deployment that started (by id).
    pub newest: Option<Member>,
    /// The live deployment: the newest success.
    pub last_success: Option<Success>,
    /// Whether the lane has looked for (or learnt) its previous success already.
    pub searched: bool,
    /// Workflow ids whose start was applied, newest last.
    pub started: VecDeque<String>,
    /// Workflow ids whose end was applied, newest last.
    pub ended: VecDeque<String>,
    /// How many deployments were superseded.
    pub superseded: u64,
    /// How many replaced successes were marked inactive.
    pub inactivated: u64,
    /// Deployment ids the lane decided to mark inactive as replaced, newest last: each is
    /// marked once, even when the look-up on GitHub found it before its own end arrived.
    #[serde(default)]
    pub replaced: VecDeque<u64>,
}

/// What the lane must do after an event, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Tell `target`'s workflow that `by` supersedes it.
    Supersede {
        /// The older deployment, still running.
        target: Member,
        /// The newer one.
        by: Member,
    },
    /// Post `inactive` on `target`, replaced by `by`.
    Inactivate {
        /// The replaced success.
        target: Success,
        /// The newer success.
        by: Member,
    },
    /// Find the success before `by` on GitHub (the lane has no memory of one) and post
    /// `inactive` on it.
    InactivatePreviousOnGitHub {
        /// The new success.
        by: Member,
    },
}

/// Applies `event` to `state` and says what to do.
pub fn apply(state: &mut LaneState, event: &LaneEvent) -> Vec<Action> {
    match event {
        LaneEvent::Started { member, supersede } => started(state, member, *supersede),
        LaneEvent::Ended {
            member,
            state: final_state,
            status_id,
            inactivate,
        } => {
            let mut actions = ended(state, member, final_state, *status_id, *inactivate);
            // Each replaced success is marked once (see `LaneState::note_replaced`).
            actions.retain(|action| match action {
                Action::Inactivate { target, .. } => {
                    state.note_replaced(target.member.deployment_id)
                }
                _ => true,
            });
            actions
        }
    }
}

fn started(state: &mut LaneState, member: &Member, supersede: bool) -> Vec<Action> {
    if !remember(&mut state.started, member.workflow_id.clone())
        || state.ended.contains(&member.workflow_id)
    {
        return Vec::new();
    }
    let mut actions = Vec::new();
    let newer = state
        .newest
        .as_ref()
        .filter(|n| n.deployment_id > member.deployment_id)
        .cloned();
    if supersede {
        if let Some(newer) = newer.clone() {
            actions.push(Action::Supersede {
                target: member.clone(),
                by: newer,
            });
        } else {
            let (older, kept): (Vec<Member>, Vec<Member>) = std::mem::take(&mut state.running)
                .into_iter()
                .partition(|r| r.deployment_id < member.deployment_id);
            state.running = kept;
            actions.extend(older.into_iter().map(|target| Action::Supersede {
                target,
                by: member.clone(),
            }));
        }
    }
    state.superseded += actions.len() as u64;
    if newer.is_none() {
        state.newest = Some(member.clone());
    }
    if actions
        .iter()
        .all(|a| !matches!(a, Action::Supersede { target, .. } if target == member))
    {
        let at = state
            .running
            .partition_point(|r| r.deployment_id < member.deployment_id);
        state.running.insert(at, member.clone());
    }
    actions
}

fn ended(
    state: &mut LaneState,
    member: &Member,
    final_state: &str,
    status_id: Option<u64>,
    inactivate: bool,
) -> Vec<Action> {
    if !remember(&mut state.ended, member.workflow_id.clone()) {
        return Vec::new();
    }
    state
        .running
        .retain(|r| r.workflow_id != member.workflow_id);
    if final_state != gdt_github::DeploymentState::Success.as_str() {
        return Vec::new();
    }
    let this = Success {
        member: member.clone(),
        status_id,
    };
    let searched = std::mem::replace(&mut state.searched, true);
    match state.last_success.clone() {
        None => {
            state.last_success = Some(this);
            if inactivate && !searched {
                vec![Action::InactivatePreviousOnGitHub { by: member.clone() }]
            } else {
                Vec::new()
            }
        }
        Some(live) if live.member.deployment_id < member.deployment_id => {
            state.last_success = Some(this);
            if inactivate {
                vec![Action::Inactivate {
                    target: live,
                    by: member.clone(),
                }]
            } else {
                Vec::new()
            }
        }
        Some(live) if live.member.deployment_id > member.deployment_id && inactivate => {
            // A newer deployment succeeded first: the one ending now is already replaced.
            vec![Action::Inactivate {
                target: this,
                by: live.member,
            }]
        }
        Some(_) => Vec::new(),
    }
}

/// Adds `id` to a bounded memory (the newest [`REMEMBERED`]); `false` when it was there
/// already.
fn remember<T: PartialEq>(memory: &mut VecDeque<T>, id: T) -> bool {
    if memory.contains(&id) {
        return false;
    }
    memory.push_back(id);
    while memory.len() > REMEMBERED {
        memory.pop_front();
    }
    true
}

impl LaneState {
    /// Notes that deployment `id` is (being) marked inactive as replaced; `false` when it
    /// already was, so it is not marked twice. A fresh lane's look-up on GitHub can find a
    /// success of the lane whose own end has not been applied yet (a slow lane, a worker
    /// restarting): that end must then replace nothing more.
    pub fn note_replaced(&mut self, id: u64) -> bool {
        remember(&mut self.replaced, id)
    }

    /// The `lane-state` answer.
    pub fn view(&self, key: &super::model::LaneKey, pending_events: usize) -> LaneView {
        LaneView {
            key: key.clone(),
            running: self.running.clone(),
            last_success: self.last_success.as_ref().map(|s| s.member.clone()),
            superseded: self.superseded,
            inactivated: self.inactivated,
            pending_events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: u64) -> Member {
        Member {
            workflow_id: format!("wf-{id}"),
            deployment_id: id,
        }
    }

    fn start(id: u64) -> LaneEvent {
        LaneEvent::Started {
            member: m(id),
            supersede: true,
        }
    }

    fn end(id: u64, state: &str) -> LaneEvent {
        LaneEvent::Ended {
            member: m(id),
            state: state.to_owned(),
            status_id: Some(id * 10),
            inactivate: true,
        }
    }

    fn supersede(target: u64, by: u64) -> Action {
        Action::Supersede {
            target: m(target),
            by: m(by),
        }
    }

    fn inactivate(target: u64, by: u64) -> Action {
        Action::Inactivate {
            target: Success {
                member: m(target),
                status_id: Some(target * 10),
            },
            by: m(by),
        }
    }

    /// Runs events through a fresh lane; the actions of each event, in order.
    fn run(events: &[LaneEvent]) -> (LaneState, Vec<Vec<Action>>) {
        let mut state = LaneState::default();
        let actions = events.iter().map(|e| apply(&mut state, e)).collect();
        (state, actions)
    }

    #[test]
    fn the_newest_deployment_wins_whatever_order_the_starts_arrive_in() {
        // The events, the actions of each, and the deployments left running.
        type Case<'a> = (&'a [LaneEvent], &'a [&'a [Action]], &'a [u64]);
        let cases: &[Case<'_>] = &[
            // In order: each newcomer supersedes the one running.
            (
                &[start(1), start(2), start(3)],
                &[&[], &[supersede(1, 2)], &[supersede(2, 3)]],
                &[3],
            ),
            // A late start of an older deployment: it is the one superseded.
            (&[start(2), start(1)], &[&[], &[supersede(1, 2)]], &[2]),
            // Two running (superseding was off for the first), a third supersedes both.
            (
                &[
                    LaneEvent::Started {
                        member: m(1),
                        supersede: false,
                    },
                    LaneEvent::Started {
                        member: m(2),
                        supersede: false,
                    },
                    start(3),
                ],
                &[&[], &[], &[supersede(1, 3), supersede(2, 3)]],
                &[3],
            ),
            // A repeated start is applied once.
            (
                &[start(1), start(2), start(2), start(1)],
                &[&[], &[supersede(1, 2)], &[], &[]],
                &[2],
            ),
        ];
        for (events, want, running) in cases {
            let (state, got) = run(events);
            let want: Vec<Vec<Action>> = want.iter().map(|a| a.to_vec()).collect();
            assert_eq!(got, want, "{events:?}");
            let ids: Vec<u64> = state.running.iter().map(|r| r.deployment_id).collect();
            assert_eq!(&ids, running, "{events:?}");
        }
    }

    #[test]
    fn a_success_inactivates_exactly_the_previous_success() {
        let cases: &[(&[LaneEvent], &[&[Action]])] = &[
            // A fresh lane looks the previous success up on GitHub, once.
            (
                &[start(1), end(1, "success"), start(2), end(2, "success")],
                &[
                    &[],
                    &[Action::InactivatePreviousOnGitHub { by: m(1) }],
                    &[],
                    &[inactivate(1, 2)],
                ],
            ),
            // Failures replace nothing: the last success stays live.
            (
                &[end(1, "success"), end(2, "failure"), end(3, "success")],
                &[
                    &[Action::InactivatePreviousOnGitHub { by: m(1) }],
                    &[],
                    &[inactivate(1, 3)],
                ],
            ),
            // The newer success ended first: the older one is inactivated when it ends.
            (
                &[end(1, "success"), end(3, "success"), end(2, "success")],
                &[
                    &[Action::InactivatePreviousOnGitHub { by: m(1) }],
                    &[inactivate(1, 3)],
                    &[inactivate(2, 3)],
                ],
            ),
            // A repeated end is applied once.
            (
                &[end(1, "success"), end(2, "success"), end(2, "success")],
                &[
                    &[Action::InactivatePreviousOnGitHub { by: m(1) }],
                    &[inactivate(1, 2)],
                    &[],
                ],
            ),
        ];
        for (events, want) in cases {
            let (_, got) = run(events);
            let want: Vec<Vec<Action>> = want.iter().map(|a| a.to_vec()).collect();
            assert_eq!(got, want, "{events:?}");
        }
    }

    #[test]
    fn github_inactivation_leaves_the_lane_to_remember_without_posting() {
        let end_github = |id: u64| LaneEvent::Ended {
            member: m(id),
            state: "success".to_owned(),
            status_id: None,
            inactivate: false,
        };
        let (state, got) = run(&[end_github(1), end_github(2)]);
        assert_eq!(got, vec![vec![], vec![]]);
        assert_eq!(state.last_success.map(|s| s.member), Some(m(2)));
    }

    #[test]
    fn a_superseded_deployment_that_ends_leaves_nothing_running() {
        let (state, got) = run(&[start(1), start(2), end(1, "inactive"), end(2, "success")]);
        assert_eq!(got[2], vec![]);
        assert!(state.running.is_empty());
        assert_eq!(state.superseded, 1);
    }

    #[test]
    fn memories_are_bounded() {
        let mut state = LaneState::default();
        for id in 0..(REMEMBERED as u64 + 10) {
            apply(&mut state, &start(id));
            apply(&mut state, &end(id, "failure"));
        }
        assert_eq!(state.started.len(), REMEMBERED);
        assert_eq!(state.ended.len(), REMEMBERED);
        assert!(state.running.is_empty());
    }

    #[test]
    fn a_success_found_on_github_before_its_end_arrives_is_marked_once() {
        let mut state = LaneState::default();
        // The lane is slow: 3 ends first and the look-up finds 2, which succeeded meanwhile.
        assert_eq!(
            apply(&mut state, &end(3, "success")),
            vec![Action::InactivatePreviousOnGitHub { by: m(3) }]
        );
        assert!(
            state.note_replaced(2),
            "the workflow notes what the look-up found"
        );
        // 2's own end arrives: already replaced, nothing more to post.
        assert_eq!(apply(&mut state, &end(2, "success")), vec![]);
        // A later success still replaces the live one, once.
        assert_eq!(
            apply(&mut state, &end(4, "success")),
            vec![inactivate(3, 4)]
        );
        assert!(!state.note_replaced(3));
    }
}
