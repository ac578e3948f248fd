//! `gdt track …`: deployments through Temporal (start, update, show, wait, list), or with
//! `--api URL` through a `gdt serve` API, with the same answers either way.

use std::time::Duration;

use anyhow::Context as _;
use gdt_config::Config;
use gdt_server::deployments::{DeploymentList, DeploymentStarted, StartDeployment, StatusAccepted};
use gdt_tracker::deployments::{
    DeploymentDetails, DeploymentService, DeploymentStatusUpdate, DeploymentWorkflowInput,
    GitHubDeploymentWorkflow, ListFilter, ListedDeployment,
};
use secrecy::ExposeSecret as _;
use temporalio_client::{WorkflowGetResultOptions, WorkflowSignalOptions};

use crate::api_client::ApiClient;
use crate::cli::{
    split_repo, OutputFormat, TrackArgs, TrackCommand, TrackListArgs, TrackStartArgs,
    TrackUpdateArgs,
};
use crate::output::print;

pub(crate) async fn run(config: &Config, args: TrackArgs, out: OutputFormat) -> anyhow::Result<()> {
    if let Some(url) = args.api {
        let token = match args.api_token {
            Some(token) => token,
            None => config
                .server
                .api_tokens()?
                .first()
                .map(|t| t.expose_secret().to_owned())
                .context(
                    "--api needs a token: set GDT_API_TOKEN (or INTERNAL_API_SHARED_SECRET)",
                )?,
        };
        let api = ApiClient::new(url, &token)?;
        return through_api(config, &api, args.command, out).await;
    }
    let client = crate::temporal::connect(&config.temporal).await?;
    let service = DeploymentService::new(
        client,
        config.temporal.task_queue.clone(),
        config.deployment.execution_timeout,
        Duration::from_secs(30),
    );
    match args.command {
        TrackCommand::Start(args) => {
            let (input, workflow_id) = start_input(config, args)?;
            let outcome = service
                .start_and_wait(&input, &workflow_id, config.server.deployment_id_wait)
                .await?;
            print_started(out, &DeploymentStarted::new(outcome, String::new()));
        }
        TrackCommand::Update(args) => update(&service, args, out).await?,
        TrackCommand::Show(r) => print_view(out, &service.details(&r.workflow_id).await?),
        TrackCommand::Wait(r) => wait(&service, &r.workflow_id, out).await?,
        TrackCommand::List(args) => {
            let rows = service.list(&list_filter(&args)).await?;
            print_list(out, &rows);
        }
    }
    Ok(())
}

