//! [`BoardService`]: the board's snapshot of the window, kept per API server from Temporal's
//! visibility, with no database and nothing shared between servers.
//!
//! - **Read on demand.** Nothing is read until someone looks. The first request reads the
//!   window (every deployment workflow of this task queue still running or closed within
//!   `board.history_days`); later requests are answered from the snapshot, and one that finds
//!   it older than `board.refresh_interval` starts a refresh in the background and is answered
//!   at once. A server nobody looks at asks Temporal nothing.
//! - **A refresh reads what changed** since the last read, minus `board.visibility_lag`
//!   (visibility is written asynchronously). Once every worker of the queue runs revision 4
//!   of the workflow (their identities say so, [`FleetRevision`]), each state change sets
//!   `GdtUpdatedAt`: a refresh lists the deployments with `GdtUpdatedAt` since then, and
//!   every [`RUNNING_COUNT_EVERY`] refreshes counts the running ones. When the count disagrees with
//!   the snapshot (a deployment terminated, timed out, or started by an older client without
//!   the attribute), or before every worker runs revision 4, it lists every running
//!   deployment and those closed since then instead.
//! - **Every `board.rebuild_interval`** the snapshot is checked: with revision 4, the closed
//!   deployments of the window are counted, and the window is read again only when the count
//!   differs; before it, the window is read again.
//! - **Outcomes** (the GitHub deployment id, the last links) come from the result of a closed
//!   run, read once from its close event and then kept: for each lane's deployment in place, in
//!   batches of [`OUTCOMES_PER_BATCH`] (the snapshot published after each) until all are read,
//!   and for a history when one is opened. Other rows of the grid show what visibility and the
//!   start's memo hold.
//! - **A failed read keeps the last snapshot**, answered with `stale: true`.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use gdt_metrics::labels::BoardRead;
use gdt_metrics::metrics;
use temporalio_client::{
    Client, HistoryEventFilterType, NamespacedClient as _, RpcOptions, UntypedWorkflow,
    WorkflowCountOptions, WorkflowFetchHistoryOptions, WorkflowListOptions,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeNamespaceRequest;
use url::Url;

use super::build::{self, Board};
use super::model::{BoardFilter, DoraView, EnvironmentsView, HistoryView, Outcome, Row};
use super::visibility::{self, closed_count_query, refresh_queries, row_of, rows_queries};
use crate::deployments::fleet::FleetRevision;
use crate::deployments::model::DeploymentWorkflowResult;
use crate::service::{from_client_error, rpc_options, ServiceError};

/// Outcomes read between two publications of the snapshot: a cold start shows them batch by
/// batch instead of after all of them.
pub const OUTCOMES_PER_BATCH: usize = 200;
/// Outcomes read at once.
const OUTCOME_CONCURRENCY: usize = 8;
/// The running deployments are counted every this many refreshes that read what changed (and
/// with each window check): a deployment that ends without a state change (terminated, timed
/// out) shows as ended within this many `board.refresh_interval`s.
pub const RUNNING_COUNT_EVERY: u32 = 5;
/// The revision of the deployment workflow from which every state change sets
/// `GdtUpdatedAt` (`crate::deployments::workflow::REVISION`).
const STAMPED_REVISION: u32 = 4;

/// How the board reads and keeps its window.
#[derive(Debug, Clone)]
pub struct BoardSettings {
    /// The deployments' task queue: one installation's board.
    pub task_queue: String,
    /// Days of deployments kept.
    pub history_days: u32,
    /// A snapshot older than this is refreshed when someone looks.
    pub refresh_interval: Duration,
    /// The whole window is checked (before revision 4: read again) this often.
    pub rebuild_interval: Duration,
    /// How far back a refresh reads before the last read, for visibility's own delay.
    pub visibility_lag: Duration,
    /// How often a page should ask again (handed to it).
    pub poll_interval: Duration,
    /// GitHub's web root for links.
    pub github_web: Url,
    /// How long one Temporal call may take.
    pub call_timeout: Duration,
}

/// The board's snapshot and how it is kept; cheap to clone.
#[derive(Clone)]
pub struct BoardService {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    settings: BoardSettings,
    /// Whether every worker sets `GdtUpdatedAt`.
    fleet: FleetRevision,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Held by the one refresh running.
    refreshing: tokio::sync::Mutex<()>,
    /// Outcomes by run id; pruned to the snapshot's rows.
    outcomes: Mutex<HashMap<String, Outcome>>,
    /// Refreshes that read what changed, to count the running deployments every
    /// [`RUNNING_COUNT_EVERY`].
    changed_reads: AtomicU32,
    /// Whole days the namespace keeps closed workflows (0: not known yet).
    retention_days: AtomicU32,
    /// The last `/environments` answers made, for the current snapshot only.
    answers: Mutex<Vec<Answer>>,
}

/// An answer, encoded.
#[derive(Debug)]
pub struct Encoded {
    /// The JSON body.
    pub json: Vec<u8>,
    /// Its entity tag, quoted.
    pub tag: String,
}

/// The entity tag of an answer's JSON, quoted: a hash of the body, the same on every server
/// running this build.
pub fn tag_of(json: &[u8]) -> String {
    let mut hasher = std::hash::DefaultHasher::new();
    std::hash::Hasher::write(&mut hasher, json);
    format!("\"{:016x}\"", std::hash::Hasher::finish(&hasher))
}

/// What a read found: the rows, and when the window and the running deployments were last
/// known complete.
struct Read {
    rows: Vec<Row>,
    full_at: DateTime<Utc>,
    verified_at: DateTime<Utc>,
}

/// An encoded `/environments` answer and what it was made from.
struct Answer {
    snapshot: Arc<Snapshot>,
    filter: BoardFilter,
    max: usize,
    encoded: Arc<Encoded>,
}

/// `/environments` answers kept per snapshot: one per filter asked, the pages' unfiltered one
/// first among them.
const CACHED_ANSWERS: usize = 16;

/// One read of the window.
pub struct Snapshot {
    /// The rows, grouped by lane.
    pub board: Board,
    /// When the read started: the answers' `as_of`.
    pub read_at: DateTime<Utc>,
    /// When the whole window was last read, or found complete by a count.
    full_at: DateTime<Utc>,
    /// When the running deployments were last known exactly (listed, or counted and found
    /// the same).
    verified_at: DateTime<Utc>,
    /// The last refresh failed; this is the read before it.
    pub stale: bool,
}

impl BoardService {
    /// A board reading through `client`.
    pub fn new(client: Client, settings: BoardSettings) -> Self {
        let fleet = FleetRevision::new(
            client.clone(),
            settings.task_queue.clone(),
            settings.call_timeout,
        );
        Self {
            inner: Arc::new(Inner {
                client,
                settings,
                fleet,
                snapshot: RwLock::new(None),
                refreshing: tokio::sync::Mutex::new(()),
                outcomes: Mutex::new(HashMap::new()),
                changed_reads: AtomicU32::new(0),
                retention_days: AtomicU32::new(0),
                answers: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &BoardSettings {
        &self.inner.settings
    }

    /// Days of history the board holds: `board.history_days`, or fewer when the namespace
    /// keeps closed workflows for less (its retention, read at each full read).
    pub fn coverage_days(&self) -> u32 {
        let history = self.inner.settings.history_days;
        match self.inner.retention_days.load(Ordering::Relaxed) {
            0 => history,
            retention => history.min(retention),
        }
    }

    /// The current snapshot: read first when there is none, refreshed in the background when
    /// it is older than `refresh_interval`.
    pub async fn snapshot(&self) -> Result<Arc<Snapshot>, ServiceError> {
        let current = self.current();
        match current {
            Some(snapshot) => {
                let age = Utc::now() - snapshot.read_at;
                if age.to_std().unwrap_or_default() >= self.inner.settings.refresh_interval {
                    let board = self.clone();
                    tokio::spawn(async move {
                        if let Err(e) = board.refresh().await {
                            tracing::warn!(error = %e, "the board could not read Temporal; answering from its last read");
                        }
                    });
                }
                Ok(snapshot)
            }
            None => {
                // Spawned, so a caller giving up does not abandon the read.
                let board = self.clone();
                tokio::spawn(async move { board.refresh().await })
                    .await
                    .map_err(|e| {
                        ServiceError::Temporal(format!("the board's read failed: {e}"))
                    })??;
                self.current().ok_or_else(|| {
                    ServiceError::unavailable("the board has not read Temporal yet; retry")
                })
            }
        }
    }

    /// The `/environments` answer of `snapshot`: the lanes `filter` matches, at most `max`.
    fn view_of(&self, snapshot: &Snapshot, filter: &BoardFilter, max: usize) -> EnvironmentsView {
        let (lanes, truncated) = snapshot
            .board
            .lanes(filter, &self.inner.settings.github_web, max);
        EnvironmentsView {
            as_of: build::rfc3339(snapshot.read_at),
            stale: snapshot.stale,
            coverage_days: self.coverage_days(),
            poll_seconds: self.inner.settings.poll_interval.as_secs().max(1),
            lanes,
            truncated,
        }
    }

    /// `GET /api/v1/environments` as JSON with its tag, made once per snapshot and filter: a
    /// page asking again (every `board.poll_interval`) costs a lookup, not a rebuild of
    /// megabytes. The tag is a hash of the body, the same on every server running this build.
    pub async fn environments_json(
        &self,
        filter: &BoardFilter,
        max: usize,
    ) -> Result<Arc<Encoded>, ServiceError> {
        let snapshot = self.snapshot().await?;
        let found = {
            let answers = self.inner.answers.lock().expect("answers lock");
            answers
                .iter()
                .find(|a| {
                    Arc::ptr_eq(&a.snapshot, &snapshot) && a.filter == *filter && a.max == max
                })
                .map(|a| Arc::clone(&a.encoded))
        };
        if let Some(encoded) = found {
            return Ok(encoded);
        }
        let view = self.view_of(&snapshot, filter, max);
        let json = serde_json::to_vec(&view)
            .map_err(|e| ServiceError::Temporal(format!("could not write the board: {e}")))?;
        let tag = tag_of(&json);
        let encoded = Arc::new(Encoded { json, tag });
        let mut answers = self.inner.answers.lock().expect("answers lock");
        // Answers of older snapshots are never asked for again.
        answers.retain(|a| Arc::ptr_eq(&a.snapshot, &snapshot));
        if answers.len() >= CACHED_ANSWERS {
            answers.remove(0);
        }
        answers.push(Answer {
            snapshot,
            filter: filter.clone(),
            max,
            encoded: Arc::clone(&encoded),
        });
        Ok(encoded)
    }

    /// `GET /api/v1/environments/history`: one lane's deployments, newest first.
    pub async fn history(
        &self,
        repository: &str,
        service: Option<&str>,
        environment: &str,
        limit: usize,
    ) -> Result<HistoryView, ServiceError> {
        let snapshot = self.snapshot().await?;
        let (rows, has_more) = snapshot
            .board
            .history(repository, service, environment, limit);
        let missing: Vec<&Row> = rows
            .iter()
            .copied()
            .filter(|r| self.lacks_outcome(r))
            .collect();
        self.read_outcomes(&missing).await;
        let known = self.inner.outcomes.lock().expect("outcomes lock").clone();
        let deployments = rows
            .into_iter()
            .map(|row| {
                let mut row = row.clone();
                if row.outcome.is_none() {
                    row.outcome = known.get(&row.run_id).cloned();
                }
                build::deployment(&row)
            })
            .collect();
        Ok(HistoryView {
            repository: repository.to_owned(),
            service: service.map(str::to_owned),
            environment: environment.to_owned(),
            deployments,
            has_more,
        })
    }

    /// `GET /api/v1/dora`: the delivery metrics of the lanes `filter` names.
    pub async fn dora(
        &self,
        filter: &BoardFilter,
        windows: &[u32],
    ) -> Result<DoraView, ServiceError> {
        let snapshot = self.snapshot().await?;
        let rows = snapshot.board.rows_of(filter);
        Ok(super::dora::dora(
            &rows,
            snapshot.read_at,
            windows,
            self.coverage_days(),
        ))
    }

    fn current(&self) -> Option<Arc<Snapshot>> {
        self.inner.snapshot.read().expect("snapshot lock").clone()
    }

    fn publish(&self, snapshot: Snapshot) {
        *self.inner.snapshot.write().expect("snapshot lock") = Some(Arc::new(snapshot));
    }

    /// Reads what changed (or the whole window), publishes it, then reads the outcomes of
    /// what the lanes show and publishes again when it learnt any. One at a time: a caller
    /// finding a refresh under way waits for it and reads nothing more.
    pub async fn refresh(&self) -> Result<(), ServiceError> {
        let Ok(_guard) = self.inner.refreshing.try_lock() else {
            let _wait = self.inner.refreshing.lock().await;
            return Ok(());
        };
        let previous = self.current();
        let now = Utc::now();
        let read = match previous.as_ref() {
            Some(p) => self.read_after(p, now).await,
            None => self.read_window(now).await,
        };
        let Read {
            rows,
            full_at,
            verified_at,
        } = match read {
            Ok(read) => read,
            Err(e) => {
                if let Some(p) = previous {
                    self.publish(Snapshot {
                        board: p.board.clone(),
                        stale: true,
                        ..*p
                    });
                }
                return Err(e);
            }
        };
        self.prune_outcomes(&rows);
        let board = Board::new(self.with_outcomes(rows.clone()));
        let missing: Vec<Row> = board
            .in_place()
            .filter(|r| self.lacks_outcome(r))
            .cloned()
            .collect();
        let snapshot = |board| Snapshot {
            board,
            read_at: now,
            full_at,
            verified_at,
            stale: false,
        };
        self.publish(snapshot(board));
        for batch in missing.chunks(OUTCOMES_PER_BATCH) {
            let batch: Vec<&Row> = batch.iter().collect();
            if self.read_outcomes(&batch).await > 0 {
                self.publish(snapshot(Board::new(self.with_outcomes(rows.clone()))));
            }
        }
        Ok(())
    }

    /// The first day of the window at `now`.
    fn window_start(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.inner.settings.history_days))
    }

    /// The whole window: every running deployment and those closed within it.
    async fn read_window(&self, now: DateTime<Utc>) -> Result<Read, ServiceError> {
        metrics().board_read(BoardRead::Window);
        self.read_retention().await;
        Ok(Read {
            rows: self.read_rows(self.window_start(now)).await?,
            full_at: now,
            verified_at: now,
        })
    }

    /// The rows after `previous`: what changed, every running deployment when the running
    /// ones are due to be counted and the count differs, the window again when it is due and
    /// cannot be checked more cheaply.
    async fn read_after(
        &self,
        previous: &Snapshot,
        now: DateTime<Utc>,
    ) -> Result<Read, ServiceError> {
        let settings = &self.inner.settings;
        let lag = chrono::Duration::from_std(settings.visibility_lag).unwrap_or_default();
        let check_due =
            (now - previous.full_at).to_std().unwrap_or_default() >= settings.rebuild_interval;
        let every_worker_stamps = self
            .inner
            .fleet
            .revision()
            .await
            .is_some_and(|revision| revision >= STAMPED_REVISION);
        // What a list of the running ones must add to: what closed since they were last known.
        let unverified_since = previous.verified_at - lag;
        if !every_worker_stamps {
            if check_due {
                return self.read_window(now).await;
            }
            return Ok(Read {
                rows: self
                    .read_since(previous.board.rows(), unverified_since, now)
                    .await?,
                full_at: previous.full_at,
                verified_at: now,
            });
        }
        let queries = refresh_queries(&settings.task_queue, previous.read_at - lag);
        metrics().board_read(BoardRead::Changed);
        let changed = self
            .within_read_deadline(self.list_rows(queries.changed))
            .await?;
        let mut read = Read {
            rows: visibility::merge_changed(previous.board.rows(), changed, self.window_start(now)),
            full_at: previous.full_at,
            verified_at: previous.verified_at,
        };
        let refreshes = self.inner.changed_reads.fetch_add(1, Ordering::Relaxed);
        if !refreshes.is_multiple_of(RUNNING_COUNT_EVERY) && !check_due {
            return Ok(read);
        }
        let running = self.count(queries.running).await?;
        let shown = visibility::running(&read.rows);
        if running != shown {
            tracing::info!(
                running,
                shown,
                "the board's running deployments differ from Temporal's (one ended without a \
                 state change, or started without GdtUpdatedAt); reading every running one"
            );
            read.rows = self.read_since(&read.rows, unverified_since, now).await?;
        }
        read.verified_at = now;
        if !check_due {
            return Ok(read);
        }
        self.read_retention().await;
        let check_start = now - chrono::Duration::days(i64::from(self.checked_days()));
        metrics().board_read(BoardRead::WindowCheck);
        let closed = self
            .count(closed_count_query(&settings.task_queue, check_start))
            .await?;
        let held = visibility::closed_since(&read.rows, check_start);
        if closed == held {
            read.full_at = now;
            Ok(read)
        } else {
            tracing::info!(
                closed,
                held,
                "the board's window differs from Temporal's; reading it again"
            );
            self.read_window(now).await
        }
    }

    /// Days the window check counts: the coverage, less the day in which the namespace may
    /// be deleting what its retention let go.
    fn checked_days(&self) -> u32 {
        let coverage = self.coverage_days();
        if coverage < self.inner.settings.history_days {
            coverage.saturating_sub(1).max(1)
        } else {
            coverage
        }
    }

    /// Every running deployment and those closed since `since`, with the closed rows of
    /// `rows` still in the window.
    async fn read_since(
        &self,
        rows: &[Row],
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Row>, ServiceError> {
        metrics().board_read(BoardRead::Running);
        let window_start = self.window_start(now);
        let mut fetched = self.read_rows(since).await?;
        let fresh: HashSet<&str> = fetched.iter().map(|r| r.run_id.as_str()).collect();
        let kept: Vec<Row> = rows
            .iter()
            .filter(|r| !r.running() && !fresh.contains(r.run_id.as_str()))
            .filter(|r| r.closed_at.is_some_and(|c| c >= window_start))
            .cloned()
            .collect();
        fetched.extend(kept);
        Ok(fetched)
    }

    /// Learns how long the namespace keeps closed workflows; a failure leaves what was known
    /// (the board then assumes `board.history_days`).
    async fn read_retention(&self) {
        let request = DescribeNamespaceRequest {
            namespace: self.inner.client.namespace(),
            ..DescribeNamespaceRequest::default()
        };
        let mut service = self.inner.client.connection().workflow_service();
        let answer = tokio::time::timeout(
            self.inner.settings.call_timeout,
            service.describe_namespace(tonic::Request::new(request)),
        )
        .await;
        let ttl = match answer {
            Ok(Ok(answer)) => answer
                .into_inner()
                .config
                .and_then(|c| c.workflow_execution_retention_ttl),
            _ => None,
        };
        if let Some(ttl) = ttl.filter(|t| t.seconds > 0) {
            let days = u32::try_from((ttl.seconds + 86_399) / 86_400).unwrap_or(u32::MAX);
            self.inner.retention_days.store(days, Ordering::Relaxed);
            if days < self.inner.settings.history_days {
                tracing::warn!(
                    retention_days = days,
                    history_days = self.inner.settings.history_days,
                    "the namespace keeps closed workflows for less than board.history_days: \
                     the board and the delivery metrics cover only the retention; raise it with \
                     `temporal operator namespace update --retention`"
                );
            }
        }
    }

    /// The deployment workflows of this task queue running, or closed since `since`: the
    /// running ones first, then the closed ones ([`rows_queries`]), so one that closes
    /// in between is in the second list; a run in both is kept once, closed.
    async fn read_rows(&self, since: DateTime<Utc>) -> Result<Vec<Row>, ServiceError> {
        self.within_read_deadline(async {
            let [running, closed] = rows_queries(&self.inner.settings.task_queue, since);
            let running = self.list_rows(running).await?;
            let mut rows = self.list_rows(closed).await?;
            let closed: HashSet<String> = rows.iter().map(|r| r.run_id.clone()).collect();
            rows.extend(running.into_iter().filter(|r| !closed.contains(&r.run_id)));
            Ok(rows)
        })
        .await
    }

    /// `read`, lists of pages, within a generous multiple of the call timeout: the pages of
    /// a whole window may take longer than one call, and each page is bounded by the call
    /// timeout already.
    async fn within_read_deadline<T>(
        &self,
        read: impl Future<Output = Result<T, ServiceError>>,
    ) -> Result<T, ServiceError> {
        let deadline = self.inner.settings.call_timeout * 12;
        tokio::time::timeout(deadline, read).await.map_err(|_| {
            ServiceError::Unavailable(format!(
                "could not read the board's deployments from Temporal's visibility within \
                 {deadline:?}; check that Temporal is reachable"
            ))
        })?
    }

    /// Every page of one visibility query, as rows.
    async fn list_rows(&self, query: String) -> Result<Vec<Row>, ServiceError> {
        let options = WorkflowListOptions::builder()
            .rpc_options(self.rpc_options())
            .build();
        let mut stream = self.inner.client.list_workflows(query, options);
        let mut rows = Vec::new();
        while let Some(item) = stream.next().await {
            let execution = item.map_err(|e| from_client_error(&e))?;
            if let Some(row) = row_of(&execution) {
                rows.push(row);
            }
        }
        Ok(rows)
    }

    /// How many workflows `query` matches.
    async fn count(&self, query: String) -> Result<usize, ServiceError> {
        let options = WorkflowCountOptions::builder()
            .rpc_options(self.rpc_options())
            .build();
        // Bounded by its options, as each page of a list is.
        let counted = self
            .inner
            .client
            .count_workflows(query, options)
            .await
            .map_err(|e| from_client_error(&e))?;
        Ok(counted.count())
    }

    fn lacks_outcome(&self, row: &Row) -> bool {
        !row.running()
            && row.outcome.is_none()
            && !self
                .inner
                .outcomes
                .lock()
                .expect("outcomes lock")
                .contains_key(&row.run_id)
    }

    fn with_outcomes(&self, mut rows: Vec<Row>) -> Vec<Row> {
        let known = self.inner.outcomes.lock().expect("outcomes lock");
        for row in &mut rows {
            if row.outcome.is_none() {
                row.outcome = known.get(&row.run_id).cloned();
            }
        }
        rows
    }

    fn prune_outcomes(&self, rows: &[Row]) {
        let runs: HashSet<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
        self.inner
            .outcomes
            .lock()
            .expect("outcomes lock")
            .retain(|run, _| runs.contains(run.as_str()));
    }

    /// Reads the outcomes of `rows` (closed, unknown so far), a few at a time; how many it
    /// learnt. One that cannot be read now is tried again on a later look.
    async fn read_outcomes(&self, rows: &[&Row]) -> usize {
        let runs: Vec<(String, String)> = rows
            .iter()
            .map(|r| (r.workflow_id.clone(), r.run_id.clone()))
            .collect();
        let read: Vec<(String, Outcome)> = futures::stream::iter(runs)
            .map(|(workflow_id, run_id)| {
                let board = self.clone();
                async move { board.read_outcome(workflow_id).await.map(|o| (run_id, o)) }
            })
            .buffer_unordered(OUTCOME_CONCURRENCY)
            .filter_map(|o| async move { o })
            .collect()
            .await;
        let count = read.len();
        self.inner
            .outcomes
            .lock()
            .expect("outcomes lock")
            .extend(read);
        count
    }

    /// The outcome of a closed run, from its close event; a run that did not complete has
    /// an empty one (so it is not read again).
    async fn read_outcome(&self, workflow_id: String) -> Option<Outcome> {
        let handle = self
            .inner
            .client
            .get_workflow_handle::<UntypedWorkflow>(workflow_id);
        let options = WorkflowFetchHistoryOptions::builder()
            .skip_archival(true)
            .event_filter_type(HistoryEventFilterType::CloseEvent)
            .rpc_options(self.rpc_options())
            .build();
        let events = tokio::time::timeout(
            self.inner.settings.call_timeout,
            handle.fetch_history(options).into_events(),
        )
        .await
        .ok()?
        .ok()?;
        let Some(Attributes::WorkflowExecutionCompletedEventAttributes(done)) =
            events.into_iter().last()?.attributes
        else {
            return Some(Outcome::default());
        };
        let payload = done.result?.payloads.into_iter().next()?;
        let result: DeploymentWorkflowResult = serde_json::from_slice(&payload.data).ok()?;
        Some(Outcome {
            deployment_id: result.deployment_id,
            final_status: result.final_status,
            log_url: result.log_url,
            environment_url: result.environment_url,
        })
    }

    fn rpc_options(&self) -> RpcOptions {
        rpc_options(self.inner.settings.call_timeout)
    }
}
