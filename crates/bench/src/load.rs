//! The load: many deployments, each started, sent its status updates as signals and (when
//! asked) waited for, with at most `concurrency` in flight, each leaving a [`Trace`] of what
//! was sent when and what came back.
//!
//! Every deployment acts like a pipeline: it starts `GitHubDeploymentWorkflow` (through
//! [`DeploymentService::start`], as `gdt track start` does) with the initial status `queued`,
//! then signals `deployment-status-update` `updates` times, the last one `success`. The
//! ceiling ([`crate::ceiling`]) runs the same workflow on a task queue of its own, so it is
//! driven by the same code with the same inputs, signals and options.
//!
//! Each deployment has a repository of its own (`gdt-bench/<name>-<index>`), so whatever
//! reached GitHub for it is found by path, and GitHub's `auto_inactive` (which touches other
//! deployments of the same repository and environment) never mixes deployments up. With
//! `lane_size` above 1 (chaos's superseding phase), consecutive deployments share a lane
//! instead: `lane_size` deployments of one service, two services per repository
//! (`gdt-bench/<name>-lane-<n>`, services `svc-0` and `svc-1`), each starting while the one
//! before is still running, so the newer supersedes it.
//!
//! Temporal calls that fail for a passing reason (Temporal restarting, a deadline) are
//! retried with the same workflow id, signal request id and `event_id`, so a retry never
//! counts twice, until `give_up_after`; that is what a careful pipeline does, and what lets
//! the chaos run go on through a Temporal restart.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use gdt_tracker::deployments::{
    DeploymentService, DeploymentStatusUpdate, DeploymentWorkflowInput, DeploymentWorkflowResult,
    GitHubDeploymentWorkflow, ServiceError,
};
use temporalio_client::errors::{WorkflowGetResultError, WorkflowInteractionError};
use temporalio_client::{Client, WorkflowGetResultOptions, WorkflowSignalOptions};
use tonic::Code;

/// The owner of every repository the load deploys to.
pub const OWNER: &str = "gdt-bench";

/// The initial status of every deployment.
pub const INITIAL_STATUS: &str = "queued";

/// The shape of a load.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// Unique within the Temporal server: prefixes workflow ids and repository names.
    pub name: String,
    /// A label carried into every trace (the chaos phase).
    pub phase: String,
    /// The deployments are `first..first + count`.
    pub first: usize,
    /// How many deployments.
    pub count: usize,
    /// Status updates sent after the start (at least 1; the last is `success`).
    pub updates: usize,
    /// Deployments in flight at once.
    pub concurrency: usize,
    /// Pause before each update, drawn uniformly from this range of milliseconds.
    pub update_gap_ms: (u64, u64),
    /// Starts spread evenly over this long (zero: as fast as `concurrency` allows), so
    /// faults meet deployments at every point of their lives.
    pub start_spread: Duration,
    /// Whether a deployment stays in flight until its workflow's result is in.
    pub wait_for_result: bool,
    /// The workflows' inactivity timeout.
    pub inactivity_timeout: Duration,
    /// The workflows' execution timeout.
    pub execution_timeout: Duration,
    /// How long a Temporal call that keeps failing for a passing reason is retried.
    pub give_up_after: Duration,
    /// Deployments per lane (repository, environment, service): 1 gives each deployment a
    /// repository of its own.
    pub lane_size: usize,
}

/// The status words a deployment sends after its start: `in_progress` and `queued` taking
/// turns (so no state follows itself), and `success` last.
pub fn update_words(updates: usize) -> Vec<&'static str> {
    (0..updates)
        .map(|i| {
            if i + 1 == updates {
                "success"
            } else if i % 2 == 0 {
                "in_progress"
            } else {
                "queued"
            }
        })
        .collect()
}

