//! Which revision of `GitHubDeploymentWorkflow` a start may ask for: the one every worker
//! polling the task queue runs.
//!
//! A run's revision is keyed on its start memo ([`REVISION_MEMO_KEY`]), which costs no event,
//! where a patch costs two. But a memo is read by whichever worker runs the first task: a
//! worker of an older release ignores a revision it does not know and runs its own code, and a
//! newer worker that later replays that history (the older one was stopped mid-deployment in
//! a rolling upgrade) would follow the memo and fail on it. So a start asks for a revision
//! only when every worker polling the queue says, in its Temporal identity
//! ([`worker_identity`]), that it runs that revision or a later one. Otherwise (a worker of an
//! older release, no worker polling, Temporal not answering) the start sets no revision, and
//! the run asks the patches, which any mix of workers replays correctly.
//!
//! The board asks too: from revision 4 every state change sets `GdtUpdatedAt`, so once every
//! worker runs it the board can read only the deployments that changed.
//!
//! [`REVISION_MEMO_KEY`]: super::workflow::REVISION_MEMO_KEY

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use temporalio_client::{Client, NamespacedClient as _};
use temporalio_common::protos::temporal::api::enums::v1::TaskQueueType;
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeTaskQueueRequest;

use super::workflow::REVISION;

/// What a worker's identity carries after its `pid@host`: the revision it runs.
const MARK: &str = " gdt-workflow-revision=";

/// How long a start trusts a revision it learned of the pollers: a worker of an older release
/// that joins the queue is seen within this time (until then, it could be handed a start that
/// names a revision it does not know).
pub const FLEET_REFRESH: Duration = Duration::from_secs(60);

/// How soon a start asks again after it learned no revision (no worker polling yet, as when
/// everything starts at once, or an older one among them).
pub const FLEET_RETRY: Duration = Duration::from_secs(5);

/// The Temporal identity of a `gdt worker`: `{pid}@{host} gdt-workflow-revision={REVISION}`.
pub fn worker_identity() -> String {
    format!(
        "{}@{}{MARK}{REVISION}",
        std::process::id(),
        gethostname::gethostname().to_string_lossy()
    )
}

/// The revision every identity runs (the lowest), or `None` when there is none or one does
/// not say (a worker of a release before revision 3, or not a `gdt worker`).
pub fn fleet_revision<'a>(identities: impl IntoIterator<Item = &'a str>) -> Option<u32> {
    let revisions: Option<Vec<u32>> = identities
        .into_iter()
        .map(|identity| identity.rsplit_once(MARK)?.1.parse().ok())
        .collect();
    revisions?.into_iter().min()
}

/// When the pollers were read, and the revision they all run.
type Learned = (Instant, Option<u32>);

/// The revision a start on one task queue may ask for, learned from Temporal's list of the
/// queue's workflow pollers at most every [`FLEET_REFRESH`] ([`FLEET_RETRY`] while none is
/// known).
#[derive(Clone)]
pub struct FleetRevision {
    client: Client,
    task_queue: String,
    call_timeout: Duration,
    known: Arc<Mutex<Option<Learned>>>,
}

impl FleetRevision {
    /// Asks Temporal about `task_queue`'s pollers, each call bounded by `call_timeout`.
    pub fn new(client: Client, task_queue: String, call_timeout: Duration) -> Self {
        Self {
            client,
            task_queue,
            call_timeout,
            known: Arc::new(Mutex::new(None)),
        }
    }

    /// The revision every worker of the queue runs, this release's at most; `None` for none.
    /// A start puts it in its memo; the board reads only what changed from revision 4.
    pub async fn revision(&self) -> Option<u32> {
        let cached = *self.known.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, revision)) = cached {
            let fresh_for = if revision.is_some() {
                FLEET_REFRESH
            } else {
                FLEET_RETRY
            };
            if at.elapsed() < fresh_for {
                return revision;
            }
        }
        let revision = self.read().await.map(|r| r.min(REVISION));
        *self.known.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), revision));
        revision
    }

    async fn read(&self) -> Option<u32> {
        let request = DescribeTaskQueueRequest {
            namespace: self.client.namespace(),
            task_queue: Some(TaskQueue {
                name: self.task_queue.clone(),
                ..TaskQueue::default()
            }),
            task_queue_type: TaskQueueType::Workflow as i32,
            ..DescribeTaskQueueRequest::default()
        };
        let mut service = self.client.connection().workflow_service();
        let answer = tokio::time::timeout(
            self.call_timeout,
            service.describe_task_queue(tonic::Request::new(request)),
        )
        .await;
        match answer {
            Ok(Ok(answer)) => {
                let pollers = answer.into_inner().pollers;
                fleet_revision(pollers.iter().map(|p| p.identity.as_str()))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e.message(), task_queue = %self.task_queue,
                    "could not list the task queue's workers; starting without a revision");
                None
            }
            Err(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fleet_runs_the_lowest_revision_its_workers_say() {
        let cases: [(&[&str], Option<u32>); 6] = [
            (&[], None),
            (&["12@host gdt-workflow-revision=3"], Some(3)),
            (
                &["1@a gdt-workflow-revision=4", "2@b gdt-workflow-revision=3"],
                Some(3),
            ),
            // A worker of an older release says nothing: no revision for anyone.
            (&["1@a gdt-workflow-revision=3", "2@b"], None),
            (&["1@a gdt-workflow-revision=x"], None),
            (&["python-worker"], None),
        ];
        for (identities, expected) in cases {
            assert_eq!(
                fleet_revision(identities.iter().copied()),
                expected,
                "{identities:?}"
            );
        }
    }

    #[test]
    fn a_worker_identity_says_this_release_s_revision() {
        let identity = worker_identity();
        assert_eq!(fleet_revision([identity.as_str()]), Some(REVISION));
        assert!(identity.contains('@'), "{identity}");
    }
}
