//! Configuration of the `gdt` GitHub deployment tracker (worker, server and CLI).
//!
//! Every setting is declared once, in `settings.rs`: its key (`temporal.host_port`,
//! `github.rate_limit.max_retries`, …), type, default, variables and doc line. The YAML
//! layer, the variables, the messages, `gdt config check`, README's table and
//! `config/config.example.yaml` are all made from that table ([`SETTINGS`]).
//!
//! # Sources, lowest to highest precedence
//! 1. built-in defaults ([`Config::default`]);
//! 2. one YAML file: `--config PATH` (must exist), else the first of
//!    [`search_paths`]; unknown keys are errors, so typos cannot pass silently;
//! 3. `.env` in the search directory, which never overrides a variable that is
//!    already set;
//! 4. the older variables: Temporal's own (`TEMPORAL_ADDRESS`, …) and those of earlier
//!    scripts (`GITHUB_APP_ID`, `GITHUB_TOKEN`, `INTERNAL_API_SHARED_SECRET`, …);
//! 5. our `GDT_*` variables, each the key in capitals.
//!
//! # Layout
//! - `settings`: the declarations, the typed [`Config`] they make, and derived values
//!   ([`TemporalConfig::tls_enabled`], [`GitHubConfig::effective_base_url`]);
//! - `table`: [`Row`] (a [`Setting`]), the `section!` macro behind the declarations,
//!   [`REMOVED`];
//! - `values`: the types a setting can have, parsed alike from YAML and variables;
//! - `file`: the YAML layer, read section by section as declared (strict, every key optional);
//! - `env`: [`ENV_BINDINGS`], [`EnvSource`] and `.env` handling;
//! - `load`: [`load`], the search order and cross-field validation;
//! - `docs`: [`Config::redacted_yaml`], README's table and the example file;
//! - `credentials`: reading the GitHub App key, the Temporal TLS files, the
//!   server's API tokens ([`ServerConfig::api_tokens`]) and the webhook
//!   secrets ([`WebhookConfig::secrets`]);
//! - `schemas`: reading the JSON Schemas of the pull-request checks
//!   ([`PrChecksConfig::load_schemas`]);
//! - `error`: [`ConfigError`], whose messages name the key and the fix.
//!
//! Secrets are [`secrecy::SecretString`]s: they are never printed, never
//! shown (they render as `<redacted>`), and never quoted in an error.

mod credentials;
pub mod docs;
mod env;
mod error;
mod file;
mod load;
mod schemas;
mod settings;
mod table;
mod values;

pub use credentials::{ClientIdentity, GitHubCredentials, TlsMaterial};
pub use env::{overlay_dotenv, EnvBinding, EnvSource, ENV_BINDINGS};
pub use error::ConfigError;
pub use load::{load, search_paths, LoadOptions, SYSTEM_CONFIG_PATH};
pub use settings::{
    AppConfig, Config, ConfigSource, DeploymentConfig, GitHubConfig, PrChecksConfig,
    PrCleanupConfig, RateLimitConfig, ServerConfig, TemporalConfig, TlsConfig, WebhookConfig,
    WorkerOptions, DEFAULT_GITHUB_BASE_URL, DEFAULT_PRIVATE_KEY_PATH,
};
pub use settings::{Setting, SETTINGS};
pub use table::{Removed, Row, REMOVED};
pub use values::{Inactivation, InvalidChoice, LogFormat, LogLevel, ReportMode, SchemaRuleConfig};
