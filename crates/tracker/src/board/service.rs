//! [`BoardService`]: the board's snapshot of the window, kept per API server from Temporal's
//! visibility, with no database and nothing shared between servers.
//!
//! - **Read on demand.** Nothing is read until someone looks. The first request reads the
//!   window (every deployment workflow of this task queue still running or closed within
//!   `board.history_days`); later requests are answered from the snapshot, and one that finds
//!   it older than `board.refresh_interval` starts a refresh in the background and is answered
//!   at once. A server nobody looks at asks Temporal nothing.
//! - **A refresh reads what changed**: the running workflows and those closed since the last
//!   read, minus two minutes (visibility is written asynchronously), merged by run id. Every
//!   `board.rebuild_interval` the whole window is read again.
//! - **Outcomes** (the GitHub deployment id, the last links) come from the result of a closed
//!   run, read once from its close event and then kept: for each lane's deployment in place, in
//!   batches of [`OUTCOMES_PER_BATCH`] (the snapshot published after each) until all are read,
//!   and for a history when one is opened. Other rows of the grid show what visibility and the
//!   start's memo hold.
//! - **A failed read keeps the last snapshot**, answered with `stale: true`.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use temporalio_client::{
    Client, HistoryEventFilterType, NamespacedClient as _, RpcOptions, UntypedWorkflow,
    WorkflowExecutionStatus, WorkflowFetchHistoryOptions, WorkflowListOptions,
};
use temporalio_common::protos::temporal::api::history::v1::history_event::Attributes;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeNamespaceRequest;
use url::Url;

use super::build::{self, Board};
use super::model::{
    BoardFilter, BoardMemo, DoraView, EnvironmentsView, HistoryView, Outcome, Row, MEMO_KEY,
};
use crate::deployments::model::DeploymentWorkflowResult;
use crate::deployments::service::{quote, status_word};
use crate::deployments::WORKFLOW_TYPE;
use crate::search_attributes as sa;
use crate::service::{from_client_error, rpc_options, ServiceError};

/// Outcomes read between two publications of the snapshot: a cold start shows them batch by
/// batch instead of after all of them.
pub const OUTCOMES_PER_BATCH: usize = 200;
/// Outcomes read at once.
const OUTCOME_CONCURRENCY: usize = 8;
/// How far back a refresh looks before the last read, for visibility's own delay.
const VISIBILITY_LAG: Duration = Duration::from_secs(120);

/// How the board reads and keeps its window.
#[derive(Debug, Clone)]
pub struct BoardSettings {
    /// The deployments' task queue: one installation's board.
    pub task_queue: String,
    /// Days of deployments kept.
    pub history_days: u32,
    /// A snapshot older than this is refreshed when someone looks.
    pub refresh_interval: Duration,
    /// The whole window is read again this often.
    pub rebuild_interval: Duration,
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
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Held by the one refresh running.
    refreshing: tokio::sync::Mutex<()>,
    /// Outcomes by run id; pruned to the snapshot's rows.
    outcomes: Mutex<HashMap<String, Outcome>>,
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
    /// When the whole window was last read.
    full_at: DateTime<Utc>,
    /// The last refresh failed; this is the read before it.
    pub stale: bool,
}

