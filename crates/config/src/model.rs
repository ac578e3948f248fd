//! The typed configuration and its defaults.
//!
//! Field names and defaults follow the Go design document (viper keys such as
//! `temporal.host_port`), because deployed ConfigMaps already use them. The
//! types implement `Serialize` only to render `gdt config check`: every secret
//! serialises as `"<redacted>"`/`"<unset>"`, so serialising a `Config` can
//! never leak one.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Serialize, Serializer};
use url::Url;

/// The default GitHub API root (github.com).
pub const DEFAULT_GITHUB_BASE_URL: &str = "https://api.github.com";
/// The default GitHub uploads root (github.com).
pub const DEFAULT_GITHUB_UPLOAD_URL: &str = "https://uploads.github.com";
/// Where Kubernetes mounts the App key in the design's deployment manifests.
pub const DEFAULT_PRIVATE_KEY_PATH: &str = "/var/secrets/github/private-key.pem";

/// The whole configuration of the tracker (worker, server and CLI share it).
/// `Default` gives the design document's defaults.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    /// How to reach Temporal and how the worker polls.
    pub temporal: TemporalConfig,
    /// How to reach GitHub and with which credentials.
    pub github: GitHubConfig,
    /// Process-level settings: logging, metrics and health ports.
    pub app: AppConfig,
    /// Limits of the deployment-tracking workflow.
    pub deployment: DeploymentConfig,
    /// The HTTP API server (`gdt server`).
    pub server: ServerConfig,
    /// GitHub webhooks received by the server: secrets and limits.
    pub webhook: WebhookConfig,
    /// The pull-request checks: whether they run, where, and what they check.
    pub pr_checks: PrChecksConfig,
    /// Where the values came from, for `gdt config check` and start-up logs.
    #[serde(skip)]
    pub source: ConfigSource,
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

/// Temporal connection and worker settings.
#[derive(Debug, Clone, Serialize)]
pub struct TemporalConfig {
    /// Frontend address, `host:port`.
    pub host_port: String,
    /// Temporal namespace.
    pub namespace: String,
    /// Task queue the worker polls and the server starts workflows on; it is
    /// a contract with already-running workflows, so changing it strands them.
    pub task_queue: String,
    /// Overall concurrency cap from the design document.
    pub max_concurrent: usize,
    /// Per-kind worker slot limits.
    pub worker_options: WorkerOptions,
    /// API key for Temporal Cloud (sent as a bearer token; implies TLS).
    #[serde(serialize_with = "redact")]
    pub api_key: Option<SecretString>,
    /// TLS to the frontend (clusters behind cert-manager, Temporal Cloud).
    pub tls: TlsConfig,
}

/// Worker slot limits (the design's `worker_options`).
#[derive(Debug, Clone, Serialize)]
pub struct WorkerOptions {
    /// Concurrent activity executions.
    pub max_concurrent_activity: usize,
    /// Concurrent workflow tasks.
    pub max_concurrent_workflow: usize,
    /// Whether workflow logs are emitted again during replay (noisy; debugging only).
    pub enable_logging_replay: bool,
}

/// TLS settings for the Temporal connection.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsConfig {
    /// Explicitly requested. TLS is also *implied* by an API key or any
    /// certificate path, see [`TemporalConfig::tls_enabled`].
    pub enabled: bool,
    /// Overrides the SNI / verified host name (e.g. when dialing an IP).
    pub server_name: Option<String>,
    /// CA bundle to verify the server with instead of the system roots.
    pub server_ca_cert_path: Option<PathBuf>,
    /// Client certificate for mTLS (needs `client_key_path`).
    pub client_cert_path: Option<PathBuf>,
    /// Client private key for mTLS (needs `client_cert_path`).
    pub client_key_path: Option<PathBuf>,
}

