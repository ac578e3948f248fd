//! `gdt worker`: runs deployment workflows and activities and the clean-up of closed pull
//! requests' previews, and the pull-request checks on their own task queue (unless
//! `pr_checks.enabled` is false), until SIGTERM/SIGINT.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use anyhow::Context as _;
use gdt_config::Config;
use gdt_metrics::labels::Process;
use gdt_server::health::{Probe, Readiness};
use gdt_tracker::deployments::{
    fleet, DeploymentActivities, DeploymentService, GitHubDeploymentWorkflow, StartActivities,
};
use gdt_tracker::external::{ExternalActivities, ExternalDeploymentWorkflow};
use gdt_tracker::lanes::{Inactivation, LaneActivities, LaneSettings, LaneWorkflow};
use gdt_tracker::pr_checks::{
    CheckRunClaimWorkflow, CheckRunClaims, PluginUpdateValidationWorkflow, PrCheckActivities,
    PrCheckSettings, VersionValidationWorkflow,
};
use gdt_tracker::pr_cleanup::{
    CleanupSettings, MatchRules, PrCleanupActivities, PrCleanupSettings, PullRequestCleanupWorkflow,
};
use temporalio_sdk::runtime::worker_tuner::{FixedSizeSlotSupplier, TunerHolder};
use temporalio_sdk::{Runtime, Worker, WorkerOptions};

use crate::github::PendingCheck;
use crate::observability::{Ports, Telemetry};

/// `gdt worker`.
///
/// Everything that can be checked without the network is checked first (the same checks as
/// `gdt config check`), then the GitHub credentials against GitHub (a refusal stops the
/// worker before it takes a task), then Temporal.
pub(crate) async fn run(config: Config) -> anyhow::Result<()> {
    let github = crate::github::client(&config)?;
    pr_check_settings(&config)?;
    let ports = Ports::bind(&config).await?;
    let telemetry = Telemetry::start(&config, Process::Worker)?;
    let credentials_check =
        crate::github::check_at_start(&github, crate::github::Identity::of(&config)).await?;
    let temporal =
        crate::temporal::connect_metered(&config.temporal, telemetry.client_meter()?).await?;
    crate::temporal::ensure_search_attributes(&temporal, &config.temporal.namespace).await?;
    let probes = Some(WorkerProbes {
        metrics_address: ports.metrics_address(),
        probes: ports.probes(&telemetry),
    });
    serve(
        &config,
        &telemetry,
        temporal,
        github,
        credentials_check,
        probes,
        super::shutdown_signal(),
    )
    .await
}

/// The worker's own `/health`, `/ready` and `/metrics` (`gdt dev` serves the API server's).
pub(crate) struct WorkerProbes {
    probes: gdt_server::Probes,
    metrics_address: Option<std::net::SocketAddr>,
}

