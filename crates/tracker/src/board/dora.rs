//! The delivery metrics (DORA) of a set of deployments: pure, from the rows the board read,
//! with the time of the answer given, so the same rows always give the same figures.
//!
//! The definitions (README, "Delivery metrics (DORA)", says the same):
//!
//! - A **deployment** is a `GitHubDeploymentWorkflow` run that completed with a final state of
//!   `success`, `failure`, `error` or `inactive`, counted in the window in which it ended.
//!   Runs that never got a GitHub deployment (GitHub refused to create it), runs that were
//!   terminated or timed out, and runs still going are not deployments.
//! - **Successes** ended `success`; **failures** ended `failure` or `error`; **abandoned** ones
//!   ended `inactive` (superseded by a newer deployment, silent past their inactivity timeout,
//!   or their pull request closed): they count as deployments, neither successes nor failures.
//! - **Deployment frequency** = successes ÷ the window's days.
//! - **Change failure rate** = failures ÷ (successes + failures); none when both are 0.
//! - **Lead time for changes** = from the deployed commit's time to the end of its successful
//!   deployment (a commit time after that end counts as 0), over the window's successes whose
//!   commit time is known: the median and the 90th percentile, interpolated linearly between
//!   the two nearest samples (of the sorted samples x₀ … xₙ₋₁, the q-quantile sits at position
//!   (n − 1)·q). `samples` counts the successes measured, `without_commit_time` the successes
//!   started without a commit time.
//! - **Time to restore service**: in each lane (repository, service, environment), over every
//!   deployment the board holds, in the order they ended: a failure opens an episode when the
//!   lane's previous deployment, abandoned ones aside, was a success, or when it is the lane's
//!   first known deployment; the lane's next success (a fix or a rollback) closes it.
//!   `restored` counts the episodes closed within the window and `median_seconds` is the
//!   median of their durations; `unrestored` counts the lanes whose episode is still open.
//! - A window of N days is `(now − N days, now]`, N capped at the board's `coverage_days`;
//!   `daily` has one entry per UTC day of the largest window, today's included, oldest first.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};

use super::model::{DoraDay, DoraView, DoraWindow, LaneId, LeadTime, Row, TimeToRestore};

/// The delivery metrics of `rows` (already filtered to the lanes asked) over each of
/// `windows` (in days, capped at `coverage_days`) ending at `now`, and day by day over the
/// largest.
pub fn dora(rows: &[Row], now: DateTime<Utc>, windows: &[u32], coverage_days: u32) -> DoraView {
    let deployments = deployments(rows, now);
    let episodes = episodes(&deployments);
    let days: Vec<u32> = windows
        .iter()
        .map(|&d| d.clamp(1, coverage_days.max(1)))
        .collect();
    DoraView {
        as_of: rfc3339(now),
        coverage_days,
        windows: days
            .iter()
            .map(|&d| window(&deployments, &episodes, now, d))
            .collect(),
        daily: daily(&deployments, now, days.iter().copied().max().unwrap_or(0)),
    }
}

/// How a deployment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Success,
    Failure,
    Abandoned,
}

/// A deployment: one completed run with a final state, ended by `now`.
struct Deployment<'a> {
    row: &'a Row,
    closed_at: DateTime<Utc>,
    kind: Kind,
}

impl Deployment<'_> {
    /// Its lead time in seconds, when its commit time is known.
    fn lead_seconds(&self) -> Option<f64> {
        let commit = self.row.commit_time()?;
        Some(seconds(self.closed_at - commit).max(0.0))
    }
}

/// What [`episodes`] found: the closed episodes (when each closed, how long it lasted) and
/// how many lanes have one still open.
struct Episodes {
    restored: Vec<(DateTime<Utc>, f64)>,
    unrestored: u64,
}