/// GitHub API location and credentials.
#[derive(Debug, Clone, Serialize)]
pub struct GitHubConfig {
    /// API root on github.com; ignored when `enterprise` is true.
    pub base_url: Url,
    /// Uploads root on github.com; ignored when `enterprise` is true.
    pub upload_url: Url,
    /// Talk to a GitHub Enterprise Server at `enterprise_host`.
    pub enterprise: bool,
    /// Host name of the Enterprise Server (no scheme), e.g. `github.company.com`.
    pub enterprise_host: String,
    /// GitHub App id; `0` means "no App configured".
    pub app_id: u64,
    /// Installation id of the App; `0` means "not configured".
    pub installation_id: u64,
    /// PEM file holding the App private key. Only the path lives here; the
    /// key itself is read by [`GitHubConfig::credentials`] when needed.
    pub private_key_path: PathBuf,
    /// Plain token alternative to an App (local development, scripts).
    #[serde(serialize_with = "redact")]
    pub token: Option<SecretString>,
    /// Retry and back-off policy for rate limits and transient errors.
    pub rate_limit: RateLimitConfig,
}

/// Retry and back-off policy towards GitHub.
#[derive(Debug, Clone, Serialize)]
pub struct RateLimitConfig {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First back-off delay.
    #[serde(serialize_with = "human_duration")]
    pub initial_backoff: Duration,
    /// Cap on a single back-off delay.
    #[serde(serialize_with = "human_duration")]
    pub max_backoff: Duration,
    /// Growth factor between delays (at least 1.0).
    pub backoff_multiplier: f64,
    /// Longest rate-limit reset the client waits for inline; longer waits are
    /// handed back to Temporal so a worker slot is not held for an hour.
    #[serde(serialize_with = "human_duration")]
    pub max_inline_wait: Duration,
}

/// Process-level settings.
#[derive(Debug, Clone, Serialize)]
pub struct AppConfig {
    /// Free-form environment name (development, staging, production).
    pub environment: String,
    /// Minimum level logged.
    pub log_level: LogLevel,
    /// Machine-readable JSON (production) or coloured console lines (local).
    pub log_format: LogFormat,
    /// Serve Prometheus metrics.
    pub metrics_enabled: bool,
    /// Port of the metrics listener.
    pub metrics_port: u16,
    /// Port of the health/readiness listener.
    pub health_port: u16,
}

/// Limits of the deployment-tracking workflow.
#[derive(Debug, Clone, Serialize)]
pub struct DeploymentConfig {
    /// A deployment with no status update for this long is marked inactive.
    #[serde(serialize_with = "human_duration")]
    pub inactivity_timeout: Duration,
    /// Hard cap on the lifetime of one tracking workflow.
    #[serde(serialize_with = "human_duration")]
    pub execution_timeout: Duration,
}

/// The HTTP API server: where it listens, its limits and who may call it.
#[derive(Debug, Clone, Serialize)]
pub struct ServerConfig {
    /// `host:port` of the JSON API (and later the GitHub webhooks). Health and
    /// readiness stay on [`AppConfig::health_port`].
    pub listen: String,
    /// Largest request body accepted, in bytes (at least 1).
    pub max_body_bytes: usize,
    /// Longest time one request may take, end to end.
    #[serde(serialize_with = "human_duration")]
    pub request_timeout: Duration,
    /// Longest time one Temporal call from the server may take before the
    /// API answers 503 (shorter than `request_timeout`).
    #[serde(serialize_with = "human_duration")]
    pub temporal_timeout: Duration,
    /// How long `POST /api/v1/deployments` waits for the GitHub deployment id
    /// before answering without it; zero means not at all (shorter than
    /// `request_timeout`).
    #[serde(serialize_with = "human_duration")]
    pub deployment_id_wait: Duration,
    /// How long a `/ready` answer is reused; zero means every probe asks again.
    #[serde(serialize_with = "human_duration")]
    pub ready_cache: Duration,
    /// File of API bearer tokens, one per line (blank lines and `#` comments
    /// ignored). Only the path lives here; [`ServerConfig::api_tokens`] reads it.
    pub api_tokens_file: Option<PathBuf>,
    /// API bearer tokens separated by commas and/or whitespace, so that a new
    /// one can be added before the old one is removed. Use
    /// [`ServerConfig::api_tokens`] to get them split and merged with the file's.
    #[serde(serialize_with = "redact")]
    pub api_tokens: Option<SecretString>,
}