/// Runs a worker on the configured task queue until `shutdown` resolves, then lets
/// in-flight tasks finish (within the graceful period) and returns.
///
/// `credentials_check` is a GitHub credentials check still waiting for GitHub (see
/// [`crate::github::check_at_start`]): if GitHub then refuses the credentials, the worker
/// stops as on `shutdown` and returns that error.
pub(crate) async fn serve(
    config: &Config,
    telemetry: &Telemetry,
    temporal: temporalio_client::Client,
    github: gdt_github::Client,
    credentials_check: Option<PendingCheck>,
    probes: Option<WorkerProbes>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let metric_environments = config.dora.metric_environments.clone().unwrap_or_default();
    let left_out = gdt_tracker::deployments::prime_metrics(&metric_environments);
    if !left_out.is_empty() {
        tracing::warn!(
            ?left_out,
            max = gdt_metrics::MAX_METRIC_ENVIRONMENTS,
            "dora.metric_environments names more environments than the delivery metrics label \
             by name; these are counted as `other`"
        );
    }
    let polling = Arc::new(AtomicBool::new(false));
    let (probes_stop, probes_stopped) = tokio::sync::oneshot::channel::<()>();
    let mut probe_addresses = None;
    if let Some(WorkerProbes {
        probes,
        metrics_address,
    }) = probes
    {
        probe_addresses = Some((probes.health.local_addr()?, metrics_address));
        let readiness = readiness(config, &temporal, &github, Arc::clone(&polling));
        tokio::spawn(async move {
            let stopped = async {
                let _ = probes_stopped.await;
            };
            if let Err(e) = gdt_server::serve_probes(probes, readiness, stopped).await {
                tracing::error!(error = %e, "the health and metrics listeners stopped");
            }
        });
    }
    let runtime = Runtime::from_current_tokio(telemetry.runtime_options()?)
        .context("cannot start the Temporal runtime")?;
    let lane_activities = || {
        LaneActivities::new(
            temporal.clone(),
            github.clone(),
            config.temporal.task_queue.clone(),
            lane_settings(config),
        )
    };
    let options = WorkerOptions::new(config.temporal.task_queue.clone())
        // Says which workflow revision this worker runs, so starts ask for it only once every
        // worker of the queue does (`deployments::fleet`).
        .client_identity_override(fleet::worker_identity())
        .register_activities(DeploymentActivities::new(github.clone()))
        .register_activities(StartActivities::new(
            DeploymentActivities::new(github.clone()),
            lane_activities(),
        ))
        .register_workflow::<GitHubDeploymentWorkflow>()
        .context("cannot register GitHubDeploymentWorkflow")?
        .register_activities(lane_activities())
        .register_workflow::<LaneWorkflow>()
        .context("cannot register LaneWorkflow")?
        // Watchers of deployments created by others share the deployments' task queue.
        .register_activities(ExternalActivities::new(github.clone()))
        .register_workflow::<ExternalDeploymentWorkflow>()
        .context("cannot register ExternalDeploymentWorkflow")?
        .register_activities(PrCleanupActivities::new(
            github.clone(),
            temporal.clone(),
            pr_cleanup_settings(config),
        ))
        .register_workflow::<PullRequestCleanupWorkflow>()
        .context("cannot register PullRequestCleanupWorkflow")?
        .tuner(tuner(config))
        .graceful_shutdown_period(std::time::Duration::from_secs(20))
        .build();
    let mut workers = vec![Worker::new(&runtime, temporal.clone(), options)
        .context("cannot create the Temporal worker")?];
    if config.pr_checks.enabled {
        let settings = pr_check_settings(config)?;
        let options = WorkerOptions::new(config.pr_checks.task_queue.clone())
            .register_activities(PrCheckActivities::new(
                github,
                CheckRunClaims::new(temporal.clone(), config.pr_checks.task_queue.clone()),
                settings,
            ))
            .register_workflow::<PluginUpdateValidationWorkflow>()
            .context("cannot register PluginUpdateValidationWorkflow")?
            .register_workflow::<VersionValidationWorkflow>()
            .context("cannot register VersionValidationWorkflow")?
            .register_workflow::<CheckRunClaimWorkflow>()
            .context("cannot register CheckRunClaimWorkflow")?
            .tuner(tuner(config))
            .graceful_shutdown_period(std::time::Duration::from_secs(20))
            .build();
        workers.push(
            Worker::new(&runtime, temporal, options)
                .context("cannot create the pull-request checks worker")?,
        );
    }
    let stops: Vec<_> = workers.iter().map(|w| w.shutdown_handle()).collect();
    let stopping = Arc::clone(&polling);
    let refused = async move {
        if let Some(check) = credentials_check {
            if let Err(e) = check.await {
                return e;
            }
        }
        std::future::pending().await
    };
    let (refusal_tx, mut refusal_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        tokio::select! {
            () = shutdown => {
                tracing::info!("shutting down the worker; letting running tasks finish");
            }
            e = refused => {
                tracing::error!(error = %e, "stopping the worker: GitHub refused its credentials");
                let _ = refusal_tx.send(e);
            }
        }
        // Not ready from here on: the pollers are stopping.
        stopping.store(false, Ordering::SeqCst);
        for stop in stops {
            stop();
        }
    });
    tracing::info!(
        environment = %config.app.environment,
        task_queue = %config.temporal.task_queue,
        pr_checks_task_queue = %if config.pr_checks.enabled { config.pr_checks.task_queue.as_str() } else { "(disabled)" },
        namespace = %config.temporal.namespace,
        health = %probe_addresses.map_or_else(|| "(gdt dev: the API server's)".to_owned(), |(h, _)| h.to_string()),
        metrics = %probe_addresses.and_then(|(_, m)| m).map_or_else(|| "(off)".to_owned(), |m| m.to_string()),
        "worker started"
    );
    let runs = workers.iter_mut().map(|w| w.run());
    polling.store(true, Ordering::SeqCst);
    let results = futures::future::join_all(runs).await;
    polling.store(false, Ordering::SeqCst);
    let _ = probes_stop.send(());
    for result in results {
        result.context("the worker stopped with an error")?;
    }
    if let Ok(refusal) = refusal_rx.try_recv() {
        return Err(refusal);
    }
    tracing::info!("worker stopped");
    Ok(())
}

