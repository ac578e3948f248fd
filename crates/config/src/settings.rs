//! Every setting, declared once: its doc line, key (the section path and the field name),
//! type, default and variables (`GDT_*` first, then the older names it overrides). The YAML
//! layer, the variables, the messages, `gdt config check`, README's table and
//! `config/config.example.yaml` are all made from these declarations.
//!
//! `check required` makes `load` refuse a zero or empty value. Adding a setting is one
//! declaration here and its use; `GDT_BLESS=1 cargo test -p gdt-config`
//! then rewrites the two documents.

use std::path::PathBuf;
use std::sync::LazyLock;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::table::{section, Row};
use crate::values::{Inactivation, LogFormat, LogLevel, ReportMode, SchemaRuleConfig};

/// The default GitHub API root (github.com).
pub const DEFAULT_GITHUB_BASE_URL: &str = "https://api.github.com";
/// Where Kubernetes mounts the App key in the deployment manifests.
pub const DEFAULT_PRIVATE_KEY_PATH: &str = "/var/secrets/github/private-key.pem";

section! {
    /// How to reach Temporal, and the task queue of the deployments.
    TemporalConfig (temporal) {
        /// Frontend address, `host:port`.
        host_port: String = "localhost:7233".to_owned(),
            env "GDT_TEMPORAL_HOST_PORT", "TEMPORAL_ADDRESS", check required;
        /// Temporal namespace.
        namespace: String = "default".to_owned(), env "GDT_TEMPORAL_NAMESPACE", "TEMPORAL_NAMESPACE",
            check required;
        /// Task queue of the deployment workflows; changing it strands the running ones.
        task_queue: String = "github-deployment-tracker".to_owned(), env "GDT_TEMPORAL_TASK_QUEUE",
            check required;
        /// API key for Temporal Cloud, sent as a bearer token; implies TLS.
        api_key: Option<SecretString> = None, env "GDT_TEMPORAL_API_KEY", "TEMPORAL_API_KEY";
    }
    {
        /// Per-kind worker slot limits.
        worker_options: WorkerOptions,
        /// TLS to the frontend (clusters behind cert-manager, Temporal Cloud).
        tls: TlsConfig,
    }
}

section! {
    /// Worker slot limits.
    WorkerOptions (temporal.worker_options) {
        /// Activities one worker runs at once.
        max_concurrent_activity: usize = 20,
            env "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_ACTIVITY", check required;
        /// Workflow tasks one worker runs at once.
        max_concurrent_workflow: usize = 10,
            env "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_WORKFLOW", check required;
    }
}

section! {
    /// TLS settings for the Temporal connection.
    TlsConfig (temporal.tls) {
        /// Dial Temporal over TLS; also switched on by an API key or any certificate path.
        enabled: bool = false, env "GDT_TEMPORAL_TLS_ENABLED", "TEMPORAL_TLS";
        /// Overrides the SNI / verified host name (e.g. when dialing an IP).
        server_name: Option<String> = None,
            env "GDT_TEMPORAL_TLS_SERVER_NAME", "TEMPORAL_TLS_SERVER_NAME";
        /// CA bundle to verify the server with instead of the system roots.
        server_ca_cert_path: Option<PathBuf> = None,
            env "GDT_TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_CA_CERT_PATH";
        /// Client certificate for mTLS, together with `client_key_path`.
        client_cert_path: Option<PathBuf> = None,
            env "GDT_TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH";
        /// Client private key for mTLS, together with `client_cert_path`.
        client_key_path: Option<PathBuf> = None,
            env "GDT_TEMPORAL_TLS_CLIENT_KEY_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH";
    }
}