/// GitHub webhooks, received by `gdt server` on [`ServerConfig::listen`].
#[derive(Debug, Clone, Serialize)]
pub struct WebhookConfig {
    /// Webhook secrets separated by commas and/or whitespace. Every one is
    /// accepted when checking `X-Hub-Signature-256`, so the secret can be
    /// rotated without losing deliveries: add the new one, change it in
    /// GitHub's webhook settings, remove the old one. Use
    /// [`WebhookConfig::secrets`] to get them split and merged with the file's.
    #[serde(serialize_with = "redact")]
    pub secrets: Option<SecretString>,
    /// File of webhook secrets, one per line (blank lines and `#` comments
    /// ignored). Only the path lives here; [`WebhookConfig::secrets`] reads it.
    pub secrets_file: Option<PathBuf>,
    /// Largest webhook payload accepted, in bytes (at least 1). GitHub caps
    /// payloads at 25 MiB, so the default never refuses a genuine delivery.
    pub max_body_bytes: usize,
}

/// The pull-request checks (seed 001's plugin and version validation).
#[derive(Debug, Clone, Serialize)]
pub struct PrChecksConfig {
    /// Whether workers run the checks (poll `task_queue`) and the server
    /// accepts `pull_request` webhooks.
    pub enabled: bool,
    /// Task queue of the check workflows; like [`TemporalConfig::task_queue`]
    /// it is a contract with running workflows.
    pub task_queue: String,
    /// How results are reported on the pull request.
    pub report: ReportMode,
    /// Globs of the files whose change calls for a plugin update; `None` means
    /// the check's built-in defaults, an empty list that no file matches.
    pub code_patterns: Option<Vec<String>>,
    /// Globs of the files that make up the plugin; `None` means the check's
    /// built-in defaults, an empty list that no file matches.
    pub plugin_patterns: Option<Vec<String>>,
    /// JSON Schemas that plugin files must satisfy, by path pattern. Only the
    /// paths live here; [`PrChecksConfig::load_schemas`] reads the schemas.
    pub schemas: Vec<SchemaRuleConfig>,
    /// Repository path of the file holding the version (e.g. `1.2.3`).
    pub version_file: String,
    /// Repository path of the plugin manifest whose `version` must match it.
    pub plugin_manifest: String,
}

/// One entry of [`PrChecksConfig::schemas`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchemaRuleConfig {
    /// Glob of the repository paths the schema applies to, e.g.
    /// `.claude-plugin/plugin.json`.
    pub pattern: String,
    /// Local file holding the JSON Schema (relative paths are relative to the
    /// working directory, like every path of this configuration).
    pub schema_path: PathBuf,
}

/// Where the pull-request checks report their result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportMode {
    /// A comment on the pull request only.
    Comment,
    /// A check run on the head commit only.
    CheckRun,
    /// Both a comment and a check run (default).
    Both,
}

/// Log verbosity, in the names tracing and zerolog share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Everything.
    Trace,
    /// Diagnostic detail.
    Debug,
    /// Normal operation (default).
    Info,
    /// Something odd but handled.
    Warn,
    /// Failures.
    Error,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line, for log collectors (default).
    Json,
    /// Human-readable lines, for terminals.
    Console,
}

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {value:?}: expected {expected}")]
pub struct InvalidChoice {
    /// The rejected text.
    pub value: String,
    /// The accepted spellings.
    pub expected: &'static str,
}

impl LogLevel {
    pub(crate) const EXPECTED: &'static str = "one of trace, debug, info, warn, error";

    /// The lowercase name, usable as a tracing `EnvFilter` directive.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

impl FromStr for LogLevel {
    type Err = InvalidChoice;

    /// Case-insensitive, so `INFO` from a Helm value works.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "info" => Ok(Self::Info),
            "warn" => Ok(Self::Warn),
            "error" => Ok(Self::Error),
            _ => Err(InvalidChoice {
                value: s.to_owned(),
                expected: Self::EXPECTED,
            }),
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl LogFormat {
    pub(crate) const EXPECTED: &'static str = "json or console";

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Console => "console",
        }
    }
}

