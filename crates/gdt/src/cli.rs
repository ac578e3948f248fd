//! The command line. Doc comments here are the `--help` text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Track CI/CD deployments as GitHub Deployments, durably, on Temporal.
#[derive(Debug, Parser)]
#[command(name = "gdt", version, about)]
pub(crate) struct Cli {
    /// Configuration file (default: ./config.yaml, ./config/config.yaml or
    /// /etc/github-deployment-tracker/config.yaml, whichever exists first).
    #[arg(long, global = true, env = "GDT_CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// Output format: `text` for people, `json` for scripts.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub(crate) output: OutputFormat,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run everything on this machine: a Temporal dev server (Web UI included), the GitHub
    /// sandbox when no GitHub credentials are configured, the worker and the API server.
    /// Ctrl-C stops it all.
    Dev(DevArgs),
    /// Run the worker: the deployment workflows and their activities (task queue
    /// temporal.task_queue, default github-deployment-tracker) and the pull-request checks
    /// that webhooks start (pr_checks.task_queue, default plugin-validation-queue; off when
    /// pr_checks.enabled is false). Exits at start if GitHub refuses its credentials.
    Worker,
    /// Run the HTTP server (port 3000): the API pipelines call to report deployments (needs
    /// INTERNAL_API_SHARED_SECRET or server.api_tokens_file) and /webhook, where GitHub's
    /// pull-request events start the PR checks (verified with GITHUB_WEBHOOK_SECRET or
    /// webhook.secrets_file; without a secret every delivery is refused). /health and /ready
    /// answer on the health port (8080).
    Serve,
    /// Run the local GitHub API sandbox.
    Sandbox(SandboxArgs),
    /// Track deployments (start, update, show, wait, list), through Temporal or, with
    /// `--api`, through a `gdt serve` API.
    Track(Box<TrackArgs>),
    /// Call GitHub's Deployments API directly, without Temporal.
    #[command(subcommand)]
    Deployment(DeploymentCommand),
    /// GitHub authentication.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Keep Temporal's state in this SQLite file across restarts (default: in memory).
    #[arg(long)]
    pub(crate) db_file: Option<PathBuf>,
    /// Temporal frontend port.
    #[arg(long, default_value_t = 7233)]
    pub(crate) temporal_port: u16,
    /// Temporal Web UI port.
    #[arg(long, default_value_t = 8233)]
    pub(crate) ui_port: u16,
    /// GitHub sandbox port (used when no GitHub credentials are configured).
    #[arg(long, default_value_t = 8090)]
    pub(crate) sandbox_port: u16,
    /// API port (on 127.0.0.1).
    #[arg(long, default_value_t = 3000)]
    pub(crate) api_port: u16,
    /// Health port (/health, /ready; on 127.0.0.1).
    #[arg(long, default_value_t = 8080)]
    pub(crate) health_port: u16,
    /// Metrics port (/metrics, Prometheus text; on 127.0.0.1).
    #[arg(long, default_value_t = 9090)]
    pub(crate) metrics_port: u16,
    /// The `temporal` CLI to run (default: .venv/bin/temporal, else `temporal` on PATH).
    #[arg(long, env = "GDT_TEMPORAL_CLI")]
    pub(crate) temporal_cli: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub(crate) listen: String,
    /// A plain token the sandbox accepts (repeatable), like a personal access token.
    #[arg(long = "token")]
    pub(crate) tokens: Vec<String>,
    /// Register a GitHub App (id 1, installation 1) with a fresh key pair and write its private
    /// key here, so a worker can authenticate as that App.
    #[arg(long)]
    pub(crate) app_key_out: Option<PathBuf>,
    /// Send `deployment` and `deployment_status` webhooks here (e.g.
    /// http://127.0.0.1:3000/webhook) when deployments or their statuses are created.
    #[arg(long, requires = "webhook_secret")]
    pub(crate) webhook_url: Option<String>,
    /// Sign those webhooks with this secret (X-Hub-Signature-256), as GitHub does.
    #[arg(long, env = "GDT_SANDBOX_WEBHOOK_SECRET", requires = "webhook_url")]
    pub(crate) webhook_secret: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct TrackArgs {
    /// Go through the gdt HTTP API at this URL (e.g. http://gdt.internal:3000) instead of
    /// connecting to Temporal.
    #[arg(long, global = true, env = "GDT_API_URL")]
    pub(crate) api: Option<url::Url>,
    /// The API's bearer token (default: the first of INTERNAL_API_SHARED_SECRET). Prefer the
    /// environment variable: arguments are visible to other users of the machine.
    #[arg(long, global = true, env = "GDT_API_TOKEN", hide_env_values = true)]
    pub(crate) api_token: Option<String>,
    #[command(subcommand)]
    pub(crate) command: TrackCommand,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrackCommand {
    /// Start tracking a deployment: starts GitHubDeploymentWorkflow.
    Start(TrackStartArgs),
    /// Send a status update (the `deployment-status-update` signal).
    Update(TrackUpdateArgs),
    /// Show a deployment's state (the `deployment-state` query).
    Show(WorkflowRef),
    /// Wait for a deployment's workflow to finish and print its result.
    Wait(WorkflowRef),
    /// List tracked deployments, newest first.
    List(TrackListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct WorkflowRef {
    /// The workflow id.
    pub(crate) workflow_id: String,
}

#[derive(Debug, Args)]
pub(crate) struct TrackStartArgs {
    /// Repository as owner/name.
    #[arg(long)]
    pub(crate) repo: String,
    /// Commit SHA to deploy.
    #[arg(long)]
    pub(crate) sha: String,
    /// Target environment.
    #[arg(long)]
    pub(crate) environment: String,
    /// Branch the commit came from.
    #[arg(long, default_value = "")]
    pub(crate) branch: String,
    /// Initial status word (queued, running, success, failed, …; empty: pending).
    #[arg(long, default_value = "")]
    pub(crate) status: String,
    /// Description shown on GitHub.
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// Link to the pipeline's logs.
    #[arg(long, default_value = "")]
    pub(crate) log_url: String,
    /// URL of the deployed environment.
    #[arg(long, default_value = "")]
    pub(crate) environment_url: String,
    /// Mark the environment transient (a review app).
    #[arg(long)]
    pub(crate) transient: bool,
    /// Mark the environment as production (default: the environment is named `production`).
    #[arg(long)]
    pub(crate) production: Option<bool>,
    /// Pipeline id in the CI/CD system.
    #[arg(long, default_value = "")]
    pub(crate) pipeline_id: String,
    /// Pipeline execution id in the CI/CD system; part of the default workflow id.
    #[arg(long, default_value = "")]
    pub(crate) execution_id: String,
    /// The service deployed, when the repository holds several (letters, digits, '.', '_',
    /// '-', '/', ':'); superseding and inactivation apply per repository, environment and service.
    #[arg(long, default_value = "")]
    pub(crate) service: String,
    /// When the deployed commit was made, RFC 3339 (`git show -s --format=%cI SHA`): the
    /// start of its lead time on the board and in the delivery metrics.
    #[arg(long)]
    pub(crate) commit_time: Option<String>,
    /// Workflow id (default: deployment-OWNER-REPO-ENVIRONMENT[-SERVICE]-EXECUTION_ID_OR_SHA).
    #[arg(long)]
    pub(crate) workflow_id: Option<String>,
    /// Mark the deployment inactive after this long without an update (e.g. 30m, 90s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub(crate) inactivity_timeout: Option<Duration>,
}

#[derive(Debug, Args)]
pub(crate) struct TrackUpdateArgs {
    /// The workflow id.
    pub(crate) workflow_id: String,
    /// Status word (running, success, failed, …).
    #[arg(long)]
    pub(crate) status: String,
    /// Description shown on GitHub.
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// Link to the pipeline's logs.
    #[arg(long, default_value = "")]
    pub(crate) log_url: String,
    /// URL of the deployed environment.
    #[arg(long, default_value = "")]
    pub(crate) environment_url: String,
    /// An id for this update; an update with an id already applied is applied once.
    #[arg(long)]
    pub(crate) event_id: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct TrackListArgs {
    /// Only this repository (owner/name).
    #[arg(long)]
    pub(crate) repo: Option<String>,
    /// Only this environment.
    #[arg(long)]
    pub(crate) environment: Option<String>,
    /// Only deployments in this GitHub state (pending, in_progress, success, …).
    #[arg(long)]
    pub(crate) state: Option<String>,
    /// Only deployments of this service.
    #[arg(long)]
    pub(crate) service: Option<String>,
    /// At most this many.
    #[arg(long, default_value_t = 20)]
    pub(crate) limit: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeploymentCommand {
    /// Create a GitHub deployment and print its id.
    Create(DeploymentCreateArgs),
    /// Post a deployment status.
    Status(DeploymentStatusArgs),
    /// Authenticate, create a deployment, post in_progress then success, printing each step.
    Simulate(DeploymentCreateArgs),
}

#[derive(Debug, Args)]
pub(crate) struct DeploymentCreateArgs {
    /// Repository as owner/name.
    #[arg(long)]
    pub(crate) repo: String,
    /// Git ref or commit SHA to deploy.
    #[arg(long = "ref", alias = "sha")]
    pub(crate) git_ref: String,
    /// Target environment.
    #[arg(long)]
    pub(crate) environment: String,
    /// Description.
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// Mark the environment transient.
    #[arg(long)]
    pub(crate) transient: bool,
    /// Mark the environment as production (default: the environment is named `production`).
    #[arg(long)]
    pub(crate) production: Option<bool>,
}

#[derive(Debug, Args)]
pub(crate) struct DeploymentStatusArgs {
    /// Repository as owner/name.
    #[arg(long)]
    pub(crate) repo: String,
    /// The deployment id.
    #[arg(long)]
    pub(crate) id: u64,
    /// State or status word (in_progress, success, failure, running, failed, …).
    #[arg(long)]
    pub(crate) state: String,
    /// Description.
    #[arg(long, default_value = "")]
    pub(crate) description: String,
    /// Link to logs.
    #[arg(long, default_value = "")]
    pub(crate) log_url: String,
    /// URL of the deployed environment.
    #[arg(long, default_value = "")]
    pub(crate) environment_url: String,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub(crate) enum AuthCommand {
    /// Mint an installation token (GitHub App) and print it with its expiry.
    Token,
}

#[derive(Debug, Clone, Copy, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Load the configuration, run every check a start makes without the network (App key,
    /// PR-check patterns and schemas, secret files), and print it with secrets redacted.
    Check,
}

/// Splits `owner/name`.
pub(crate) fn split_repo(repo: &str) -> anyhow::Result<(String, String)> {
    match repo.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((owner.to_owned(), name.to_owned()))
        }
        _ => anyhow::bail!("invalid repository {repo:?}: use owner/name, e.g. acme/api"),
    }
}