/// What one deployment sent and got back.
#[derive(Debug, Clone)]
pub struct Trace {
    /// Its index within the load.
    pub index: usize,
    /// The workflow id.
    pub workflow_id: String,
    /// The repository's name (the owner is [`OWNER`]).
    pub repo: String,
    /// The lane it shares with other deployments of the load (`repo#service`), if any.
    pub lane: Option<String>,
    /// The load's phase label.
    pub phase: String,
    /// When the start call was first made.
    pub start_sent_at: DateTime<Utc>,
    /// Why the workflow could not be started, if it could not.
    pub start_error: Option<String>,
    /// The updates, in the order sent.
    pub updates: Vec<SentUpdate>,
    /// When the result came back.
    pub finished_at: Option<DateTime<Utc>>,
    /// How the workflow ended, as far as the load knows.
    pub outcome: Outcome,
}

/// One status update a deployment sent.
#[derive(Debug, Clone)]
pub struct SentUpdate {
    /// The status word.
    pub word: &'static str,
    /// Its `event_id`.
    pub event_id: String,
    /// When it was first sent (`None`: never sent, because the deployment had already failed).
    pub sent_at: Option<DateTime<Utc>>,
    /// Whether Temporal accepted the signal.
    pub delivered: bool,
    /// Signal attempts made.
    pub attempts: u32,
    /// Why it was not delivered.
    pub error: Option<String>,
}

/// How a deployment's workflow ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// It completed with this result.
    Completed(DeploymentWorkflowResult),
    /// It failed, timed out, or was terminated or cancelled.
    Closed(String),
    /// The load did not wait for it.
    NotWaited,
    /// The load could not learn (Temporal kept failing, or the start failed).
    Unknown(String),
}

impl Trace {
    /// `owner/name` of its repository.
    pub fn repository(&self) -> String {
        format!("{OWNER}/{}", self.repo)
    }

    /// The lane it joins (the environment is always the load's `production`).
    pub fn lane_key(&self) -> gdt_tracker::lanes::LaneKey {
        let service = self
            .lane
            .as_deref()
            .and_then(|lane| lane.split_once('#'))
            .map(|(_, service)| service.to_owned())
            .unwrap_or_default();
        gdt_tracker::lanes::LaneKey {
            repo_owner: OWNER.to_owned(),
            repo_name: self.repo.clone(),
            environment: "production".to_owned(),
            service,
        }
    }

    /// The GitHub deployment id, when the workflow completed.
    pub fn deployment_id(&self) -> Option<u64> {
        match &self.outcome {
            Outcome::Completed(result) => Some(result.deployment_id),
            _ => None,
        }
    }

    /// Start call → result, when the result came back.
    pub fn end_to_end(&self) -> Option<chrono::TimeDelta> {
        self.finished_at.map(|t| t - self.start_sent_at)
    }

    /// When its last update was sent (or its start, without updates).
    pub fn last_sent_at(&self) -> DateTime<Utc> {
        self.updates
            .iter()
            .filter_map(|u| u.sent_at)
            .max()
            .unwrap_or(self.start_sent_at)
    }
}

/// Counters a progress line is printed from.
#[derive(Debug, Default)]
pub struct Progress {
    /// Deployments started.
    pub started: AtomicUsize,
    /// Deployments whose updates are all sent.
    pub sent: AtomicUsize,
    /// Deployments out of flight.
    pub done: AtomicUsize,
    /// Calls retried after a passing failure.
    pub retries: AtomicUsize,
}

impl Progress {
    /// Prints a progress line to stderr every `every` until the returned guard is dropped.
    pub fn print_every(
        self: &Arc<Self>,
        label: String,
        total: usize,
        every: Duration,
    ) -> ProgressPrinter {
        let progress = self.clone();
        let started = Instant::now();
        ProgressPrinter(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                eprintln!(
                    "  {label}: {} started, {} sent, {} done of {total} ({} retries) after {:.0} s",
                    progress.started.load(Ordering::Relaxed),
                    progress.sent.load(Ordering::Relaxed),
                    progress.done.load(Ordering::Relaxed),
                    progress.retries.load(Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                );
            }
        }))
    }
}

/// Stops printing progress when dropped.
pub struct ProgressPrinter(tokio::task::JoinHandle<()>);