impl FromStr for LogFormat {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "console" => Ok(Self::Console),
            _ => Err(InvalidChoice {
                value: s.to_owned(),
                expected: Self::EXPECTED,
            }),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ReportMode {
    pub(crate) const EXPECTED: &'static str = "one of comment, check_run, both";

    /// The name used in YAML and `GDT_PR_CHECKS_REPORT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Comment => "comment",
            Self::CheckRun => "check_run",
            Self::Both => "both",
        }
    }

    /// Whether a comment is posted on the pull request.
    pub fn comments(self) -> bool {
        matches!(self, Self::Comment | Self::Both)
    }

    /// Whether a check run is created on the head commit.
    pub fn check_runs(self) -> bool {
        matches!(self, Self::CheckRun | Self::Both)
    }
}

impl FromStr for ReportMode {
    type Err = InvalidChoice;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "comment" => Ok(Self::Comment),
            "check_run" => Ok(Self::CheckRun),
            "both" => Ok(Self::Both),
            _ => Err(InvalidChoice {
                value: s.to_owned(),
                expected: Self::EXPECTED,
            }),
        }
    }
}

impl fmt::Display for ReportMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Default for TemporalConfig {
    fn default() -> Self {
        Self {
            host_port: "localhost:7233".to_owned(),
            namespace: "default".to_owned(),
            task_queue: "github-deployment-tracker".to_owned(),
            max_concurrent: 10,
            worker_options: WorkerOptions::default(),
            api_key: None,
            tls: TlsConfig::default(),
        }
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            max_concurrent_activity: 20,
            max_concurrent_workflow: 10,
            enable_logging_replay: false,
        }
    }
}

impl Default for GitHubConfig {
    fn default() -> Self {
        Self {
            base_url: literal_url(DEFAULT_GITHUB_BASE_URL),
            upload_url: literal_url(DEFAULT_GITHUB_UPLOAD_URL),
            enterprise: false,
            enterprise_host: String::new(),
            app_id: 0,
            installation_id: 0,
            private_key_path: PathBuf::from(DEFAULT_PRIVATE_KEY_PATH),
            token: None,
            rate_limit: RateLimitConfig::default(),
        }
    }
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            max_retries: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            backoff_multiplier: 2.0,
            max_inline_wait: Duration::from_secs(10),
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            environment: "development".to_owned(),
            log_level: LogLevel::Info,
            log_format: LogFormat::Json,
            metrics_enabled: true,
            metrics_port: 9090,
            health_port: 8080,
        }
    }
}

impl Default for DeploymentConfig {
    fn default() -> Self {
        Self {
            inactivity_timeout: Duration::from_secs(30 * 60),
            execution_timeout: Duration::from_secs(2 * 60 * 60),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:3000".to_owned(),
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            temporal_timeout: Duration::from_secs(5),
            deployment_id_wait: Duration::from_secs(5),
            ready_cache: Duration::from_secs(5),
            api_tokens_file: None,
            api_tokens: None,
        }
    }
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            secrets: None,
            secrets_file: None,
            max_body_bytes: 25 * 1024 * 1024,
        }
    }
}

impl Default for PrChecksConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            task_queue: "plugin-validation-queue".to_owned(),
            report: ReportMode::Both,
            code_patterns: None,
            plugin_patterns: None,
            schemas: Vec::new(),
            version_file: "VERSION".to_owned(),
            plugin_manifest: ".claude-plugin/plugin.json".to_owned(),
        }
    }
}

impl TemporalConfig {
    /// Whether to dial Temporal over TLS: when asked for, and also whenever an
    /// API key or any certificate is configured, because Temporal Cloud and
    /// mTLS clusters refuse plaintext and sending an API key in clear would
    /// leak it. (So `tls.enabled: false` cannot switch TLS off in that case.)
    pub fn tls_enabled(&self) -> bool {
        let tls = &self.tls;
        self.tls.enabled
            || self.api_key.is_some()
            || tls.server_ca_cert_path.is_some()
            || tls.client_cert_path.is_some()
            || tls.client_key_path.is_some()
    }
}