section! {
    /// GitHub API location and credentials.
    GitHubConfig (github) {
        /// API root on github.com; ignored when `enterprise` is true.
        base_url: Url = Url::parse(DEFAULT_GITHUB_BASE_URL).expect("a URL"), env "GDT_GITHUB_BASE_URL";
        /// Talk to a GitHub Enterprise Server at `enterprise_host` (API root `https://HOST/api/v3`).
        enterprise: bool = false, env "GDT_GITHUB_ENTERPRISE";
        /// Host name of the Enterprise Server, no scheme, e.g. `github.company.com`.
        enterprise_host: String = String::new(), env "GDT_GITHUB_ENTERPRISE_HOST";
        /// Plain token instead of an App (local development); ignored when an App is configured.
        token: Option<SecretString> = None, env "GDT_GITHUB_TOKEN", "GITHUB_TOKEN";
        /// GitHub App id; 0 means no App (set it with `installation_id`).
        app_id: u64 = 0, env "GDT_GITHUB_APP_ID", "GITHUB_APP_ID";
        /// Installation id of the App; 0 means not configured.
        installation_id: u64 = 0, env "GDT_GITHUB_INSTALLATION_ID", "GITHUB_APP_INSTALLATION_ID";
        /// PEM file of the App private key, read when needed (a mounted secret), never logged.
        private_key_path: PathBuf = PathBuf::from(DEFAULT_PRIVATE_KEY_PATH),
            env "GDT_GITHUB_PRIVATE_KEY_PATH", "GITHUB_APP_PRIVATE_KEY_PATH";
    }
    {
        /// Retry and back-off policy for rate limits and transient errors.
        rate_limit: RateLimitConfig,
    }
}

section! {
    /// Retry and back-off policy towards GitHub; the GitHub client's retry policy is built
    /// from it.
    RateLimitConfig (github.rate_limit) {
        /// Retries after the first attempt.
        max_retries: u32 = 5, env "GDT_GITHUB_RATE_LIMIT_MAX_RETRIES";
        /// First back-off delay.
        initial_backoff: Duration = Duration::from_secs(1), env "GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF",
            check required;
        /// Cap on a single back-off delay.
        max_backoff: Duration = Duration::from_secs(60), env "GDT_GITHUB_RATE_LIMIT_MAX_BACKOFF";
        /// Growth factor between delays (at least 1.0).
        backoff_multiplier: f64 = 2.0, env "GDT_GITHUB_RATE_LIMIT_BACKOFF_MULTIPLIER";
        /// Longest rate-limit reset waited for inside an activity; longer waits are left to
        /// Temporal's retry so that no worker slot is held idle.
        max_inline_wait: Duration = Duration::from_secs(10), env "GDT_GITHUB_RATE_LIMIT_MAX_INLINE_WAIT";
    }
}

section! {
    /// Process-level settings.
    AppConfig (app) {
        /// Name of this installation (development, staging, production), on the start-up log
        /// lines of `gdt worker` and `gdt serve`.
        environment: String = "development".to_owned(), env "GDT_APP_ENVIRONMENT",
            check required;
        /// Minimum level logged: trace, debug, info, warn or error.
        log_level: LogLevel = LogLevel::Info, env "GDT_APP_LOG_LEVEL";
        /// `json` lines (production) or `console` lines (a terminal).
        log_format: LogFormat = LogFormat::Json, env "GDT_APP_LOG_FORMAT";
        /// Whether `gdt worker` and `gdt serve` serve Prometheus metrics on `/metrics`.
        metrics_enabled: bool = true, env "GDT_APP_METRICS_ENABLED";
        /// Port of `/metrics` (ours and the Temporal SDK's), on the host of `server.listen`.
        metrics_port: u16 = 9090, env "GDT_APP_METRICS_PORT", check required;
        /// Port of `/health` and `/ready` (`gdt worker` and `gdt serve`), on the host of
        /// `server.listen`.
        health_port: u16 = 8080, env "GDT_APP_HEALTH_PORT", check required;
    }
}