impl BoardService {
    /// A board reading through `client`.
    pub fn new(client: Client, settings: BoardSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                settings,
                snapshot: RwLock::new(None),
                refreshing: tokio::sync::Mutex::new(()),
                outcomes: Mutex::new(HashMap::new()),
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
        let previous_full_at = previous.as_ref().map(|p| p.full_at);
        let now = Utc::now();
        let settings = &self.inner.settings;
        let window_start = now - chrono::Duration::days(i64::from(settings.history_days));
        let full = previous.as_ref().is_none_or(|p| {
            (now - p.full_at).to_std().unwrap_or_default() >= settings.rebuild_interval
        });
        if full {
            self.read_retention().await;
        }
        let since = match &previous {
            Some(p) if !full => {
                p.read_at - chrono::Duration::from_std(VISIBILITY_LAG).unwrap_or_default()
            }
            _ => window_start,
        };
        let fetched = match self.read_rows(since).await {
            Ok(rows) => rows,
            Err(e) => {
                if let Some(p) = previous {
                    self.publish(Snapshot {
                        board: p.board.clone(),
                        read_at: p.read_at,
                        full_at: p.full_at,
                        stale: true,
                    });
                }
                return Err(e);
            }
        };
        let mut rows = fetched;
        if let Some(p) = previous.filter(|_| !full) {
            let fresh: HashSet<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
            let kept: Vec<Row> = p
                .board
                .rows()
                .iter()
                .filter(|r| !r.running() && !fresh.contains(r.run_id.as_str()))
                .filter(|r| r.closed_at.is_some_and(|c| c >= window_start))
                .cloned()
                .collect();
            rows.extend(kept);
        }
        let full_at = if full {
            now
        } else {
            previous_full_at.unwrap_or(now)
        };
        self.prune_outcomes(&rows);
        let board = Board::new(self.with_outcomes(rows.clone()));
        let missing: Vec<Row> = board
            .in_place()
            .filter(|r| self.lacks_outcome(r))
            .cloned()
            .collect();
        self.publish(Snapshot {
            board,
            read_at: now,
            full_at,
            stale: false,
        });
        for batch in missing.chunks(OUTCOMES_PER_BATCH) {
            let batch: Vec<&Row> = batch.iter().collect();
            if self.read_outcomes(&batch).await > 0 {
                self.publish(Snapshot {
                    board: Board::new(self.with_outcomes(rows.clone())),
                    read_at: now,
                    full_at,
                    stale: false,
                });
            }
        }
        Ok(())
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
        let settings = &self.inner.settings;
        // Pages of the whole window may take longer than one call: each page is bounded by
        // the call timeout, and the read by a generous multiple of it.
        let deadline = settings.call_timeout * 12;
        let read = async {
            let [running, closed] = rows_queries(&settings.task_queue, since);
            let running = self.list_rows(running).await?;
            let mut rows = self.list_rows(closed).await?;
            let closed: HashSet<String> = rows.iter().map(|r| r.run_id.clone()).collect();
            rows.extend(running.into_iter().filter(|r| !closed.contains(&r.run_id)));
            Ok::<_, ServiceError>(rows)
        };
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

/// A listed workflow as a board row; `None` for a run that continued as new (its successor
/// is listed) or one without the deployment's search attributes.
/// The visibility queries of a read, in order: the deployment workflows of `task_queue`
/// running, then those closed since `since` (the whole window on a full read, the last read
/// on a refresh). Two plain filters (status; close time) rather than one `OR` of them, which
/// a store can less easily answer from its indexes. On the dev server's SQLite visibility
/// both forms cost the same, about 88 ms of its CPU per refresh with 10,000 deployments in
/// the namespace (`make bench`'s board scenario, `unit_costs`).
pub fn rows_queries(task_queue: &str, since: DateTime<Utc>) -> [String; 2] {
    let base = format!(
        "WorkflowType = {} AND TaskQueue = {}",
        quote(WORKFLOW_TYPE),
        quote(task_queue)
    );
    [
        format!("{base} AND ExecutionStatus = 'Running'"),
        format!("{base} AND CloseTime >= {}", quote(&build::rfc3339(since))),
    ]
}

fn row_of(execution: &temporalio_client::WorkflowExecution) -> Option<Row> {
    if execution.status() == WorkflowExecutionStatus::ContinuedAsNew {
        return None;
    }
    let attrs = execution.search_attributes();
    let utc = |t: SystemTime| DateTime::<Utc>::from(t);
    Some(Row {
        workflow_id: execution.id().to_owned(),
        run_id: execution.run_id().to_owned(),
        workflow_status: status_word(execution.status()),
        started_at: utc(execution.start_time()?),
        closed_at: execution.close_time().map(utc),
        repository: attrs.get(&sa::REPOSITORY)?,
        environment: attrs.get(&sa::ENVIRONMENT)?,
        service: attrs.get(&sa::SERVICE).filter(|s: &String| !s.is_empty()),
        commit_sha: attrs.get(&sa::COMMIT_SHA).unwrap_or_default(),
        state: attrs.get(&sa::STATE).unwrap_or_default(),
        memo: execution.memo().get::<BoardMemo>(MEMO_KEY).ok().flatten(),
        outcome: None,
    })
}