impl GitHubConfig {
    /// The API root to use: `https://HOST/api/v3` for GitHub Enterprise
    /// Server, else `base_url`. Computed rather than stored so that
    /// `enterprise_host` stays the single source of truth, as in the design.
    ///
    /// `load` has validated `enterprise_host`; should a caller have changed it
    /// to something unusable afterwards, `base_url` is returned.
    pub fn effective_base_url(&self) -> Url {
        self.enterprise_url("/api/v3")
            .unwrap_or_else(|| self.base_url.clone())
    }

    /// The uploads root: `https://HOST/api/uploads` for Enterprise, else `upload_url`.
    pub fn effective_upload_url(&self) -> Url {
        self.enterprise_url("/api/uploads")
            .unwrap_or_else(|| self.upload_url.clone())
    }

    fn enterprise_url(&self, path: &str) -> Option<Url> {
        if !self.enterprise {
            return None;
        }
        enterprise_url(&self.enterprise_host, path)
    }
}

/// `https://HOST{path}` when `host` is a bare host (optionally with a port).
pub(crate) fn enterprise_url(host: &str, path: &str) -> Option<Url> {
    let host = host.trim();
    if host.is_empty() || host.contains(['/', '?', '#', '@']) || host.contains(char::is_whitespace)
    {
        return None;
    }
    let url = Url::parse(&format!("https://{host}{path}")).ok()?;
    (url.path() == path).then_some(url)
}

impl Config {
    /// The effective configuration as YAML for `gdt config check` and support
    /// tickets: secrets appear as `"<redacted>"` (or `"<unset>"`), the App key
    /// only by its path, the GitHub URLs and TLS flag as they will be used.
    /// A comment header says which file, `.env` and variables were applied.
    pub fn redacted_yaml(&self) -> String {
        let mut effective = self.clone();
        effective.github.base_url = self.github.effective_base_url();
        effective.github.upload_url = self.github.effective_upload_url();
        effective.temporal.tls.enabled = self.temporal.tls_enabled();

        let mut out = String::from("# gdt effective configuration (secrets redacted)\n");
        let file = self
            .source
            .file
            .as_ref()
            .map_or_else(|| "none (defaults)".to_owned(), |p| p.display().to_string());
        out.push_str(&format!("# config file: {file}\n"));
        if let Some(dotenv) = &self.source.dotenv_file {
            out.push_str(&format!("# .env file: {}\n", dotenv.display()));
        }
        if !self.source.env_vars.is_empty() {
            out.push_str(&format!(
                "# environment variables applied: {}\n",
                self.source.env_vars.join(", ")
            ));
        }
        match serde_yaml::to_string(&effective) {
            Ok(yaml) => out.push_str(&yaml),
            // Only non-UTF-8 paths can make this fail; say so rather than panic.
            Err(e) => out.push_str(&format!("# cannot render the configuration: {e}\n")),
        }
        out
    }
}

/// Parses a URL literal of this crate. The literals are constants covered by
/// the defaults test, so the fallback is unreachable in practice.
fn literal_url(s: &'static str) -> Url {
    match Url::parse(s) {
        Ok(url) => url,
        Err(e) => unreachable!("built-in URL {s} does not parse: {e}"),
    }
}

fn redact<S: Serializer>(secret: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if secret.is_some() {
        "<redacted>"
    } else {
        "<unset>"
    })
}