section! {
    /// Limits of the deployment-tracking workflow.
    DeploymentConfig (deployment) {
        /// A deployment with no status update for this long is marked inactive.
        inactivity_timeout: Duration = Duration::from_secs(30 * 60),
            env "GDT_DEPLOYMENT_INACTIVITY_TIMEOUT", check required;
        /// Hard cap on how long one deployment is tracked.
        execution_timeout: Duration = Duration::from_secs(2 * 60 * 60),
            env "GDT_DEPLOYMENT_EXECUTION_TIMEOUT", check required;
        /// Who marks replaced deployments inactive: `gdt` (per repository, environment and
        /// service, production included), `github` (GitHub's `auto_inactive`: per environment
        /// name, production excluded) or `off`.
        inactivation: Inactivation = Inactivation::Gdt, env "GDT_DEPLOYMENT_INACTIVATION";
        /// A new deployment of the same repository, environment and service ends a running
        /// older one with `inactive` ("Superseded by deployment N").
        supersede: bool = true, env "GDT_DEPLOYMENT_SUPERSEDE";
        /// A lane (one repository, environment and service) with nothing running for this long
        /// ends; the next deployment starts it again and looks up the last success once.
        lane_idle_timeout: Duration = Duration::from_secs(30 * 24 * 60 * 60),
            env "GDT_DEPLOYMENT_LANE_IDLE_TIMEOUT", check required;
    }
}

section! {
    /// The HTTP API server (`gdt serve`): where it listens, its limits and who may call it.
    ServerConfig (server) {
        /// `host:port` of the JSON API and the GitHub webhooks.
        listen: String = "0.0.0.0:3000".to_owned(), env "GDT_SERVER_LISTEN";
        /// Largest request body accepted, in bytes.
        max_body_bytes: usize = 1024 * 1024, env "GDT_SERVER_MAX_BODY_BYTES",
            check required;
        /// Longest time one request may take, end to end.
        request_timeout: Duration = Duration::from_secs(30), env "GDT_SERVER_REQUEST_TIMEOUT",
            check required;
        /// One Temporal call taking longer makes the API answer 503; shorter than
        /// `request_timeout`.
        temporal_timeout: Duration = Duration::from_secs(5), env "GDT_SERVER_TEMPORAL_TIMEOUT",
            check required;
        /// How long `POST /api/v1/deployments` waits for the GitHub deployment id (0s: not at
        /// all); shorter than `request_timeout`.
        deployment_id_wait: Duration = Duration::from_secs(5), env "GDT_SERVER_DEPLOYMENT_ID_WAIT";
        /// How long a `/ready` answer is reused (0s: every probe asks again).
        ready_cache: Duration = Duration::from_secs(5), env "GDT_SERVER_READY_CACHE";
        /// File of API bearer tokens, one per line (blank lines and `#` comments ignored).
        api_tokens_file: Option<PathBuf> = None,
            env "GDT_SERVER_API_TOKENS_FILE", "INTERNAL_API_SHARED_SECRET_FILE";
        /// API bearer tokens separated by commas or spaces; with the file's, all are accepted,
        /// so a token can be rotated without downtime.
        api_tokens: Option<SecretString> = None,
            env "GDT_SERVER_API_TOKENS", "INTERNAL_API_SHARED_SECRET";
    }
}

section! {
    /// GitHub webhooks received by `gdt serve` on `server.listen`.
    WebhookConfig (webhook) {
        /// Webhook secrets separated by commas or spaces; a signature made with any of them or
        /// the file's is accepted, so the secret can be rotated without losing deliveries.
        secrets: Option<SecretString> = None, env "GDT_WEBHOOK_SECRETS", "GITHUB_WEBHOOK_SECRET";
        /// File of webhook secrets, one per line (blank lines and `#` comments ignored).
        secrets_file: Option<PathBuf> = None,
            env "GDT_WEBHOOK_SECRETS_FILE", "GITHUB_WEBHOOK_SECRET_FILE";
        /// Largest webhook payload accepted, in bytes; 25 MiB is GitHub's own cap.
        max_body_bytes: usize = 25 * 1024 * 1024, env "GDT_WEBHOOK_MAX_BODY_BYTES",
            check required;
    }
}