/// The rows that are deployments, in the order they ended.
fn deployments(rows: &[Row], now: DateTime<Utc>) -> Vec<Deployment<'_>> {
    let mut out: Vec<Deployment<'_>> = rows
        .iter()
        .filter(|row| row.workflow_status == "completed")
        .filter_map(|row| {
            let closed_at = row.closed_at.filter(|&t| t <= now)?;
            let kind = match row.shown_state() {
                "success" => Kind::Success,
                "failure" | "error" => Kind::Failure,
                "inactive" => Kind::Abandoned,
                _ => return None,
            };
            Some(Deployment {
                row,
                closed_at,
                kind,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        (a.closed_at, a.row.started_at, &a.row.run_id).cmp(&(
            b.closed_at,
            b.row.started_at,
            &b.row.run_id,
        ))
    });
    out
}

/// Walks each lane's deployments (already in the order they ended) for its failure episodes.
fn episodes(deployments: &[Deployment<'_>]) -> Episodes {
    // Per lane: when its open episode began, if one is open.
    let mut open: BTreeMap<LaneId<'_>, Option<DateTime<Utc>>> = BTreeMap::new();
    let mut restored = Vec::new();
    for d in deployments {
        let lane = open.entry(d.row.lane()).or_default();
        match (d.kind, *lane) {
            // No episode is open exactly when the previous deployment (abandoned ones
            // aside) was a success, or there was none: this failure opens one.
            (Kind::Failure, None) => *lane = Some(d.closed_at),
            (Kind::Success, Some(began)) => {
                restored.push((d.closed_at, seconds(d.closed_at - began)));
                *lane = None;
            }
            _ => {}
        }
    }
    Episodes {
        restored,
        unrestored: open.values().filter(|began| began.is_some()).count() as u64,
    }
}

/// The figures of the `days` ending at `now`.
fn window(
    deployments: &[Deployment<'_>],
    episodes: &Episodes,
    now: DateTime<Utc>,
    days: u32,
) -> DoraWindow {
    let from = now - Duration::days(i64::from(days));
    let within = |t: DateTime<Utc>| from < t && t <= now;
    let in_window: Vec<&Deployment<'_>> =
        deployments.iter().filter(|d| within(d.closed_at)).collect();
    let count = |kind: Kind| in_window.iter().filter(|d| d.kind == kind).count() as u64;
    let (successes, failures, abandoned) = (
        count(Kind::Success),
        count(Kind::Failure),
        count(Kind::Abandoned),
    );
    let leads = lead_times(in_window.iter().copied());
    let without_commit_time = successes - leads.len() as u64;
    let restored: Vec<f64> = episodes
        .restored
        .iter()
        .filter(|(closed, _)| within(*closed))
        .map(|&(_, took)| took)
        .collect();
    DoraWindow {
        days,
        from: rfc3339(from),
        to: rfc3339(now),
        deployments: in_window.len() as u64,
        successes,
        failures,
        abandoned,
        deployment_frequency_per_day: successes as f64 / f64::from(days),
        change_failure_rate: (successes + failures > 0)
            .then(|| failures as f64 / (successes + failures) as f64),
        lead_time: LeadTime {
            samples: leads.len() as u64,
            without_commit_time,
            median_seconds: quantile(&leads, 0.5),
            p90_seconds: quantile(&leads, 0.9),
        },
        time_to_restore: TimeToRestore {
            restored: restored.len() as u64,
            unrestored: episodes.unrestored,
            median_seconds: quantile(&sorted(restored), 0.5),
        },
    }
}

/// One entry per UTC day of the `days` ending today (the date of `now`), oldest first.
fn daily(deployments: &[Deployment<'_>], now: DateTime<Utc>, days: u32) -> Vec<DoraDay> {
    let mut by_date: HashMap<NaiveDate, Vec<&Deployment<'_>>> = HashMap::new();
    for d in deployments {
        by_date.entry(d.closed_at.date_naive()).or_default().push(d);
    }
    let today = now.date_naive();
    (0..i64::from(days))
        .rev()
        .map(|back| {
            let date = today - Duration::days(back);
            let that_day = by_date.get(&date).map_or(&[][..], Vec::as_slice);
            let count = |kind: Kind| that_day.iter().filter(|d| d.kind == kind).count() as u64;
            DoraDay {
                date: date.format("%Y-%m-%d").to_string(),
                successes: count(Kind::Success),
                failures: count(Kind::Failure),
                lead_time_median_seconds: quantile(&lead_times(that_day.iter().copied()), 0.5),
            }
        })
        .collect()
}

/// The lead times of the successes among `deployments` whose commit time is known, sorted.
fn lead_times<'a, 'r: 'a>(deployments: impl Iterator<Item = &'a Deployment<'r>>) -> Vec<f64> {
    sorted(
        deployments
            .filter(|d| d.kind == Kind::Success)
            .filter_map(Deployment::lead_seconds)
            .collect(),
    )
}

fn sorted(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values
}

/// The `q`-quantile of sorted `values`, interpolated linearly between the two nearest: at
/// position (n − 1)·q. `None` for no values.
fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let last = values.len().checked_sub(1)?;
    let position = last as f64 * q;
    let (below, above) = (position.floor() as usize, position.ceil() as usize);
    let fraction = position - below as f64;
    Some(values[below] + (values[above] - values[below]) * fraction)
}

fn seconds(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::model::{BoardMemo, Outcome};

    /// The time of every answer: noon, 26 November 2026.
    fn now() -> DateTime<Utc> {
        "2026-11-26T12:00:00Z".parse().unwrap()
    }

    /// A deployment of `lane` (`service/environment`, `-` for none) that ended `ago` hours
    /// before [`now`] in `state`, its commit made `commit` hours before it ended.
    fn row(lane: &str, ago: f64, state: &str, commit: Option<f64>) -> Row {
        let (service, environment) = lane.split_once('/').unwrap();
        let closed = now() - Duration::milliseconds((ago * 3_600_000.0) as i64);
        let hours = |h: f64| Duration::milliseconds((h * 3_600_000.0) as i64);
        Row {
            workflow_id: format!("{lane}-{ago}"),
            run_id: format!("run-{lane}-{ago}"),
            workflow_status: "completed".to_owned(),
            started_at: closed - Duration::minutes(5),
            closed_at: Some(closed),
            repository: "octo/shop".to_owned(),
            environment: environment.to_owned(),
            service: (service != "-").then(|| service.to_owned()),
            commit_sha: "a".repeat(40),
            state: state.to_owned(),
            memo: Some(BoardMemo {
                commit_time: commit.map(|c| (closed - hours(c)).to_rfc3339()),
                ..BoardMemo::default()
            }),
            outcome: None,
        }
    }

    fn ok(lane: &str, ago: f64) -> Row {
        row(lane, ago, "success", Some(1.0))
    }

    fn failed(lane: &str, ago: f64) -> Row {
        row(lane, ago, "failure", None)
    }

    const H: f64 = 3600.0;

    /// The one window of `days`.
    fn one(rows: &[Row], days: u32) -> DoraWindow {
        dora(rows, now(), &[days], 30).windows.remove(0)
    }

    #[test]
    fn counts_and_rates() {
        // (what, rows, deployments, successes, failures, abandoned, frequency, failure rate)
        type Case = (&'static str, Vec<Row>, u64, u64, u64, u64, f64, Option<f64>);
        let cases: Vec<Case> = vec![
            ("empty", vec![], 0, 0, 0, 0, 0.0, None),
            (
                "every final state",
                vec![
                    ok("-/production", 1.0),
                    ok("-/production", 2.0),
                    row("-/production", 3.0, "error", None),
                    failed("-/production", 4.0),
                    row("-/production", 5.0, "inactive", None),
                ],
                5,
                2,
                2,
                1,
                2.0 / 7.0,
                Some(0.5),
            ),
            (
                "only abandoned: no rate",
                vec![row("-/production", 1.0, "inactive", None)],
                1,
                0,
                0,
                1,
                0.0,
                None,
            ),
            (
                "not deployments: running, terminated, refused, closed after now",
                vec![
                    Row {
                        workflow_status: "running".to_owned(),
                        closed_at: None,
                        ..ok("-/production", 1.0)
                    },
                    Row {
                        workflow_status: "terminated".to_owned(),
                        state: "in_progress".to_owned(),
                        ..ok("-/production", 2.0)
                    },
                    Row {
                        workflow_status: "failed".to_owned(),
                        state: "pending".to_owned(),
                        ..failed("-/production", 3.0)
                    },
                    ok("-/production", -1.0),
                ],
                0,
                0,
                0,
                0,
                0.0,
                None,
            ),
            (
                "the window's edges: 7 days ago is out, now is in",
                vec![
                    ok("-/production", 7.0 * 24.0),
                    ok("-/production", 7.0 * 24.0 - 0.001),
                    failed("-/production", 0.0),
                ],
                2,
                1,
                1,
                0,
                1.0 / 7.0,
                Some(0.5),
            ),
        ];
        for (what, rows, deployments, successes, failures, abandoned, frequency, rate) in cases {
            let w = one(&rows, 7);
            assert_eq!(
                (w.deployments, w.successes, w.failures, w.abandoned),
                (deployments, successes, failures, abandoned),
                "{what}"
            );
            assert!(
                (w.deployment_frequency_per_day - frequency).abs() < 1e-9,
                "{what}"
            );
            assert_eq!(w.change_failure_rate, rate, "{what}");
        }
    }

    #[test]
    fn the_outcome_decides_the_final_state() {
        let mut r = row("-/production", 1.0, "in_progress", None);
        r.outcome = Some(Outcome {
            final_status: "error".to_owned(),
            ..Outcome::default()
        });
        assert_eq!(one(&[r], 7).failures, 1);
    }

    #[test]
    fn lead_times() {
        // (what, rows, samples, without commit time, median, p90)
        type Case = (&'static str, Vec<Row>, u64, u64, Option<f64>, Option<f64>);
        let lead = |hours: f64| row("-/production", 1.0, "success", Some(hours));
        let cases: Vec<Case> = vec![
            ("none", vec![], 0, 0, None, None),
            ("one", vec![lead(2.0)], 1, 0, Some(2.0 * H), Some(2.0 * H)),
            (
                "two: the median between them",
                vec![lead(1.0), lead(2.0)],
                2,
                0,
                Some(1.5 * H),
                Some(1.9 * H),
            ),
            (
                "eleven: p90 is the tenth",
                (0..11).map(|h| lead(f64::from(h))).collect(),
                11,
                0,
                Some(5.0 * H),
                Some(9.0 * H),
            ),
            (
                "a commit time after the end counts 0",
                vec![lead(-3.0), lead(4.0)],
                2,
                0,
                Some(2.0 * H),
                Some(3.6 * H),
            ),
            (
                "missing or unreadable commit times, failures not measured",
                vec![
                    lead(2.0),
                    row("-/production", 1.0, "success", None),
                    Row {
                        memo: None,
                        ..lead(5.0)
                    },
                    Row {
                        memo: Some(BoardMemo {
                            commit_time: Some("yesterday".to_owned()),
                            ..BoardMemo::default()
                        }),
                        ..lead(5.0)
                    },
                    row("-/production", 1.0, "failure", Some(9.0)),
                ],
                1,
                3,
                Some(2.0 * H),
                Some(2.0 * H),
            ),
        ];
        for (what, rows, samples, without, median, p90) in cases {
            let lt = one(&rows, 7).lead_time;
            assert_eq!(
                (lt.samples, lt.without_commit_time),
                (samples, without),
                "{what}"
            );
            let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-6,
                (a, b) => a == b,
            };
            assert!(close(lt.median_seconds, median), "{what}: median {lt:?}");
            assert!(close(lt.p90_seconds, p90), "{what}: p90 {lt:?}");
        }
    }

    #[test]
    fn time_to_restore() {
        // (what, rows, restored, unrestored, median)
        type Case = (&'static str, Vec<Row>, u64, u64, Option<f64>);
        let cases: Vec<Case> = vec![
            ("empty", vec![], 0, 0, None),
            (
                "failures after a success, restored by the next success",
                vec![
                    ok("-/production", 10.0),
                    failed("-/production", 8.0),
                    failed("-/production", 7.0),
                    ok("-/production", 5.0),
                ],
                1,
                0,
                Some(3.0 * H),
            ),
            (
                "a rollback (an older commit's success) restores",
                vec![
                    ok("-/production", 10.0),
                    failed("-/production", 8.0),
                    row("-/production", 6.0, "success", Some(500.0)),
                ],
                1,
                0,
                Some(2.0 * H),
            ),
            (
                "abandoned between the failure and the success change nothing",
                vec![
                    ok("-/production", 10.0),
                    failed("-/production", 8.0),
                    row("-/production", 7.0, "inactive", None),
                    ok("-/production", 4.0),
                ],
                1,
                0,
                Some(4.0 * H),
            ),
            (
                "an abandoned one after a success: the failure still opens",
                vec![
                    ok("-/production", 10.0),
                    row("-/production", 9.0, "inactive", None),
                    failed("-/production", 8.0),
                    ok("-/production", 7.0),
                ],
                1,
                0,
                Some(H),
            ),
            (
                "the lane's first known deployment failed",
                vec![failed("-/production", 3.0), ok("-/production", 1.0)],
                1,
                0,
                Some(2.0 * H),
            ),
            (
                "several lanes: each its own episodes, two still open",
                vec![
                    ok("api/production", 20.0),
                    failed("api/production", 10.0),
                    failed("web/production", 9.0),
                    ok("api/staging", 8.5),
                    ok("api/production", 6.0),
                    failed("api/staging", 3.0),
                    failed("-/production", 2.0),
                    ok("-/production", 1.0),
                    ok("web/staging", 0.5),
                ],
                2,
                2,
                Some(2.5 * H),
            ),
            (
                "opened before the window, restored within it: counted, whole duration",
                vec![
                    failed("-/production", 8.0 * 24.0),
                    ok("-/production", 6.0 * 24.0),
                ],
                1,
                0,
                Some(48.0 * H),
            ),
            (
                "restored before the window: not counted",
                vec![
                    failed("-/production", 9.0 * 24.0),
                    ok("-/production", 8.0 * 24.0),
                ],
                0,
                0,
                None,
            ),
        ];
        for (what, rows, restored, unrestored, median) in cases {
            let ttr = one(&rows, 7).time_to_restore;
            assert_eq!(
                (ttr.restored, ttr.unrestored, ttr.median_seconds),
                (restored, unrestored, median),
                "{what}"
            );
        }
    }

    /// The definitions above are README's, word for word.
    #[test]
    fn the_readme_gives_the_same_definitions() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let read = |path: &str| std::fs::read_to_string(root.join(path)).expect(path);
        let module = read("crates/tracker/src/board/dora.rs");
        let definitions: String = module
            .lines()
            .filter_map(|line| line.strip_prefix("//!"))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .skip_while(|line| !line.starts_with("- A **deployment**"))
            .take_while(|line| !line.is_empty())
            .map(|line| format!("{line}\n"))
            .collect();
        assert!(definitions.ends_with("oldest first.\n"), "{definitions}");
        assert!(
            read("README.md").contains(&definitions),
            "README.md's \"Delivery metrics (DORA)\" must hold the definitions of \
             board/dora.rs, line for line:\n{definitions}"
        );
    }

    #[test]
    fn windows_are_capped_and_keep_their_order() {
        let rows = [ok("-/production", 24.0 * 20.0), ok("-/production", 1.0)];
        let view = dora(&rows, now(), &[30, 7, 0], 14);
        let days: Vec<(u32, u64, &str)> = view
            .windows
            .iter()
            .map(|w| (w.days, w.successes, w.from.as_str()))
            .collect();
        assert_eq!(
            days,
            [
                (14, 1, "2026-11-12T12:00:00Z"),
                (7, 1, "2026-11-19T12:00:00Z"),
                (1, 1, "2026-11-25T12:00:00Z"),
            ]
        );
        assert_eq!(view.as_of, "2026-11-26T12:00:00Z");
        assert_eq!(view.windows[0].to, view.as_of);
        assert_eq!(view.coverage_days, 14);
        assert_eq!(view.daily.len(), 14);
    }

    #[test]
    fn daily_covers_the_largest_window_with_zeros() {
        let rows = [
            row("-/production", 11.0, "success", Some(2.0)), // 26th, 01:00
            row("-/production", 12.5, "success", Some(4.0)), // 25th, 23:30
            row("-/production", 13.0, "success", None),      // 25th
            failed("-/production", 14.0),                    // 25th
            row("-/production", 15.0, "inactive", None),     // 25th: neither
            ok("-/production", 24.0 * 3.0),                  // 23rd
        ];
        let view = dora(&rows, now(), &[3, 5], 30);
        let days: Vec<(&str, u64, u64, Option<f64>)> = view
            .daily
            .iter()
            .map(|d| {
                (
                    d.date.as_str(),
                    d.successes,
                    d.failures,
                    d.lead_time_median_seconds,
                )
            })
            .collect();
        assert_eq!(
            days,
            [
                ("2026-11-22", 0, 0, None),
                ("2026-11-23", 1, 0, Some(H)),
                ("2026-11-24", 0, 0, None),
                ("2026-11-25", 2, 1, Some(4.0 * H)),
                ("2026-11-26", 1, 0, Some(2.0 * H)),
            ]
        );
        assert!(dora(&rows, now(), &[], 30).daily.is_empty());
    }
}