impl Drop for ProgressPrinter {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts, signals and waits for deployment workflows on one task queue (whichever worker,
/// the tracker's or the ceiling's, polls it).
#[derive(Clone)]
pub struct Driver {
    client: Client,
    task_queue: String,
}

/// Why a Temporal call failed: worth retrying, or not.
enum CallError {
    Passing(String),
    Final(String),
}

impl Driver {
    /// A driver of deployment workflows on `task_queue`.
    pub fn new(client: Client, task_queue: &str) -> Driver {
        Driver {
            client,
            task_queue: task_queue.to_owned(),
        }
    }

    /// Runs the load and returns a trace per deployment, in index order.
    pub async fn run(&self, spec: &LoadSpec, progress: &Arc<Progress>) -> Vec<Trace> {
        let spec = Arc::new(spec.clone());
        let began = tokio::time::Instant::now();
        let mut traces: Vec<Trace> = futures::stream::iter(spec.first..spec.first + spec.count)
            .map(|index| {
                let driver = self.clone();
                let spec = spec.clone();
                let progress = progress.clone();
                // A task per deployment, so the driver's own work spreads over every core.
                let at = began + start_offset(&spec, index - spec.first);
                tokio::spawn(async move {
                    tokio::time::sleep_until(at).await;
                    driver.deploy(&spec, index, &progress).await
                })
            })
            .buffer_unordered(spec.concurrency.max(1))
            .filter_map(|joined| async move { joined.ok() })
            .collect()
            .await;
        traces.sort_by_key(|t| t.index);
        traces
    }

    /// Waits for the result of an already started workflow until `deadline`.
    pub async fn wait_result(&self, workflow_id: &str, deadline: Instant) -> (Outcome, bool) {
        let progress = Progress::default();
        let outcome = self
            .retrying(&progress, deadline, || self.result(workflow_id))
            .await;
        match outcome {
            Ok(outcome) => (outcome, true),
            Err(e) => (Outcome::Unknown(e), false),
        }
    }

    async fn deploy(&self, spec: &LoadSpec, index: usize, progress: &Progress) -> Trace {
        let (repo, service) = if spec.lane_size > 1 {
            let lane = index / spec.lane_size;
            (
                format!("{}-lane-{}", spec.name, lane / 2),
                format!("svc-{}", lane % 2),
            )
        } else {
            (format!("{}-{index}", spec.name), String::new())
        };
        let workflow_id = format!("{OWNER}-{}-{index}", spec.name);
        let deadline = || Instant::now() + spec.give_up_after;
        let mut trace = Trace {
            index,
            workflow_id: workflow_id.clone(),
            repo: repo.clone(),
            lane: (!service.is_empty()).then(|| format!("{repo}#{service}")),
            phase: spec.phase.clone(),
            start_sent_at: Utc::now(),
            start_error: None,
            updates: update_words(spec.updates)
                .into_iter()
                .enumerate()
                .map(|(i, word)| SentUpdate {
                    word,
                    event_id: format!("{workflow_id}-update-{i}"),
                    sent_at: None,
                    delivered: false,
                    attempts: 0,
                    error: None,
                })
                .collect(),
            finished_at: None,
            outcome: Outcome::NotWaited,
        };
        let input = DeploymentWorkflowInput {
            service,
            ..deployment_input(&spec.name, &repo, index, spec.inactivity_timeout)
        };
        let started = self
            .retrying(progress, deadline(), || {
                self.start(spec, &input, &workflow_id)
            })
            .await;
        progress.started.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = started {
            trace.start_error = Some(e.clone());
            trace.outcome = Outcome::Unknown(format!("not started: {e}"));
            progress.done.fetch_add(1, Ordering::Relaxed);
            return trace;
        }
        let total = trace.updates.len();
        for (i, update) in trace.updates.iter_mut().enumerate() {
            pause(spec.update_gap_ms).await;
            let signal = DeploymentStatusUpdate {
                status: update.word.to_owned(),
                description: format!("gdt-bench update {} of {total}", i + 1),
                updated_at: Some(Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
                event_id: Some(update.event_id.clone()),
                ..DeploymentStatusUpdate::default()
            };
            update.sent_at = Some(Utc::now());
            let attempts = std::sync::atomic::AtomicU32::new(0);
            let sent = self
                .retrying(progress, deadline(), || {
                    attempts.fetch_add(1, Ordering::Relaxed);
                    self.signal(&workflow_id, &signal, &update.event_id)
                })
                .await;
            update.attempts = attempts.load(Ordering::Relaxed);
            match sent {
                Ok(()) => update.delivered = true,
                Err(e) => {
                    // The workflow is gone (it failed) or Temporal never took it: the
                    // pipeline would stop reporting here too.
                    update.error = Some(e);
                    break;
                }
            }
        }
        progress.sent.fetch_add(1, Ordering::Relaxed);
        if spec.wait_for_result {
            trace.outcome = match self
                .retrying(progress, deadline(), || self.result(&workflow_id))
                .await
            {
                Ok(outcome) => outcome,
                Err(e) => Outcome::Unknown(e),
            };
            trace.finished_at = Some(Utc::now());
        }
        progress.done.fetch_add(1, Ordering::Relaxed);
        trace
    }

    /// Calls `call` until it succeeds, fails for good, or `deadline` passes.
    async fn retrying<T, F, Fut>(
        &self,
        progress: &Progress,
        deadline: Instant,
        mut call: F,
    ) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CallError>>,
    {
        let mut backoff = Duration::from_millis(200);
        loop {
            match call().await {
                Ok(value) => return Ok(value),
                Err(CallError::Final(e)) => return Err(e),
                Err(CallError::Passing(e)) => {
                    if Instant::now() + backoff >= deadline {
                        return Err(format!("still failing when the harness gave up: {e}"));
                    }
                    progress.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    async fn start(
        &self,
        spec: &LoadSpec,
        input: &DeploymentWorkflowInput,
        workflow_id: &str,
    ) -> Result<(), CallError> {
        // Each call gets 30 s; the retry loop around it decides when to give up.
        let service = DeploymentService::new(
            self.client.clone(),
            self.task_queue.clone(),
            spec.execution_timeout,
            Duration::from_secs(30),
        );
        match service.start(input, workflow_id).await {
            Ok(_) => Ok(()),
            Err(ServiceError::Unavailable(e)) => Err(CallError::Passing(e)),
            Err(e) => Err(CallError::Final(e.to_string())),
        }
    }

    async fn signal(
        &self,
        workflow_id: &str,
        update: &DeploymentStatusUpdate,
        event_id: &str,
    ) -> Result<(), CallError> {
        let payload =
            serde_json::to_value(update).map_err(|e| CallError::Final(format!("update: {e}")))?;
        // The same request id on every attempt: Temporal applies a retried signal once.
        let options = WorkflowSignalOptions::builder()
            .request_id(format!("signal-{event_id}"))
            .build();
        self.client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned())
            .signal(GitHubDeploymentWorkflow::status_update, payload, options)
            .await
            .map_err(|e| match e {
                WorkflowInteractionError::NotFound(status) => CallError::Final(format!(
                    "the workflow is not running any more: {}",
                    status.message()
                )),
                WorkflowInteractionError::Rpc(status) => from_status(&status),
                other => CallError::Final(other.to_string()),
            })
    }

    async fn result(&self, workflow_id: &str) -> Result<Outcome, CallError> {
        let options = WorkflowGetResultOptions::default();
        let result = self
            .client
            .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned())
            .get_result(options)
            .await;
        match result {
            Ok(result) => Ok(Outcome::Completed(result)),
            Err(WorkflowGetResultError::Failed(failure)) => {
                Ok(Outcome::Closed(format!("failed: {failure}")))
            }
            Err(WorkflowGetResultError::TimedOut) => Ok(Outcome::Closed("timed out".into())),
            Err(WorkflowGetResultError::Terminated { .. }) => {
                Ok(Outcome::Closed("terminated".into()))
            }
            Err(WorkflowGetResultError::Cancelled { .. }) => {
                Ok(Outcome::Closed("cancelled".into()))
            }
            Err(WorkflowGetResultError::Rpc(status)) => Err(from_status(&status)),
            Err(e) => Err(CallError::Final(e.to_string())),
        }
    }
}

/// When the `nth` deployment of a load starts, after the load's start: evenly over
/// `start_spread`; in lanes, the lanes evenly and a lane's deployments [`LANE_START_GAP`]
/// apart, so each starts while the one before still runs.
fn start_offset(spec: &LoadSpec, nth: usize) -> Duration {
    if spec.lane_size <= 1 {
        return spec.start_spread.mul_f64(nth as f64 / spec.count as f64);
    }
    let lanes = spec.count.div_ceil(spec.lane_size);
    let (lane, position) = (nth / spec.lane_size, nth % spec.lane_size);
    spec.start_spread.mul_f64(lane as f64 / lanes as f64) + LANE_START_GAP * position as u32
}

/// How long after the one before a deployment of a lane starts.
pub const LANE_START_GAP: Duration = Duration::from_millis(400);

/// Temporal unreachable, overloaded or slow is passing; anything else is final.
fn from_status(status: &tonic::Status) -> CallError {
    let text = format!("{:?}: {}", status.code(), status.message());
    match status.code() {
        Code::Unavailable
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::ResourceExhausted
        | Code::Unknown
        | Code::Aborted
        | Code::Internal => CallError::Passing(text),
        _ => CallError::Final(text),
    }
}

/// A full-length SHA of 40 hex digits, different for every deployment of a run.
pub fn commit_sha() -> String {
    format!(
        "{:032x}{:08x}",
        rand::random::<u128>(),
        rand::random::<u32>()
    )
}

/// What pipeline `name`'s deployment `index` starts with: repository `OWNER/repo`, a fresh
/// full SHA, the initial status `queued`.
pub fn deployment_input(
    name: &str,
    repo: &str,
    index: usize,
    inactivity_timeout: Duration,
) -> DeploymentWorkflowInput {
    DeploymentWorkflowInput {
        repo_owner: OWNER.to_owned(),
        repo_name: repo.to_owned(),
        commit_sha: commit_sha(),
        branch_name: "main".to_owned(),
        environment: "production".to_owned(),
        harness_pipeline_id: format!("gdt-bench-{name}"),
        harness_execution_id: index.to_string(),
        status: INITIAL_STATUS.to_owned(),
        description: "gdt-bench deployment".to_owned(),
        inactivity_timeout_seconds: Some(inactivity_timeout.as_secs().max(1)),
        ..DeploymentWorkflowInput::default()
    }
}

async fn pause((min, max): (u64, u64)) {
    let ms = if max > min {
        min + rand::random::<u64>() % (max - min + 1)
    } else {
        min
    };
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_words_end_in_success_and_never_repeat_a_state() {
        assert_eq!(update_words(1), ["success"]);
        assert_eq!(update_words(2), ["in_progress", "success"]);
        assert_eq!(
            update_words(4),
            ["in_progress", "queued", "in_progress", "success"]
        );
        let mut all = vec![INITIAL_STATUS];
        all.extend(update_words(7));
        assert!(all.windows(2).all(|w| w[0] != w[1]), "{all:?}");
    }

    #[test]
    fn lanes_start_their_deployments_close_together() {
        let spec = |lane_size| LoadSpec {
            name: "t".into(),
            phase: "p".into(),
            first: 10,
            count: 6,
            updates: 2,
            concurrency: 1,
            update_gap_ms: (0, 0),
            start_spread: Duration::from_secs(12),
            wait_for_result: false,
            inactivity_timeout: Duration::from_secs(1),
            execution_timeout: Duration::from_secs(1),
            give_up_after: Duration::from_secs(1),
            lane_size,
        };
        let millis = |lane_size| -> Vec<u128> {
            (0..6)
                .map(|n| start_offset(&spec(lane_size), n).as_millis())
                .collect()
        };
        assert_eq!(millis(1), [0, 2000, 4000, 6000, 8000, 10000]);
        assert_eq!(millis(3), [0, 400, 800, 6000, 6400, 6800]);
    }

    #[test]
    fn shas_are_full_length_hex() {
        let sha = commit_sha();
        assert_eq!(sha.len(), 40);
        assert!(sha.chars().all(|c| c.is_ascii_hexdigit()));
    }
}