section! {
    /// The pull-request checks: whether they run, where, and what they check.
    PrChecksConfig (pr_checks) {
        /// Whether workers run the checks and the server accepts `pull_request` webhooks.
        enabled: bool = true, env "GDT_PR_CHECKS_ENABLED";
        /// Task queue of the check workflows; changing it strands the running ones.
        task_queue: String = "plugin-validation-queue".to_owned(), env "GDT_PR_CHECKS_TASK_QUEUE",
            check required;
        /// Where results go: `comment`, `check_run` or `both`.
        report: ReportMode = ReportMode::Both, env "GDT_PR_CHECKS_REPORT";
        /// Globs of the files whose change calls for a plugin update (unset: the check's
        /// built-in list; in the variable, comma-separated).
        code_patterns: Option<Vec<String>> = None, env "GDT_PR_CHECKS_CODE_PATTERNS";
        /// Globs of the files that make up the plugin (unset: the check's built-in list).
        plugin_patterns: Option<Vec<String>> = None, env "GDT_PR_CHECKS_PLUGIN_PATTERNS";
        /// JSON Schemas that plugin files must satisfy: a list of `pattern` (a glob) and
        /// `schema_path` (a local file); YAML only.
        schemas: Vec<SchemaRuleConfig> = Vec::new();
        /// Repository path of the file holding the version, e.g. `1.2.3`.
        version_file: String = "VERSION".to_owned(), env "GDT_PR_CHECKS_VERSION_FILE",
            check required;
        /// Repository path of the plugin manifest whose `version` must match it.
        plugin_manifest: String = ".claude-plugin/plugin.json".to_owned(),
            env "GDT_PR_CHECKS_PLUGIN_MANIFEST", check required;
    }
}

section! {
    /// Deployments created by others (GitHub Actions jobs, hosting providers' apps), which
    /// `gdt serve` learns of from the `deployment` and `deployment_status` webhooks.
    ExternalConfig (external) {
        /// Whether those deliveries start a watcher; subscribing the GitHub App to the
        /// Deployment and Deployment status events is the opt-in.
        enabled: bool = true, env "GDT_EXTERNAL_ENABLED";
        /// A deployment of someone else's left queued, pending or in_progress with no new
        /// status for this long is marked inactive (GitHub-hosted jobs run at most 6h).
        inactivity_timeout: Duration = Duration::from_secs(6 * 60 * 60),
            env "GDT_EXTERNAL_INACTIVITY_TIMEOUT", check required;
        /// Globs of the environments watched (unset: all; in the variable, comma-separated).
        environments: Option<Vec<String>> = None, env "GDT_EXTERNAL_ENVIRONMENTS";
        /// Apply gdt's lifecycle (`deployment.supersede`, `deployment.inactivation`: lanes of
        /// repository, environment and service) to these deployments too.
        lifecycle: bool = false, env "GDT_EXTERNAL_LIFECYCLE";
        /// Where their service is read from: `none` (the repository), `task`, or
        /// `payload:KEY`.
        service_source: String = "none".to_owned(), env "GDT_EXTERNAL_SERVICE_SOURCE";
    }
}

section! {
    /// Cleaning up a pull request's preview deployments when it closes.
    PrCleanupConfig (pr_cleanup) {
        /// Whether a closed pull request (merged or not) marks its preview deployments inactive;
        /// the worker runs the clean-up, the server starts it from `pull_request` webhooks.
        enabled: bool = true, env "GDT_PR_CLEANUP_ENABLED";
        /// Environment names of a pull request's previews: `{number}` is its number, `{branch}`
        /// its head branch; each must hold one of them (in the variable, comma-separated).
        environment_patterns: Option<Vec<String>> = Some(vec!["pr-{number}".to_owned()]),
            env "GDT_PR_CLEANUP_ENVIRONMENT_PATTERNS";
        /// Also clean up deployments of the head branch to transient environments
        /// (`transient_environment: true`; never other deployments of that branch).
        match_head_ref: bool = true, env "GDT_PR_CLEANUP_MATCH_HEAD_REF";
        /// Delete the matched deployments once inactive (the App needs Deployments: write).
        delete_deployments: bool = false, env "GDT_PR_CLEANUP_DELETE_DEPLOYMENTS";
        /// Delete the environments the patterns name, never `production` (the App needs
        /// Administration: write, a strong permission).
        delete_environments: bool = false, env "GDT_PR_CLEANUP_DELETE_ENVIRONMENTS";
        /// Pause between two writes to GitHub, which asks for at least 1s between mutating
        /// requests to stay under its secondary rate limits.
        write_interval: Duration = Duration::from_secs(1), env "GDT_PR_CLEANUP_WRITE_INTERVAL",
            check required;
    }
}

