//! The one error type of this crate.
//!
//! Every message names the configuration key (and, for the environment, the
//! variable) that is wrong and says how to fix it, because the people reading
//! them are operators looking at a crash-looping pod, not developers with a
//! debugger. No message ever contains a secret value or key material.

use std::io;
use std::path::PathBuf;

use crate::values::Invalid;

/// Everything that can go wrong while loading or using the configuration.
///
/// The variants a caller may want to tell apart carry structured fields (the
/// file, the entry, the position); the `Display` text is meant for humans.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `--config PATH` named a file that does not exist. Unlike the search
    /// locations, an explicit path must exist: a typo there would otherwise
    /// silently fall back to defaults.
    #[error("config file {} does not exist (given with --config)", path.display())]
    ConfigFileNotFound { path: PathBuf },

    /// The configuration file exists but could not be read.
    #[error("cannot read config file {}: {source}", path.display())]
    ReadConfigFile { path: PathBuf, source: io::Error },

    /// YAML syntax error, unknown key or a value of the wrong type in the file.
    #[error("config file {}: {detail}", path.display())]
    ParseConfigFile {
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
    DotEnv { path: PathBuf, detail: String },

    /// A value that does not parse as the key's type: `what` is `value` or
    /// `duration`, `fix` what would have been accepted.
    #[error("invalid {what} {value:?} for {setting}: {fix}")]
    InvalidValue {
        /// Where it was written: `VAR (key)` or `key in FILE`.
        setting: String,
        /// The rejected text (`<redacted>` for secrets).
        value: String,
        what: &'static str,
        fix: String,
    },

    /// A key or variable that no longer exists.
    #[error("{setting} was removed: {advice}")]
    Removed {
        /// Where it was written: `VAR (key)`.
        setting: String,
        /// What to do instead.
        advice: &'static str,
    },

    /// A value that parses but breaks a rule (empty, zero, out of order, half
    /// of a pair…).
    #[error("{key} {problem}")]
    Invalid {
        /// The configuration key.
        key: &'static str,
        /// What is wrong and how to fix it.
        problem: String,
    },

    /// The App private key file cannot be read.
    #[error(
        "cannot read the GitHub App private key at {} \
         (github.private_key_path / GITHUB_APP_PRIVATE_KEY_PATH): {source}",
        path.display()
    )]
    PrivateKeyUnreadable { path: PathBuf, source: io::Error },

    /// The App private key file was read but is not a PEM private key
    /// (e.g. the public key or a certificate was mounted by mistake).
    #[error(
        "the file at {} does not contain a PEM private key \
         (github.private_key_path / GITHUB_APP_PRIVATE_KEY_PATH): \
         download a private key from the GitHub App settings",
        path.display()
    )]
    PrivateKeyNotPem { path: PathBuf },

    /// A TLS certificate or key file cannot be read; `key` names the file,
    /// e.g. `temporal.tls.server_ca_cert_path`.
    #[error("cannot read {key} at {}: {source}", path.display())]
    TlsFileUnreadable {
        key: &'static str,
        path: PathBuf,
        source: io::Error,
    },

    /// A TLS file that is not PEM.
    #[error("{key} at {} does not contain PEM data (-----BEGIN ...-----)", path.display())]
    TlsFileNotPem { key: &'static str, path: PathBuf },

    /// The API tokens file cannot be read (missing, unreadable, or not UTF-8
    /// text). Its content is never quoted.
    #[error(
        "cannot read the API tokens file at {} \
         (server.api_tokens_file / GDT_SERVER_API_TOKENS_FILE / INTERNAL_API_SHARED_SECRET_FILE): \
         {source}; mount the file (one token per line) or unset the setting",
        path.display()
    )]
    ApiTokensFileUnreadable { path: PathBuf, source: io::Error },

    /// The viewer tokens file cannot be read. Its content is never quoted.
    #[error(
        "cannot read the viewer tokens file at {} \
         (board.viewer_tokens_file / GDT_BOARD_VIEWER_TOKENS_FILE): {source}; mount the file \
         (one token per line) or unset the setting",
        path.display()
    )]
    ViewerTokensFileUnreadable { path: PathBuf, source: io::Error },

    /// A viewer token is too short to be safe (its value is never quoted).
    #[error(
        "viewer token {position} (counting from 0, board.viewer_tokens then \
         board.viewer_tokens_file) is shorter than 16 characters; use a random token such as \
         the output of `openssl rand -hex 24`"
    )]
    ViewerTokenTooShort { position: usize },

    /// The webhook secrets file cannot be read (missing, unreadable, or not
    /// UTF-8 text). Its content is never quoted.
    #[error(
        "cannot read the webhook secrets file at {} \
         (webhook.secrets_file / GDT_WEBHOOK_SECRETS_FILE / GITHUB_WEBHOOK_SECRET_FILE): \
         {source}; mount the file (one secret per line) or unset the setting",
        path.display()
    )]
    WebhookSecretsFileUnreadable { path: PathBuf, source: io::Error },

    /// A JSON Schema file of `pr_checks.schemas` cannot be read; `index` is
    /// the position of its entry, from 0.
    #[error(
        "cannot read the JSON Schema at {} (pr_checks.schemas[{index}].schema_path): {source}",
        path.display()
    )]
    SchemaFileUnreadable {
        index: usize,
        path: PathBuf,
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
        path: PathBuf,
        /// What the JSON parser found wrong.
        detail: String,
        /// 1-based line of the problem.
        line: usize,
        /// Column of the problem as the JSON parser counts it (1-based; 0 at
        /// the very end of the file).
        column: usize,
    },
}

impl ConfigError {
    /// A value written at `setting` (`VAR (key)` or `key in FILE`) that did not parse:
    /// `value` as written (the caller redacts secrets) and why.
    pub(crate) fn rejected(setting: String, value: String, why: Invalid) -> Self {
        let (what, fix) = match why {
            Invalid::Expected(expected) => ("value", format!("expected {expected}")),
            Invalid::Duration => ("duration", "use e.g. \"2s\", \"30m\"".to_owned()),
        };
        Self::InvalidValue {
            setting,
            value,
            what,
            fix,
        }
    }

    /// A value that breaks a rule of `key`.
    pub(crate) fn invalid(key: &'static str, problem: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            problem: problem.into(),
        }
    }
}