fn human_duration<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&humantime::format_duration(*d).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_design_document() {
        let c = Config::default();
        assert_eq!(c.temporal.host_port, "localhost:7233");
        assert_eq!(c.temporal.namespace, "default");
        assert_eq!(c.temporal.task_queue, "github-deployment-tracker");
        assert_eq!(c.temporal.max_concurrent, 10);
        assert_eq!(c.temporal.worker_options.max_concurrent_activity, 20);
        assert_eq!(c.temporal.worker_options.max_concurrent_workflow, 10);
        assert!(!c.temporal.worker_options.enable_logging_replay);
        assert!(!c.temporal.tls_enabled());
        assert_eq!(c.github.base_url.as_str(), "https://api.github.com/");
        assert_eq!(c.github.upload_url.as_str(), "https://uploads.github.com/");
        assert_eq!(
            c.github.private_key_path,
            PathBuf::from("/var/secrets/github/private-key.pem")
        );
        assert_eq!(c.github.rate_limit.max_retries, 5);
        assert_eq!(c.github.rate_limit.initial_backoff, Duration::from_secs(1));
        assert_eq!(c.github.rate_limit.max_backoff, Duration::from_secs(60));
        assert!((c.github.rate_limit.backoff_multiplier - 2.0).abs() < f64::EPSILON);
        assert_eq!(c.github.rate_limit.max_inline_wait, Duration::from_secs(10));
        assert_eq!(c.app.environment, "development");
        assert_eq!(c.app.log_level, LogLevel::Info);
        assert_eq!(c.app.log_format, LogFormat::Json);
        assert!(c.app.metrics_enabled);
        assert_eq!((c.app.metrics_port, c.app.health_port), (9090, 8080));
        assert_eq!(c.deployment.inactivity_timeout, Duration::from_secs(1800));
        assert_eq!(c.deployment.execution_timeout, Duration::from_secs(7200));
    }

    #[test]
    fn server_defaults() {
        let s = Config::default().server;
        assert_eq!(s.listen, "0.0.0.0:3000");
        assert_eq!(s.max_body_bytes, 1_048_576);
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.temporal_timeout, Duration::from_secs(5));
        assert_eq!(s.deployment_id_wait, Duration::from_secs(5));
        assert_eq!(s.ready_cache, Duration::from_secs(5));
        assert!(s.api_tokens_file.is_none() && s.api_tokens.is_none());
    }

    #[test]
    fn the_server_section_is_rendered_with_tokens_redacted() {
        let mut c = Config::default();
        let yaml = c.redacted_yaml();
        for line in [
            "server:\n",
            "  listen: 0.0.0.0:3000\n",
            "  max_body_bytes: 1048576\n",
            "  request_timeout: 30s\n",
            "  temporal_timeout: 5s\n",
            "  deployment_id_wait: 5s\n",
            "  ready_cache: 5s\n",
            "  api_tokens_file: null\n",
            "  api_tokens: <unset>\n",
        ] {
            assert!(yaml.contains(line), "{line:?} missing:\n{yaml}");
        }
        c.server.api_tokens = Some(SecretString::from("tok_one, tok_two".to_owned()));
        c.server.deployment_id_wait = Duration::ZERO;
        let yaml = c.redacted_yaml();
        assert!(yaml.contains("  api_tokens: <redacted>\n"), "{yaml}");
        assert!(yaml.contains("  deployment_id_wait: 0s\n"), "{yaml}");
        let debug = format!("{c:?}");
        for shown in [&yaml, &debug] {
            assert!(
                !shown.contains("tok_one") && !shown.contains("tok_two"),
                "{shown}"
            );
        }
    }

    #[test]
    fn webhook_and_pr_checks_defaults() {
        let c = Config::default();
        let w = &c.webhook;
        assert!(w.secrets.is_none() && w.secrets_file.is_none());
        assert_eq!(w.max_body_bytes, 26_214_400);
        let p = &c.pr_checks;
        assert!(p.enabled);
        assert_eq!(p.task_queue, "plugin-validation-queue");
        assert_eq!(p.report, ReportMode::Both);
        assert!(p.code_patterns.is_none() && p.plugin_patterns.is_none());
        assert!(p.schemas.is_empty());
        assert_eq!(p.version_file, "VERSION");
        assert_eq!(p.plugin_manifest, ".claude-plugin/plugin.json");
    }

    #[test]
    fn the_webhook_and_pr_checks_sections_are_rendered_with_secrets_redacted() {
        let mut c = Config::default();
        let yaml = c.redacted_yaml();
        for block in [
            "webhook:\n  secrets: <unset>\n  secrets_file: null\n  max_body_bytes: 26214400\n",
            "pr_checks:\n  enabled: true\n  task_queue: plugin-validation-queue\n  report: both\n  \
             code_patterns: null\n  plugin_patterns: null\n  schemas: []\n  version_file: VERSION\n  \
             plugin_manifest: .claude-plugin/plugin.json\n",
        ] {
            assert!(yaml.contains(block), "{block:?} missing:\n{yaml}");
        }
        c.webhook.secrets = Some(SecretString::from("whs_one, whs_two".to_owned()));
        c.webhook.secrets_file = Some(PathBuf::from("/var/secrets/webhook"));
        c.pr_checks.report = ReportMode::CheckRun;
        c.pr_checks.plugin_patterns = Some(Vec::new());
        c.pr_checks.code_patterns = Some(vec!["src/**/*.rs".to_owned()]);
        c.pr_checks.schemas = vec![SchemaRuleConfig {
            pattern: ".claude-plugin/plugin.json".to_owned(),
            schema_path: PathBuf::from("/schemas/plugin.json"),
        }];
        let yaml = c.redacted_yaml();
        for line in [
            "  secrets: <redacted>\n",
            "  secrets_file: /var/secrets/webhook\n",
            "  report: check_run\n",
            "  code_patterns:\n  - src/**/*.rs\n",
            "  plugin_patterns: []\n",
            "  schemas:\n  - pattern: .claude-plugin/plugin.json\n    schema_path: /schemas/plugin.json\n",
        ] {
            assert!(yaml.contains(line), "{line:?} missing:\n{yaml}");
        }
        let debug = format!("{c:?}");
        for shown in [&yaml, &debug] {
            assert!(
                !shown.contains("whs_one") && !shown.contains("whs_two"),
                "{shown}"
            );
        }
    }

    #[test]
    fn report_modes() {
        let cases = [
            ("comment", ReportMode::Comment, true, false),
            ("check_run", ReportMode::CheckRun, false, true),
            ("BOTH", ReportMode::Both, true, true),
        ];
        for (text, mode, comments, check_runs) in cases {
            assert_eq!(text.parse::<ReportMode>().ok(), Some(mode), "{text}");
            assert_eq!((mode.comments(), mode.check_runs()), (comments, check_runs));
            assert_eq!(mode.to_string(), text.to_ascii_lowercase());
        }
        let err = "check-runs".parse::<ReportMode>().expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown value \"check-runs\": expected one of comment, check_run, both"
        );
    }

    #[test]
    fn enterprise_urls() {
        let cases = [
            (
                "github.company.com",
                Some("https://github.company.com/api/v3"),
            ),
            ("ghe.local:8443", Some("https://ghe.local:8443/api/v3")),
            ("https://github.company.com", None),
            ("github.company.com/x", None),
            ("", None),
            ("two words", None),
        ];
        for (host, want) in cases {
            let got = enterprise_url(host, "/api/v3");
            assert_eq!(got.as_ref().map(Url::as_str), want, "{host:?}");
        }
    }

    #[test]
    fn effective_urls_switch_on_enterprise() {
        let mut g = GitHubConfig::default();
        assert_eq!(g.effective_base_url().as_str(), "https://api.github.com/");
        g.enterprise = true;
        g.enterprise_host = "github.company.com".to_owned();
        assert_eq!(
            g.effective_base_url().as_str(),
            "https://github.company.com/api/v3"
        );
        assert_eq!(
            g.effective_upload_url().as_str(),
            "https://github.company.com/api/uploads"
        );
    }

    #[test]
    fn tls_is_implied_by_credentials_and_certificates() {
        let mut t = TemporalConfig::default();
        assert!(!t.tls_enabled());
        t.api_key = Some(SecretString::from("k".to_owned()));
        assert!(t.tls_enabled());
        let mut t = TemporalConfig::default();
        t.tls.server_ca_cert_path = Some(PathBuf::from("/ca.pem"));
        assert!(t.tls_enabled());
    }

    #[test]
    fn log_enums_parse_case_insensitively() {
        assert_eq!("WARN".parse::<LogLevel>().ok(), Some(LogLevel::Warn));
        assert!("verbose".parse::<LogLevel>().is_err());
        assert_eq!(
            "Console".parse::<LogFormat>().ok(),
            Some(LogFormat::Console)
        );
        assert!("text".parse::<LogFormat>().is_err());
    }
}