section! {
    /// The deployments board (`/board`) and its reader API (`/api/v1/environments`, `/api/v1/dora`).
    BoardConfig (board) {
        /// Whether `gdt serve` serves the board page; it is never open: viewing needs an API
        /// token or a viewer token.
        enabled: bool = true, env "GDT_BOARD_ENABLED";
        /// Read-only viewer tokens separated by commas or spaces (at least 16 characters
        /// each): they open the board and the API's reads, never a write.
        viewer_tokens: Option<SecretString> = None, env "GDT_BOARD_VIEWER_TOKENS";
        /// File of viewer tokens, one per line (blank lines and `#` comments ignored).
        viewer_tokens_file: Option<PathBuf> = None, env "GDT_BOARD_VIEWER_TOKENS_FILE";
        /// How long a board sign-in lasts.
        session_ttl: Duration = Duration::from_secs(12 * 60 * 60), env "GDT_BOARD_SESSION_TTL",
            check required;
        /// Whether the sign-in cookie is `Secure`: `auto` (unless the page is on a loopback
        /// host), `true` or `false`.
        cookie_secure: String = "auto".to_owned(), env "GDT_BOARD_COOKIE_SECURE";
        /// How often an open page asks for news.
        poll_interval: Duration = Duration::from_secs(5), env "GDT_BOARD_POLL_INTERVAL",
            check required;
        /// How often a server viewed in the last 2 minutes reads what changed from Temporal's
        /// visibility (a list of the deployments changed since and a count of the running
        /// ones; shorter is fresher and costs Temporal more).
        refresh_interval: Duration = Duration::from_secs(60), env "GDT_BOARD_REFRESH_INTERVAL",
            check required;
        /// How often a server checks that it holds the whole window: it counts the window's
        /// closed deployments and reads the window again only when the count differs (while
        /// a worker older than revision 4 polls, it reads the window again each time).
        rebuild_interval: Duration = Duration::from_secs(6 * 60 * 60),
            env "GDT_BOARD_REBUILD_INTERVAL", check required;
        /// How far before its last read a refresh reads again, for the delay with which
        /// Temporal's visibility shows a change (milliseconds on SQL stores, about a second on
        /// Elasticsearch; longer is safer and reads a few more rows each refresh).
        visibility_lag: Duration = Duration::from_secs(120), env "GDT_BOARD_VISIBILITY_LAG",
            check required;
        /// Days of deployments the board and the delivery metrics look back (at most the
        /// namespace's retention, which should be longer).
        history_days: usize = 30, env "GDT_BOARD_HISTORY_DAYS", check required;
        /// GitHub's web address for links (unset: github.com, or the Enterprise host).
        github_web_url: Option<String> = None, env "GDT_BOARD_GITHUB_WEB_URL";
    }
}

section! {
    /// Delivery metrics (DORA) as Prometheus metrics.
    DoraConfig (dora) {
        /// Environments given their own `environment` label on the delivery metrics (matched
        /// without case; any other is counted as `other`, which keeps the labels bounded).
        metric_environments: Option<Vec<String>> = Some(vec!["production".to_owned(), "staging".to_owned()]),
            env "GDT_DORA_METRIC_ENVIRONMENTS";
    }
}

/// One setting of [`Config`]: key, variables, doc line, and how to set, show and check it.
pub type Setting = Row<Config>;

/// Every setting, in the order of the sections and their fields (the documents' order).
pub static SETTINGS: LazyLock<Vec<&'static Setting>> = LazyLock::new(|| {
    let mut all = Vec::new();
    Config::collect(&mut all);
    all
});

