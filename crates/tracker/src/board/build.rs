//! From visibility rows to the board: lanes, what is in place in each, what runs, the
//! history. Pure: the snapshot ([`Board`]) is built once per read of Temporal and every
//! answer is cut from it.
//!
//! A lane is a repository, a service (or none: the repository as a whole) and an environment,
//! as for superseding and inactivation. Its deployments are ordered newest first by when
//! their tracking started; what is **in place** (`current`) is the newest that succeeded
//! (so a rollback, a newer deployment of an older commit, is in place once it succeeds), the
//! **latest** is the newest whatever its state, and **in progress** the newest still running.

use std::collections::BTreeMap;

use url::Url;

use super::model::{BoardFilter, Deployment, Lane, Row};

/// The rows of the window, grouped by lane, each lane newest first.
#[derive(Debug, Clone, Default)]
pub struct Board {
    rows: Vec<Row>,
    /// Lane key → indices into `rows`, newest first; keys in board order.
    lanes: BTreeMap<LaneKey, Vec<usize>>,
}

/// An owned lane key, in board order: repository, service (none first), environment.
type LaneKey = (String, Option<String>, String);

impl Board {
    /// Groups `rows` by lane.
    pub fn new(rows: Vec<Row>) -> Self {
        let mut lanes: BTreeMap<LaneKey, Vec<usize>> = BTreeMap::new();
        for (i, row) in rows.iter().enumerate() {
            let key = (
                row.repository.clone(),
                row.service.clone(),
                row.environment.clone(),
            );
            lanes.entry(key).or_default().push(i);
        }
        for members in lanes.values_mut() {
            members.sort_by(|&a, &b| newest_first(&rows[a], &rows[b]));
        }
        Self { rows, lanes }
    }

    /// Every row.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// How many lanes there are.
    pub fn lane_count(&self) -> usize {
        self.lanes.len()
    }

    /// The lanes `filter` matches, at most `max` (and whether more matched).
    pub fn lanes(&self, filter: &BoardFilter, web: &Url, max: usize) -> (Vec<Lane>, bool) {
        let mut lanes = Vec::new();
        let mut truncated = false;
        for (key, members) in &self.lanes {
            let rows: Vec<&Row> = members.iter().map(|&i| &self.rows[i]).collect();
            if !lane_matches(filter, key, &rows) {
                continue;
            }
            if lanes.len() == max {
                truncated = true;
                break;
            }
            lanes.push(lane(key, &rows, web));
        }
        (lanes, truncated)
    }

    /// One lane's deployments, newest first, at most `limit` (and whether there are more).
    pub fn history(
        &self,
        repository: &str,
        service: Option<&str>,
        environment: &str,
        limit: usize,
    ) -> (Vec<&Row>, bool) {
        let key = (
            repository.to_owned(),
            service.map(str::to_owned),
            environment.to_owned(),
        );
        let members = self.lanes.get(&key).map(Vec::as_slice).unwrap_or_default();
        let rows = members.iter().take(limit).map(|&i| &self.rows[i]).collect();
        (rows, members.len() > limit)
    }

    /// The rows of the lanes `filter` names by repository, environment and service (state
    /// and transience are the grid's filters, not the metrics').
    pub fn rows_of(&self, filter: &BoardFilter) -> Vec<Row> {
        self.rows
            .iter()
            .filter(|row| {
                let lane = row.lane();
                filter
                    .repository
                    .as_deref()
                    .is_none_or(|r| r == lane.repository)
                    && filter
                        .environment
                        .as_deref()
                        .is_none_or(|e| e == lane.environment)
                    && service_matches(filter.service.as_deref(), lane.service)
            })
            .cloned()
            .collect()
    }

    /// Each lane's deployment in place (its newest success), once: the rows whose outcome
    /// (the GitHub deployment id, the environment URL a pipeline often gives only with its
    /// `success`) the grid shows.
    pub fn in_place(&self) -> impl Iterator<Item = &Row> {
        self.lanes.values().filter_map(|members| {
            members
                .iter()
                .map(|&i| &self.rows[i])
                .find(|r| r.shown_state() == "success")
        })
    }
}

