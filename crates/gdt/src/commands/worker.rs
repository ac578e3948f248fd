//! `gdt worker`: runs deployment workflows and activities until SIGTERM/SIGINT.

use std::future::Future;

use anyhow::Context as _;
use gdt_config::Config;
use gdt_tracker::deployments::{DeploymentActivities, GitHubDeploymentWorkflow};
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

/// `gdt worker`.
pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let github = crate::github::client(&config)?;
    let temporal = crate::temporal::connect(&config.temporal).await?;
    crate::temporal::ensure_search_attributes(&temporal, &config.temporal.namespace).await?;
    serve(&config, temporal, github, super::shutdown_signal()).await
}

/// Runs a worker on the configured task queue until `shutdown` resolves, then lets
/// in-flight tasks finish (within the graceful period) and returns.
pub(crate) async fn serve(
    config: &Config,
    temporal: temporalio_client::Client,
    github: gdt_github::Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let runtime = Runtime::from_current_tokio(Default::default())
        .context("cannot start the Temporal runtime")?;
    let wo = &config.temporal.worker_options;
    let tuner = TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(wo.max_concurrent_workflow))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(wo.max_concurrent_activity))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(wo.max_concurrent_activity))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build();
    let options = WorkerOptions::new(config.temporal.task_queue.clone())
        .register_activities(DeploymentActivities::new(github))
        .register_workflow::<GitHubDeploymentWorkflow>()
        .context("cannot register GitHubDeploymentWorkflow")?
        .tuner(tuner)
        .graceful_shutdown_period(std::time::Duration::from_secs(20))
        .build();
    let mut worker =
        Worker::new(&runtime, temporal, options).context("cannot create the Temporal worker")?;
    let stop = worker.shutdown_handle();
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down the worker; letting running tasks finish");
        stop();
    });
    tracing::info!(
        task_queue = %config.temporal.task_queue,
        namespace = %config.temporal.namespace,
        "worker started"
    );
    worker
        .run()
        .await
        .context("the worker stopped with an error")?;
    tracing::info!("worker stopped");
    Ok(())
}