async fn through_api(
    config: &Config,
    api: &ApiClient,
    command: TrackCommand,
    out: OutputFormat,
) -> anyhow::Result<()> {
    match command {
        TrackCommand::Start(args) => {
            let (input, workflow_id) = start_input(config, args)?;
            let body = StartDeployment {
                workflow_id: Some(workflow_id),
                input,
            };
            let started: DeploymentStarted = api.post("/api/v1/deployments", &body).await?;
            print_started(out, &started);
        }
        TrackCommand::Update(args) => {
            let path = format!(
                "/api/v1/deployments/{}/status",
                api.segment(&args.workflow_id)
            );
            let update = status_update(args);
            let accepted: StatusAccepted = api.post(&path, &update).await?;
            print(out, &accepted, || {
                format!(
                    "{} {}: {}",
                    accepted.workflow_id, update.status, accepted.ack.outcome
                )
            });
        }
        TrackCommand::Show(r) => {
            let path = format!("/api/v1/deployments/{}", api.segment(&r.workflow_id));
            print_view(out, &api.get(&path).await?);
        }
        TrackCommand::Wait(r) => {
            // The API has no "wait": poll until the workflow has ended, as the direct
            // `track wait` waits for its result.
            let path = format!("/api/v1/deployments/{}", api.segment(&r.workflow_id));
            loop {
                let details: DeploymentDetails = api.get(&path).await?;
                if details.finished() {
                    print_view(out, &details);
                    if let Some(error) = &details.error {
                        anyhow::bail!(
                            "deployment workflow {} {}: {error}",
                            r.workflow_id,
                            details.workflow_status
                        );
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        TrackCommand::List(args) => {
            let filter = list_filter(&args);
            let mut query = vec![("limit", filter.limit.to_string())];
            for (key, value) in [
                ("repository", filter.repository),
                ("environment", filter.environment),
                ("state", filter.state),
                ("service", filter.service),
            ] {
                if let Some(value) = value {
                    query.push((key, value));
                }
            }
            let list: DeploymentList = api.get_with_query("/api/v1/deployments", &query).await?;
            print_list(out, &list.deployments);
        }
    }
    Ok(())
}

/// The workflow input and id for `gdt track start`, checked before anything is sent.
fn start_input(
    config: &Config,
    args: TrackStartArgs,
) -> anyhow::Result<(DeploymentWorkflowInput, String)> {
    let (repo_owner, repo_name) = split_repo(&args.repo)?;
    let input = DeploymentWorkflowInput {
        repo_owner,
        repo_name,
        commit_sha: args.sha,
        branch_name: args.branch,
        environment: args.environment,
        is_transient: args.transient,
        harness_pipeline_id: args.pipeline_id,
        harness_execution_id: args.execution_id,
        status: args.status,
        log_url: args.log_url,
        environment_url: args.environment_url,
        description: args.description,
        production_environment: args.production,
        task: None,
        payload: None,
        inactivity_timeout_seconds: Some(
            args.inactivity_timeout
                .unwrap_or(config.deployment.inactivity_timeout)
                .as_secs()
                .max(1),
        ),
        service: args.service,
        commit_timestamp: args.commit_time,
    };
    input.validate()?;
    let workflow_id = args
        .workflow_id
        .unwrap_or_else(|| input.default_workflow_id());
    Ok((input, workflow_id))
}

fn status_update(args: TrackUpdateArgs) -> DeploymentStatusUpdate {
    DeploymentStatusUpdate {
        status: args.status,
        log_url: args.log_url,
        environment_url: args.environment_url,
        description: args.description,
        updated_at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        event_id: args.event_id,
    }
}

/// Direct to Temporal, the update is the `deployment-status-update` signal: Temporal stores
/// it even while no worker runs.
async fn update(
    service: &DeploymentService,
    args: TrackUpdateArgs,
    out: OutputFormat,
) -> anyhow::Result<()> {
    // Reject a word nobody maps before it reaches the workflow.
    gdt_tracker::deployments::status::map_status(&args.status)?;
    let workflow_id = args.workflow_id.clone();
    let update = status_update(args);
    let handle = service
        .client()
        .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.clone());
    handle
        .signal(
            GitHubDeploymentWorkflow::status_update,
            serde_json::to_value(&update)?,
            WorkflowSignalOptions::default(),
        )
        .await
        .with_context(|| {
            format!(
                "cannot send the update to deployment workflow {workflow_id}: is it running? \
                 (`gdt track show {workflow_id}`)"
            )
        })?;
    print(out, &update, || {
        format!("sent {} to {workflow_id}", update.status)
    });
    Ok(())
}

async fn wait(
    service: &DeploymentService,
    workflow_id: &str,
    out: OutputFormat,
) -> anyhow::Result<()> {
    let handle = service
        .client()
        .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
    let result = handle
        .get_result(WorkflowGetResultOptions::default())
        .await
        .with_context(|| format!("deployment workflow {workflow_id} did not complete"))?;
    print(out, &result, || {
        format!(
            "deployment {} finished {} after {} ({} statuses posted)",
            result.deployment_id, result.final_status, result.total_duration, result.status_updates
        )
    });
    Ok(())
}

fn list_filter(args: &TrackListArgs) -> ListFilter {
    ListFilter {
        repository: args.repo.clone(),
        environment: args.environment.clone(),
        state: args.state.clone(),
        service: args.service.clone(),
        limit: args.limit,
    }
}

fn print_started(out: OutputFormat, started: &DeploymentStarted) {
    print(out, started, || {
        let id = &started.workflow_id;
        let verb = if started.created {
            "started"
        } else {
            "already tracking"
        };
        let deployment = started
            .deployment_id
            .map_or(String::new(), |d| format!(" (GitHub deployment {d})"));
        format!(
            "{verb} {id}{deployment}\nsend updates with: gdt track update {id} --status success"
        )
    });
}

fn print_view(out: OutputFormat, details: &DeploymentDetails) {
    let view = &details.view;
    print(out, details, || {
        let mut text = format!(
            "{} {} @ {}\n  deployment id: {}\n  state: {}{}",
            view.repository,
            view.environment,
            view.commit_sha,
            view.deployment_id
                .map_or("(not created yet)".to_owned(), |id| id.to_string()),
            view.state,
            if view.terminal { " (final)" } else { "" },
        );
        if !view.service.is_empty() {
            text.push_str(&format!("\n  service: {}", view.service));
        }
        if let Some(ended_by) = &view.ended_by {
            text.push_str(&format!("\n  ended by gdt: {}", ended_by.description()));
        }
        text.push_str(&format!("\n  workflow: {}", details.workflow_status));
        if let Some(error) = &details.error {
            text.push_str(&format!(" ({error})"));
        }
        text.push_str(&format!(
            "\n  updates ({} received, the newest {} shown):",
            view.updates_received,
            view.updates.len()
        ));
        for u in &view.updates {
            text.push_str(&format!(
                "\n    {}  {:<12} {:<24} {}",
                u.received_at,
                u.status,
                u.outcome,
                u.detail.as_deref().unwrap_or(&u.description)
            ));
        }
        text
    });
}

fn print_list(out: OutputFormat, rows: &[ListedDeployment]) {
    print(out, &rows, || {
        if rows.is_empty() {
            return "no deployments found".to_owned();
        }
        rows.iter()
            .map(|r| {
                format!(
                    "{:<60} {:<10} {:<12} {:<16} {}",
                    r.workflow_id,
                    r.workflow_status,
                    r.state.as_deref().unwrap_or("-"),
                    r.service.as_deref().unwrap_or("-"),
                    r.started_at.as_deref().unwrap_or("-")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
}
