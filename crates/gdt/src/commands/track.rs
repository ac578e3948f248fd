//! `gdt track …`: deployments through Temporal (start, update, show, wait, list).

use anyhow::Context as _;
use futures::StreamExt as _;
use gdt_config::Config;
use gdt_tracker::deployments::{
    DeploymentStatusUpdate, DeploymentWorkflowInput, GitHubDeploymentWorkflow, WORKFLOW_TYPE,
};
use gdt_tracker::search_attributes as sa;
use serde::Serialize;
use temporalio_client::{
    WorkflowGetResultOptions, WorkflowIdConflictPolicy, WorkflowListOptions, WorkflowQueryOptions,
    WorkflowSignalOptions, WorkflowStartOptions,
};
use temporalio_common::search_attributes::SearchAttributes;

use crate::cli::{
    split_repo, OutputFormat, TrackCommand, TrackListArgs, TrackStartArgs, TrackUpdateArgs,
};
use crate::output::print;

pub(crate) async fn run(
    config: &Config,
    cmd: TrackCommand,
    out: OutputFormat,
) -> anyhow::Result<()> {
    let client = crate::temporal::connect(&config.temporal).await?;
    match cmd {
        TrackCommand::Start(args) => start(config, &client, args, out).await,
        TrackCommand::Update(args) => update(&client, args, out).await,
        TrackCommand::Show(r) => show(&client, &r.workflow_id, out).await,
        TrackCommand::Wait(r) => wait(&client, &r.workflow_id, out).await,
        TrackCommand::List(args) => list(&client, args, out).await,
    }
}

#[derive(Serialize)]
struct Started {
    workflow_id: String,
    run_id: Option<String>,
}

async fn start(
    config: &Config,
    client: &temporalio_client::Client,
    args: TrackStartArgs,
    out: OutputFormat,
) -> anyhow::Result<()> {
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
    };
    // Fail here, with the same message the workflow would give, rather than start a
    // workflow that can only fail.
    input.validate()?;
    let workflow_id = args
        .workflow_id
        .unwrap_or_else(|| input.default_workflow_id());
    let attributes = SearchAttributes::new([
        sa::REPOSITORY.value_set(input.repository()),
        sa::ENVIRONMENT.value_set(input.environment.clone()),
        sa::COMMIT_SHA.value_set(input.commit_sha.clone()),
        sa::STATE.value_set("pending".to_owned()),
    ]);
    let options =
        WorkflowStartOptions::new(config.temporal.task_queue.clone(), workflow_id.clone())
            .execution_timeout(config.deployment.execution_timeout)
            // A pipeline that retries its start reaches the running workflow instead of failing.
            .id_conflict_policy(WorkflowIdConflictPolicy::UseExisting)
            .search_attributes(attributes)
            .build();
    let handle = client
        .start_workflow(
            GitHubDeploymentWorkflow::run,
            serde_json::to_value(&input)?,
            options,
        )
        .await
        .with_context(|| format!("cannot start the deployment workflow {workflow_id}"))?;
    let started = Started {
        workflow_id: workflow_id.clone(),
        run_id: handle.run_id().map(str::to_owned),
    };
    print(out, &started, || {
        format!(
            "started {workflow_id}\nsend updates with: gdt track update {workflow_id} --status success"
        )
    });
    Ok(())
}

async fn update(
    client: &temporalio_client::Client,
    args: TrackUpdateArgs,
    out: OutputFormat,
) -> anyhow::Result<()> {
    // Reject a word nobody maps before it reaches the workflow.
    gdt_tracker::deployments::status::map_status(&args.status)?;
    let update = DeploymentStatusUpdate {
        status: args.status,
        log_url: args.log_url,
        environment_url: args.environment_url,
        description: args.description,
        updated_at: Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        event_id: args.event_id,
    };
    let handle = client.get_workflow_handle::<GitHubDeploymentWorkflow>(args.workflow_id.clone());
    handle
        .signal(
            GitHubDeploymentWorkflow::status_update,
            serde_json::to_value(&update)?,
            WorkflowSignalOptions::default(),
        )
        .await
        .with_context(|| {
            format!(
                "cannot send the update to deployment workflow {}: is it running? \
                 (`gdt track show {}`)",
                args.workflow_id, args.workflow_id
            )
        })?;
    print(out, &update, || {
        format!("sent {} to {}", update.status, args.workflow_id)
    });
    Ok(())
}

