//! The one error type of this crate.
//!
//! Every message names the configuration key (and, for the environment, the
//! variable) that is wrong and says how to fix it, because the people reading
//! them are operators looking at a crash-looping pod, not developers with a
//! debugger. No message ever contains a secret value or key material.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::values::Invalid;

/// Where a rejected value was written, so an error can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An environment variable (or a line of `.env`) bound to a key.
    Env {
        /// The variable name, e.g. `GDT_GITHUB_APP_ID`.
        var: &'static str,
        /// The configuration key it sets, e.g. `github.app_id`.
        key: &'static str,
    },
    /// A key of the YAML configuration file.
    File {
        /// The configuration key, e.g. `github.rate_limit.initial_backoff`.
        key: &'static str,
        /// The file it was read from.
        path: PathBuf,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env { var, key } => write!(f, "{var} ({key})"),
            Self::File { key, path } => write!(f, "{key} in {}", path.display()),
        }
    }
}

/// Everything that can go wrong while loading or using the configuration.
///
/// Variants carry structured fields so callers (e.g. `gdt config check`) can
/// react programmatically; the `Display` text is meant for humans.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--config PATH` named a file that does not exist. Unlike the search
    /// locations, an explicit path must exist: a typo there would otherwise
    /// silently fall back to defaults.
    #[error("config file {} does not exist (given with --config)", path.display())]
    ConfigFileNotFound {
        /// The path given.
        path: PathBuf,
    },

    /// The configuration file exists but could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ReadConfigFile {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// YAML syntax error, unknown key or a value of the wrong type in the file.
    #[error("config file {}: {detail}", path.display())]
    ParseConfigFile {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the key path and the location when known.
        detail: String,
        /// 1-based line of the problem, when the parser knows it.
        line: Option<usize>,
        /// 1-based column of the problem, when the parser knows it.
        column: Option<usize>,
    },

    /// The `.env` file exists but could not be read or parsed. The offending
    /// line is identified by number only: it may hold a secret.
    #[error("cannot use {}: {detail}", path.display())]
    DotEnv {
        /// The `.env` file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// A value that does not parse as the key's type.
    #[error("invalid value {value:?} for {setting}: expected {expected}")]
    InvalidValue {
        /// Where it was written.
        setting: Origin,
        /// The rejected text (`<redacted>` for secrets).
        value: String,
        /// What would have been accepted.
        expected: String,
    },

    /// A duration that humantime cannot parse.
    #[error("invalid duration {value:?} for {setting}: use e.g. \"2s\", \"30m\"")]
    InvalidDuration {
        /// Where it was written.
        setting: Origin,
        /// The rejected text.
        value: String,
    },

    /// A key or variable that no longer exists.
    #[error("{setting} was removed: {advice}")]
    Removed {
        /// Where it was written.
        setting: Origin,
        /// What to do instead.
        advice: &'static str,
    },

    /// A value that parses but breaks a rule (empty, zero, out of order…).
    #[error("{key} {problem}")]
    Invalid {
        /// The configuration key.
        key: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },

    /// Half a GitHub App configuration: the App id without the installation.
    #[error(
        "github.app_id is set ({app_id}) but github.installation_id is not: \
         set GDT_GITHUB_INSTALLATION_ID or github.installation_id"
    )]
    InstallationIdMissing {
        /// The configured App id.
        app_id: u64,
    },

    /// Half a GitHub App configuration: the installation without the App id.
    #[error(
        "github.installation_id is set ({installation_id}) but github.app_id is not: \
         set GDT_GITHUB_APP_ID or github.app_id"
    )]
    AppIdMissing {
        /// The configured installation id.
        installation_id: u64,
    },

    /// GitHub Enterprise requested without saying where it is.
    #[error(
        "github.enterprise is true but github.enterprise_host is empty: \
         set GDT_GITHUB_ENTERPRISE_HOST"
    )]
    EnterpriseHostMissing,

    /// The App private key file cannot be read.
    #[error(
        "cannot read the GitHub App private key at {} \
         (github.private_key_path / GITHUB_APP_PRIVATE_KEY_PATH): {source}",
        path.display()
    )]
    PrivateKeyUnreadable {
        /// The key file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// The App private key file was read but is not a PEM private key
    /// (e.g. the public key or a certificate was mounted by mistake).
    #[error(
        "the file at {} does not contain a PEM private key \
         (github.private_key_path / GITHUB_APP_PRIVATE_KEY_PATH): \
         download a private key from the GitHub App settings",
        path.display()
    )]
    PrivateKeyNotPem {
        /// The key file.
        path: PathBuf,
    },

    /// mTLS needs both halves; one without the other is a mistake.
    #[error(
        "temporal.tls.client_cert_path is set but temporal.tls.client_key_path is not: \
         mTLS needs both (set GDT_TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_CLIENT_KEY_PATH)"
    )]
    TlsClientKeyMissing,

    /// mTLS needs both halves; one without the other is a mistake.
    #[error(
        "temporal.tls.client_key_path is set but temporal.tls.client_cert_path is not: \
         mTLS needs both (set GDT_TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CLIENT_CERT_PATH)"
    )]
    TlsClientCertMissing,

    /// A TLS certificate or key file cannot be read.
    #[error("cannot read {key} at {}: {source}", path.display())]
    TlsFileUnreadable {
        /// The key naming the file, e.g. `temporal.tls.server_ca_cert_path`.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// The API tokens file cannot be read (missing, unreadable, or not UTF-8
    /// text). Its content is never quoted.
    #[error(
        "cannot read the API tokens file at {} \
         (server.api_tokens_file / GDT_SERVER_API_TOKENS_FILE / INTERNAL_API_SHARED_SECRET_FILE): \
         {source}; mount the file (one token per line) or unset the setting",
        path.display()
    )]
    ApiTokensFileUnreadable {
        /// The tokens file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// The webhook secrets file cannot be read (missing, unreadable, or not
    /// UTF-8 text). Its content is never quoted.
    #[error(
        "cannot read the webhook secrets file at {} \
         (webhook.secrets_file / GDT_WEBHOOK_SECRETS_FILE / GITHUB_WEBHOOK_SECRET_FILE): \
         {source}; mount the file (one secret per line) or unset the setting",
        path.display()
    )]
    WebhookSecretsFileUnreadable {
        /// The secrets file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// A JSON Schema file of `pr_checks.schemas` cannot be read.
    #[error(
        "cannot read the JSON Schema at {} (pr_checks.schemas[{index}].schema_path): {source}",
        path.display()
    )]
    SchemaFileUnreadable {
        /// Position of the entry in `pr_checks.schemas`, from 0.
        index: usize,
        /// The schema file.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },

    /// A JSON Schema file of `pr_checks.schemas` is not valid JSON.
    #[error(
        "the JSON Schema at {} (pr_checks.schemas[{index}].schema_path) is not valid JSON: \
         {detail} at line {line} column {column}",
        path.display()
    )]
    SchemaFileNotJson {
        /// Position of the entry in `pr_checks.schemas`, from 0.
        index: usize,
        /// The schema file.
        path: PathBuf,
        /// What the JSON parser found wrong.
        detail: String,
        /// 1-based line of the problem.
        line: usize,
        /// Column of the problem as the JSON parser counts it (1-based; 0 at
        /// the very end of the file).
        column: usize,
    },

    /// A TLS file that is not PEM.
    #[error("{key} at {} does not contain PEM data (-----BEGIN ...-----)", path.display())]
    TlsFileNotPem {
        /// The key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
    },
}

impl ConfigError {
    /// A value of `setting` that did not parse: `value` as written (the caller redacts
    /// secrets) and why.
    pub(crate) fn rejected(setting: Origin, value: String, why: Invalid) -> Self {
        match why {
            Invalid::Expected(expected) => Self::InvalidValue {
                setting,
                value,
                expected: expected.to_owned(),
            },
            Invalid::Duration => Self::InvalidDuration { setting, value },
        }
    }
}