/// Newest first: later start, then the larger GitHub deployment id, then the run id.
fn newest_first(a: &Row, b: &Row) -> std::cmp::Ordering {
    let id = |r: &Row| r.outcome.as_ref().map_or(0, |o| o.deployment_id);
    b.started_at
        .cmp(&a.started_at)
        .then_with(|| id(b).cmp(&id(a)))
        .then_with(|| b.run_id.cmp(&a.run_id))
}

/// `filter`'s service: `None` matches every lane, `""` the repository-level ones.
fn service_matches(wanted: Option<&str>, service: Option<&str>) -> bool {
    match wanted {
        None => true,
        Some("") => service.is_none(),
        Some(wanted) => service == Some(wanted),
    }
}

fn lane_matches(filter: &BoardFilter, key: &LaneKey, newest_first: &[&Row]) -> bool {
    let Some(latest) = newest_first.first() else {
        return false;
    };
    let (repository, service, environment) = key;
    filter.repository.as_deref().is_none_or(|r| r == repository)
        && filter
            .environment
            .as_deref()
            .is_none_or(|e| e == environment)
        && service_matches(filter.service.as_deref(), service.as_deref())
        && filter
            .state
            .as_deref()
            .is_none_or(|s| s == latest.shown_state())
        && (filter.include_transient || !latest.memo.as_ref().is_some_and(|m| m.transient))
}

fn lane(key: &LaneKey, newest_first: &[&Row], web: &Url) -> Lane {
    let (repository, service, environment) = key;
    let latest = newest_first[0];
    let current = newest_first.iter().find(|r| r.shown_state() == "success");
    let in_progress = newest_first.iter().find(|r| r.running());
    Lane {
        repository: repository.clone(),
        service: service.clone(),
        environment: environment.clone(),
        production: latest.memo.as_ref().map_or_else(
            || crate::deployments::model::is_production_environment(environment),
            |m| m.production,
        ),
        transient: latest.memo.as_ref().is_some_and(|m| m.transient),
        github_url: github_url(web, repository, environment),
        current: current.map(|r| deployment(r)),
        latest: deployment(latest),
        in_progress: in_progress.map(|r| deployment(r)),
        deployments_in_window: newest_first.len(),
    }
}

/// A row as the API presents it.
pub fn deployment(row: &Row) -> Deployment {
    let memo = row.memo.clone().unwrap_or_default();
    let outcome = row.outcome.as_ref();
    let text = |s: String| Some(s).filter(|s| !s.is_empty());
    let link = |last: Option<&String>, first: &str| {
        last.filter(|l| !l.is_empty())
            .map_or(first, String::as_str)
            .to_owned()
    };
    Deployment {
        workflow_id: row.workflow_id.clone(),
        run_id: row.run_id.clone(),
        commit_sha: row.commit_sha.clone(),
        git_ref: text(memo.git_ref),
        state: row.shown_state().to_owned(),
        workflow_status: row.workflow_status.clone(),
        started_at: rfc3339(row.started_at),
        finished_at: row.closed_at.map(rfc3339),
        deployment_id: outcome.map(|o| o.deployment_id).filter(|id| *id > 0),
        pipeline_id: text(memo.pipeline_id),
        execution_id: text(memo.execution_id),
        log_url: web_link(&link(outcome.map(|o| &o.log_url), &memo.log_url)),
        environment_url: web_link(&link(
            outcome.map(|o| &o.environment_url),
            &memo.environment_url,
        )),
        commit_time: row.commit_time().map(rfc3339),
    }
}

/// Only `http` and `https` links are handed to a page: a `javascript:` one would run there.
fn web_link(text: &str) -> Option<String> {
    let url = Url::parse(text).ok()?;
    matches!(url.scheme(), "http" | "https").then(|| url.to_string())
}