async fn show(
    client: &temporalio_client::Client,
    workflow_id: &str,
    out: OutputFormat,
) -> anyhow::Result<()> {
    let handle = client.get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
    let view = handle
        .query(
            GitHubDeploymentWorkflow::deployment_state,
            (),
            WorkflowQueryOptions::default(),
        )
        .await
        .with_context(|| format!("cannot query deployment workflow {workflow_id}"))?;
    print(out, &view, || {
        let mut text = format!(
            "{} {} @ {}\n  deployment id: {}\n  state: {}{}\n  updates:",
            view.repository,
            view.environment,
            view.commit_sha,
            view.deployment_id
                .map_or("(not created yet)".to_owned(), |id| id.to_string()),
            view.state,
            if view.terminal { " (final)" } else { "" },
        );
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
    Ok(())
}

async fn wait(
    client: &temporalio_client::Client,
    workflow_id: &str,
    out: OutputFormat,
) -> anyhow::Result<()> {
    let handle = client.get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned());
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

#[derive(Serialize)]
struct Listed {
    workflow_id: String,
    run_id: String,
    status: String,
    started_at: Option<String>,
    repository: Option<String>,
    environment: Option<String>,
    commit_sha: Option<String>,
    state: Option<String>,
}

/// A visibility query for deployments matching the filters. Values are quoted for the
/// query language so a filter cannot change the query's meaning.
pub(crate) fn list_query(
    repo: Option<&str>,
    environment: Option<&str>,
    state: Option<&str>,
) -> String {
    let quote = |v: &str| format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"));
    let mut query = format!("WorkflowType = {}", quote(WORKFLOW_TYPE));
    for (name, value) in [
        ("GdtRepository", repo),
        ("GdtEnvironment", environment),
        ("GdtState", state),
    ] {
        if let Some(value) = value {
            query.push_str(&format!(" AND {name} = {}", quote(value)));
        }
    }
    query
}

async fn list(
    client: &temporalio_client::Client,
    args: TrackListArgs,
    out: OutputFormat,
) -> anyhow::Result<()> {
    let query = list_query(
        args.repo.as_deref(),
        args.environment.as_deref(),
        args.state.as_deref(),
    );
    let mut stream = client.list_workflows(
        query.clone(),
        WorkflowListOptions::builder().limit(args.limit).build(),
    );
    let mut rows = Vec::new();
    while let Some(item) = stream.next().await {
        let execution = item.with_context(|| format!("cannot list deployments ({query})"))?;
        let attrs = execution.search_attributes();
        rows.push(Listed {
            workflow_id: execution.id().to_owned(),
            run_id: execution.run_id().to_owned(),
            status: format!("{:?}", execution.status()),
            started_at: execution.start_time().map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            repository: attrs.get(&sa::REPOSITORY),
            environment: attrs.get(&sa::ENVIRONMENT),
            commit_sha: attrs.get(&sa::COMMIT_SHA),
            state: attrs.get(&sa::STATE),
        });
        if rows.len() >= args.limit {
            break;
        }
    }
    rows.sort_by(|a, b| b.started_at.cmp(&a.started_at));
    print(out, &rows, || {
        if rows.is_empty() {
            return "no deployments found".to_owned();
        }
        rows.iter()
            .map(|r| {
                format!(
                    "{:<60} {:<10} {:<12} {}",
                    r.workflow_id,
                    r.status,
                    r.state.as_deref().unwrap_or("-"),
                    r.started_at.as_deref().unwrap_or("-")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::list_query;

    #[test]
    fn list_queries_quote_values() {
        assert_eq!(
            list_query(None, None, None),
            "WorkflowType = 'GitHubDeploymentWorkflow'"
        );
        assert_eq!(
            list_query(Some("acme/api"), Some("prod' OR 1=1"), Some("success")),
            "WorkflowType = 'GitHubDeploymentWorkflow' AND GdtRepository = 'acme/api' \
             AND GdtEnvironment = 'prod\\' OR 1=1' AND GdtState = 'success'"
        );
    }
}