/// The worker's `/ready`: Temporal answers and the pollers run, and GitHub takes the
/// credentials; answers are reused for `server.ready_cache`, as the API server's are.
fn readiness(
    config: &Config,
    temporal: &temporalio_client::Client,
    github: &gdt_github::Client,
    polling: Arc<AtomicBool>,
) -> Readiness {
    let service = DeploymentService::new(
        temporal.clone(),
        config.temporal.task_queue.clone(),
        config.deployment.execution_timeout,
        config.server.temporal_timeout,
    );
    let temporal_probe: Probe = Arc::new(move || {
        let service = service.clone();
        let polling = Arc::clone(&polling);
        Box::pin(async move {
            if !polling.load(Ordering::SeqCst) {
                return Err("the worker's pollers are not running".to_owned());
            }
            service.ping().await.map_err(|e| e.to_string())
        })
    });
    Readiness::new(
        temporal_probe,
        Some(crate::github::readiness_check(github.clone())),
        config.server.ready_cache,
    )
}

fn tuner(config: &Config) -> TunerHolder {
    let wo = &config.temporal.worker_options;
    TunerHolder::builder()
        .workflow_task_slot_supplier(FixedSizeSlotSupplier::new(wo.max_concurrent_workflow))
        .activity_task_slot_supplier(FixedSizeSlotSupplier::new(wo.max_concurrent_activity))
        .local_activity_task_slot_supplier(FixedSizeSlotSupplier::new(wo.max_concurrent_activity))
        .nexus_task_slot_supplier(FixedSizeSlotSupplier::new(1))
        .build()
}

/// What the clean-up of a closed pull request's previews matches and does (`pr_cleanup`).
pub(crate) fn pr_cleanup_settings(config: &Config) -> PrCleanupSettings {
    let pc = &config.pr_cleanup;
    PrCleanupSettings {
        rules: MatchRules {
            environment_patterns: pc.environment_patterns.clone().unwrap_or_default(),
            match_head_ref: pc.match_head_ref,
        },
        cleanup: CleanupSettings {
            enabled: pc.enabled,
            delete_deployments: pc.delete_deployments,
            delete_environments: pc.delete_environments,
            write_interval_ms: u64::try_from(pc.write_interval.as_millis()).unwrap_or(u64::MAX),
        },
    }
}

/// The PR checks' patterns, schemas and report mode from configuration, checked before the
/// worker starts: a bad pattern or schema stops it with the key to fix.
pub(crate) fn pr_check_settings(config: &Config) -> anyhow::Result<PrCheckSettings> {
    let pc = &config.pr_checks;
    let defaults = gdt_pr_checks::FilePatterns::default();
    let patterns = gdt_pr_checks::FilePatterns {
        code: pc.code_patterns.clone().unwrap_or(defaults.code),
        plugin: pc.plugin_patterns.clone().unwrap_or(defaults.plugin),
    }
    .compile()
    .context("invalid pattern in pr_checks.code_patterns / pr_checks.plugin_patterns")?;
    let rules: Vec<gdt_pr_checks::SchemaRule> = pc
        .load_schemas()?
        .into_iter()
        .map(|(pattern, schema)| gdt_pr_checks::SchemaRule { pattern, schema })
        .collect();
    let schemas =
        gdt_pr_checks::compile_schema_rules(&rules).context("invalid rule in pr_checks.schemas")?;
    Ok(PrCheckSettings {
        patterns,
        schemas,
        comments: pc.report.comments(),
        check_runs: pc.report.check_runs(),
        version_paths: gdt_pr_checks::VersionPaths {
            version_file: pc.version_file.clone(),
            plugin_json: pc.plugin_manifest.clone(),
        },
    })
}

/// The lane rules of `deployment.*`, as the `JoinLane` activity hands them to deployments.
fn lane_settings(config: &Config) -> LaneSettings {
    LaneSettings {
        inactivation: match config.deployment.inactivation {
            gdt_config::Inactivation::Gdt => Inactivation::Gdt,
            gdt_config::Inactivation::Github => Inactivation::Github,
            gdt_config::Inactivation::Off => Inactivation::Off,
        },
        supersede: config.deployment.supersede,
        idle_timeout_secs: config.deployment.lane_idle_timeout.as_secs().max(1),
    }
}
