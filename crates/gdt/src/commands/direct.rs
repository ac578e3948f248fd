//! Commands that call GitHub directly, without Temporal, for scripts and for trying credentials:
//! `gdt auth token`, `gdt deployment create|status|simulate`.

use gdt_config::Config;
use gdt_github::{NewDeployment, NewDeploymentStatus};
use gdt_tracker::deployments::model::is_production_environment;
use secrecy::ExposeSecret as _;
use serde::Serialize;

use crate::cli::{split_repo, AuthCommand, DeploymentCommand, DeploymentCreateArgs, OutputFormat};
use crate::output::print;

pub(crate) async fn auth(
    config: &Config,
    cmd: AuthCommand,
    out: OutputFormat,
) -> anyhow::Result<()> {
    match cmd {
        AuthCommand::Token => {
            let github = crate::github::client(config)?;
            let token = github.installation_token().await?;
            #[derive(Serialize)]
            struct Token {
                token: String,
                expires_at: Option<String>,
            }
            // Printing the token is this command's purpose (scripts call GitHub with it); it goes
            // to stdout only, never to the logs.
            let shown = Token {
                token: token.token.expose_secret().to_owned(),
                expires_at: token.expires_at.map(|t| t.to_rfc3339()),
            };
            print(out, &shown, || {
                format!(
                    "Token: {}\nExpires: {}",
                    shown.token,
                    shown
                        .expires_at
                        .as_deref()
                        .unwrap_or("(not an installation token)")
                )
            });
            Ok(())
        }
    }
}

pub(crate) async fn deployment(
    config: &Config,
    cmd: DeploymentCommand,
    out: OutputFormat,
) -> anyhow::Result<()> {
    let github = crate::github::client(config)?;
    match cmd {
        DeploymentCommand::Create(args) => {
            let (owner, repo) = split_repo(&args.repo)?;
            let deployment = github
                .create_deployment(&owner, &repo, &new_deployment(&args))
                .await?;
            print(out, &deployment, || format!("ID: {}", deployment.id));
        }
        DeploymentCommand::Status(args) => {
            let (owner, repo) = split_repo(&args.repo)?;
            let state = gdt_tracker::deployments::status::map_status(&args.state)?;
            let status = github
                .create_deployment_status(
                    &owner,
                    &repo,
                    args.id,
                    &NewDeploymentStatus {
                        state,
                        description: non_empty(args.description),
                        log_url: non_empty(args.log_url),
                        environment_url: non_empty(args.environment_url),
                        environment: None,
                        auto_inactive: None,
                    },
                )
                .await?;
            print(out, &status, || {
                format!("deployment {} is now {}", args.id, status.state.as_str())
            });
        }
        DeploymentCommand::Simulate(args) => simulate(&github, &args, out).await?,
    }
    Ok(())
}

/// auth → create → in_progress → success, printing each step: a deployment's whole life
/// against a repository, to try credentials and permissions before wiring a pipeline.
async fn simulate(
    github: &gdt_github::Client,
    args: &DeploymentCreateArgs,
    out: OutputFormat,
) -> anyhow::Result<()> {
    let (owner, repo) = split_repo(&args.repo)?;
    let mut steps = Vec::new();
    let step = |steps: &mut Vec<serde_json::Value>, name: &str, detail: serde_json::Value| {
        if out == OutputFormat::Text {
            println!("==> {name}: {detail}");
        }
        steps.push(serde_json::json!({ "step": name, "detail": detail }));
    };
    let token = github.installation_token().await?;
    step(
        &mut steps,
        "auth",
        serde_json::json!({ "expires_at": token.expires_at.map(|t| t.to_rfc3339()) }),
    );
    let deployment = github
        .create_deployment(&owner, &repo, &new_deployment(args))
        .await?;
    step(
        &mut steps,
        "create",
        serde_json::json!({ "deployment_id": deployment.id, "sha": deployment.sha }),
    );
    for (state, description) in [
        (
            gdt_github::DeploymentState::InProgress,
            "Deployment started",
        ),
        (gdt_github::DeploymentState::Success, "Deployment finished"),
    ] {
        let status = github
            .create_deployment_status(
                &owner,
                &repo,
                deployment.id,
                &NewDeploymentStatus {
                    state,
                    description: Some(description.to_owned()),
                    log_url: None,
                    environment_url: None,
                    environment: None,
                    auto_inactive: None,
                },
            )
            .await?;
        step(
            &mut steps,
            state.as_str(),
            serde_json::json!({ "status_id": status.id }),
        );
    }
    if out == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&steps)?);
    }
    Ok(())
}

fn new_deployment(args: &DeploymentCreateArgs) -> NewDeployment {
    NewDeployment {
        ref_: args.git_ref.clone(),
        task: "deploy".to_owned(),
        environment: args.environment.clone(),
        description: non_empty(args.description.clone()),
        auto_merge: false,
        required_contexts: Vec::new(),
        payload: serde_json::json!({ "triggered_by": "gdt-cli" }),
        transient_environment: args.transient,
        production_environment: args
            .production
            .unwrap_or_else(|| is_production_environment(&args.environment)),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.trim().is_empty()).then_some(s)
}
