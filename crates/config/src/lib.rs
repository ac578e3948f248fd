//! Configuration of the `gdt` GitHub deployment tracker (worker, server, CLI).
//!
//! The layout is the one of the Go/viper design document (`temporal.host_port`,
//! `github.rate_limit.max_retries`, …), because deployed ConfigMaps and `.env`
//! files already use it; see `config/config.example.yaml` at the repository
//! root for every key.
//!
//! # Sources, lowest to highest precedence
//! 1. built-in defaults ([`Config::default`]);
//! 2. one YAML file: `--config PATH` (must exist), else the first of
//!    [`search_paths`]; unknown keys are errors, so typos cannot pass silently;
//! 3. `.env` in the search directory, which never overrides a variable that is
//!    already set;
//! 4. Temporal's variables (`TEMPORAL_ADDRESS`, …) and the design documents'
//!    older names (`GITHUB_APP_ID`, `GITHUB_TOKEN`, `INTERNAL_API_SHARED_SECRET`,
//!    `GITHUB_WEBHOOK_SECRET`, …);
//! 5. our `GDT_*` variables.
//!
//! Variables are listed in [`ENV_BINDINGS`] (data, not name mangling) so the
//! CLI can print what is read.
//!
//! # Layout
//! - `model`: the typed [`Config`], defaults, [`Config::redacted_yaml`];
//! - `file`: the YAML layer (strict, every field optional);
//! - `env`: the variable table, [`EnvSource`] and `.env` handling;
//! - `load`: [`load`], the search order and cross-field validation;
//! - `credentials`: reading the GitHub App key, the Temporal TLS files, the
//!   server's API tokens ([`ServerConfig::api_tokens`]) and the webhook
//!   secrets ([`WebhookConfig::secrets`]);
//! - `schemas`: reading the JSON Schemas of the pull-request checks
//!   ([`PrChecksConfig::load_schemas`]);
//! - `error`: [`ConfigError`], whose messages name the key and the fix.
//!
//! Secrets are [`secrecy::SecretString`]s: they are never printed, never
//! serialised (they render as `<redacted>`), and never quoted in an error.

mod credentials;
mod env;
mod error;
mod file;
mod load;
mod model;
mod schemas;
mod values;

pub use credentials::{ClientIdentity, GitHubCredentials, TlsMaterial};
pub use env::{overlay_dotenv, EnvBinding, EnvSource, ENV_BINDINGS};
pub use error::{ConfigError, Setting};
pub use load::{load, search_paths, LoadOptions, SYSTEM_CONFIG_PATH};
pub use model::{
    AppConfig, Config, ConfigSource, DeploymentConfig, GitHubConfig, InvalidChoice, LogFormat,
    LogLevel, PrChecksConfig, RateLimitConfig, ReportMode, SchemaRuleConfig, ServerConfig,
    TemporalConfig, TlsConfig, WebhookConfig, WorkerOptions, DEFAULT_GITHUB_BASE_URL,
    DEFAULT_GITHUB_UPLOAD_URL, DEFAULT_PRIVATE_KEY_PATH,
};