/// [`Config`], its sections and how the rows and the YAML layer reach them.
macro_rules! config {
    ($($(#[doc = $doc:literal])* $name:ident: $ty:ident,)*) => {
        /// The whole configuration of the tracker (worker, server and CLI share it).
        /// `Default` gives the built-in defaults.
        #[derive(Debug, Clone, Default)]
        pub struct Config {
            $($(#[doc = $doc])* pub $name: $ty,)*
            /// Where the values came from, for `gdt config check` and start-up logs.
            pub source: ConfigSource,
        }

        impl Config {
            fn collect(all: &mut Vec<&'static Setting>) {
                $($ty::collect(all);)*
            }
        }

        impl crate::file::Section for Config {
            const PREFIX: &'static str = "";
            const KEYS: &'static [&'static str] = &[$(stringify!($name)),*];

            fn read<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                name: &str,
                map: &mut A,
                failed: &mut crate::file::Failed,
            ) -> Result<(), A::Error> {
                match name {
                    $(stringify!($name) => map.next_value_seed(crate::file::Patch::new(&mut self.$name, failed)),)*
                    _ => Ok(()),
                }
            }
        }
    };
}

config! {
    /// How to reach Temporal and how the worker polls.
    temporal: TemporalConfig,
    /// How to reach GitHub and with which credentials.
    github: GitHubConfig,
    /// Process-level settings: environment name, logging, ports.
    app: AppConfig,
    /// Limits of the deployment-tracking workflow.
    deployment: DeploymentConfig,
    /// The HTTP API server (`gdt serve`).
    server: ServerConfig,
    /// GitHub webhooks received by the server: secrets and limits.
    webhook: WebhookConfig,
    /// The pull-request checks: whether they run, where, and what they check.
    pr_checks: PrChecksConfig,
    /// Deployments created by others: whether and how long they are watched.
    external: ExternalConfig,
    /// Cleaning up a pull request's preview deployments when it closes.
    pr_cleanup: PrCleanupConfig,
    /// The deployments board and its reader API.
    board: BoardConfig,
    /// Delivery metrics (DORA) as Prometheus metrics.
    dora: DoraConfig,
}

/// Which sources were actually used to build a [`Config`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSource {
    /// The YAML file read, if any (none found means defaults + environment).
    pub file: Option<PathBuf>,
    /// The `.env` file read, if any.
    pub dotenv_file: Option<PathBuf>,
    /// Names (never values) of the environment variables applied, in the
    /// order they were applied; a later one overrides an earlier one.
    pub env_vars: Vec<String>,
}

impl TemporalConfig {
    /// Whether to dial Temporal over TLS: when asked for, and also whenever an
    /// API key or any certificate is configured, because Temporal Cloud and
    /// mTLS clusters refuse plaintext and sending an API key in clear would
    /// leak it. (So `tls.enabled: false` cannot switch TLS off in that case.)
    pub fn tls_enabled(&self) -> bool {
        let tls = &self.tls;
        let any_path = [
            &tls.server_ca_cert_path,
            &tls.client_cert_path,
            &tls.client_key_path,
        ];
        tls.enabled || self.api_key.is_some() || any_path.iter().any(|p| p.is_some())
    }
}

impl GitHubConfig {
    /// The API root to use: `https://HOST/api/v3` for GitHub Enterprise
    /// Server, else `base_url`. Computed rather than stored so that
    /// `enterprise_host` stays the single source of truth.
    ///
    /// `load` has validated `enterprise_host`; should a caller have changed it
    /// to something unusable afterwards, `base_url` is returned.
    pub fn effective_base_url(&self) -> Url {
        self.enterprise
            .then(|| enterprise_api(&self.enterprise_host))
            .flatten()
            .unwrap_or_else(|| self.base_url.clone())
    }
}

/// `https://HOST/api/v3` when `host` is a bare host (optionally with a port).
pub(crate) fn enterprise_api(host: &str) -> Option<Url> {
    let host = host.trim();
    let bare = !host.is_empty() && !host.contains(['/', '?', '#', '@']);
    let url = Url::parse(&format!("https://{host}/api/v3")).ok()?;
    (bare && !host.contains(char::is_whitespace) && url.path() == "/api/v3").then_some(url)
}