/// The environment's deployments on GitHub's web pages:
/// `{web}/{owner}/{repo}/deployments/{environment}`.
pub fn github_url(web: &Url, repository: &str, environment: &str) -> String {
    let mut url = web.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty()
            .extend(repository.split('/'))
            .extend(["deployments", environment]);
    }
    url.to_string()
}

/// RFC 3339, to the second, UTC.
pub fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, TimeZone as _, Utc};

    use super::*;
    use crate::board::model::{BoardMemo, Outcome};

    fn at(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).unwrap() + Duration::minutes(minute)
    }

    /// A row of `lane` ("repo/service/env", service `-` for none) started at `minute`, in
    /// `state`, still running when `closed` is `None`.
    fn row(lane: &str, run: &str, minute: i64, state: &str, closed: Option<i64>) -> Row {
        let parts: Vec<&str> = lane.split('/').collect();
        Row {
            workflow_id: format!("wf-{run}"),
            run_id: run.to_owned(),
            workflow_status: if closed.is_some() {
                "completed"
            } else {
                "running"
            }
            .to_owned(),
            started_at: at(minute),
            closed_at: closed.map(at),
            repository: format!("octo/{}", parts[0]),
            service: Some(parts[1].to_owned()).filter(|s| s != "-"),
            environment: parts[2].to_owned(),
            commit_sha: format!("{run:0>40}"),
            state: state.to_owned(),
            memo: Some(BoardMemo {
                git_ref: "main".to_owned(),
                log_url: format!("https://ci.example/{run}"),
                production: parts[2] == "production",
                ..BoardMemo::default()
            }),
            outcome: None,
        }
    }

    fn web() -> Url {
        Url::parse("https://github.com").unwrap()
    }

    fn board() -> Board {
        Board::new(vec![
            row("shop/api/production", "a1", 0, "success", Some(5)),
            row("shop/api/production", "a2", 10, "failure", Some(12)),
            row("shop/api/production", "a3", 20, "in_progress", None),
            row("shop/-/staging", "s1", 0, "success", Some(3)),
            row("shop/-/staging", "s2", 30, "success", Some(31)),
            row("shop/web/production", "w1", 0, "in_progress", Some(9)),
            row("docs/-/production", "d1", 0, "inactive", Some(2)),
        ])
    }

    #[test]
    fn each_lane_shows_what_is_in_place_the_latest_and_what_runs() {
        let (lanes, truncated) = board().lanes(&BoardFilter::default(), &web(), 100);
        assert!(!truncated);
        let summary: Vec<String> = lanes
            .iter()
            .map(|l| {
                format!(
                    "{} {} {}: in place {}, latest {}:{}, running {}",
                    l.repository,
                    l.service.as_deref().unwrap_or("-"),
                    l.environment,
                    l.current.as_ref().map_or("-", |d| d.run_id.as_str()),
                    l.latest.run_id,
                    l.latest.state,
                    l.in_progress.as_ref().map_or("-", |d| d.run_id.as_str()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                "octo/docs - production: in place -, latest d1:inactive, running -",
                "octo/shop - staging: in place s2, latest s2:success, running -",
                "octo/shop api production: in place a1, latest a3:in_progress, running a3",
                // Closed without a final state (terminated): unknown, and nothing in place.
                "octo/shop web production: in place -, latest w1:unknown, running -",
            ]
        );
        assert_eq!(
            lanes[2].github_url,
            "https://github.com/octo/shop/deployments/production"
        );
        assert_eq!(lanes[2].deployments_in_window, 3);
        assert!(lanes[2].production && !lanes[1].production);
    }

    #[test]
    fn filters_pick_lanes_by_repository_service_environment_state_and_transience() {
        let b = board();
        let ids = |f: BoardFilter| -> Vec<String> {
            b.lanes(&f, &web(), 100)
                .0
                .iter()
                .map(|l| format!("{}/{:?}/{}", l.repository, l.service, l.environment))
                .collect()
        };
        let some = |v: &str| Some(v.to_owned());
        assert_eq!(
            ids(BoardFilter {
                repository: some("octo/docs"),
                ..BoardFilter::default()
            }),
            ["octo/docs/None/production"]
        );
        assert_eq!(
            ids(BoardFilter {
                service: some(""),
                ..BoardFilter::default()
            }),
            ["octo/docs/None/production", "octo/shop/None/staging"]
        );
        assert_eq!(
            ids(BoardFilter {
                service: some("api"),
                ..BoardFilter::default()
            }),
            ["octo/shop/Some(\"api\")/production"]
        );
        assert_eq!(
            ids(BoardFilter {
                state: some("success"),
                ..BoardFilter::default()
            }),
            ["octo/shop/None/staging"]
        );
        assert_eq!(
            ids(BoardFilter {
                environment: some("staging"),
                ..BoardFilter::default()
            }),
            ["octo/shop/None/staging"]
        );
        let mut preview = row("shop/-/pr-7", "p1", 0, "success", Some(1));
        preview.memo.as_mut().unwrap().transient = true;
        let b = Board::new(vec![preview]);
        assert!(b.lanes(&BoardFilter::default(), &web(), 100).0.is_empty());
        let all = BoardFilter {
            include_transient: true,
            ..BoardFilter::default()
        };
        assert_eq!(b.lanes(&all, &web(), 100).0.len(), 1);
        let (lanes, truncated) = board().lanes(&BoardFilter::default(), &web(), 2);
        assert_eq!((lanes.len(), truncated), (2, true));
    }

    #[test]
    fn history_is_newest_first_and_says_when_there_is_more() {
        let b = board();
        let (rows, more) = b.history("octo/shop", Some("api"), "production", 2);
        let runs: Vec<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
        assert_eq!((runs, more), (vec!["a3", "a2"], true));
        let (rows, more) = b.history("octo/shop", None, "nowhere", 50);
        assert!(rows.is_empty() && !more);
    }

    #[test]
    fn the_outcome_gives_the_deployment_id_final_state_and_last_links_and_unsafe_links_are_dropped()
    {
        let mut r = row("shop/-/production", "x", 0, "in_progress", Some(4));
        r.memo.as_mut().unwrap().environment_url = "javascript:alert(1)".to_owned();
        assert_eq!(deployment(&r).environment_url, None);
        assert_eq!(deployment(&r).state, "unknown");
        r.outcome = Some(Outcome {
            deployment_id: 42,
            final_status: "success".to_owned(),
            log_url: String::new(),
            environment_url: "https://shop.example/".to_owned(),
        });
        let d = deployment(&r);
        assert_eq!(d.deployment_id, Some(42));
        assert_eq!(d.state, "success");
        assert_eq!(d.log_url.as_deref(), Some("https://ci.example/x"));
        assert_eq!(d.environment_url.as_deref(), Some("https://shop.example/"));
        assert_eq!(d.git_ref.as_deref(), Some("main"));
    }

    #[test]
    fn github_links_escape_the_environment_and_keep_an_enterprise_root() {
        let ghes = Url::parse("https://ghe.example.com/").unwrap();
        assert_eq!(
            github_url(&ghes, "octo/shop", "pr 7/preview"),
            "https://ghe.example.com/octo/shop/deployments/pr%207%2Fpreview"
        );
    }

    #[test]
    fn rows_of_selects_the_lanes_the_metrics_are_asked_for() {
        let b = board();
        let f = BoardFilter {
            repository: Some("octo/shop".to_owned()),
            environment: Some("production".to_owned()),
            ..BoardFilter::default()
        };
        assert_eq!(b.rows_of(&f).len(), 4);
        let in_place: Vec<&str> = b.in_place().map(|r| r.run_id.as_str()).collect();
        assert_eq!(in_place, ["s2", "a1"], "one per lane that has a success");
    }
}
