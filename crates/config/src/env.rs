//! The environment layer: the variables of the table of settings, and `.env`.
//!
//! Viper derived variable names by splitting on `_`, which cannot work for
//! keys that contain underscores (`host_port`), so every variable is declared
//! with its setting (`settings.rs`) and [`ENV_BINDINGS`] lists them in the order
//! they are applied. `gdt config check` prints that list.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use crate::error::ConfigError;
use crate::settings::{Config, Setting, SETTINGS};
use crate::table::REMOVED;
use crate::values::Invalid;

/// One environment variable and the configuration key it sets.
#[derive(Debug, Clone, Copy)]
pub struct EnvBinding {
    /// Variable name, e.g. `GDT_GITHUB_APP_ID`.
    pub var: &'static str,
    /// Dotted configuration key, e.g. `github.app_id`.
    pub key: &'static str,
    /// Whether the value is a credential (never shown, never echoed in errors).
    pub secret: bool,
    setting: &'static Setting,
}

impl EnvBinding {
    /// Parses `raw` and stores it in `config`, or explains what was expected.
    pub(crate) fn apply(&self, config: &mut Config, raw: &str) -> Result<(), ConfigError> {
        (self.setting.set_env)(config, raw).map_err(|why| {
            let shown = if self.secret { "<redacted>" } else { raw };
            ConfigError::rejected(origin(self.var, self.key), shown.to_owned(), why)
        })
    }
}

/// How a message names a variable: `VAR (key)`.
fn origin(var: &str, key: &str) -> String {
    format!("{var} ({key})")
}

/// Every variable read, in the order applied: a later entry overrides an earlier one for
/// the same key. The older names (Temporal's own, those of earlier scripts) come first, the
/// `GDT_` ones last, so the `GDT_` ones win.
pub static ENV_BINDINGS: LazyLock<Vec<EnvBinding>> = LazyLock::new(|| {
    let binding = |setting: &'static Setting, var: &&'static str| EnvBinding {
        var,
        key: setting.key,
        secret: setting.secret,
        setting,
    };
    let older = SETTINGS
        .iter()
        .flat_map(|s| s.env.iter().skip(1).map(|var| binding(s, var)));
    let ours = SETTINGS
        .iter()
        .flat_map(|s| s.env.first().map(|var| binding(s, var)));
    older.chain(ours).collect()
});

/// Where environment variables come from.
///
/// Tests use [`EnvSource::Map`] so they never have to mutate the process
/// environment (which is shared by all test threads and is `unsafe` to
/// change in edition 2024).
#[derive(Clone, Default)]
pub enum EnvSource {
    /// The process environment, completed by `.env` in the search directory
    /// (whose lines never override a variable that is already set).
    #[default]
    Process,
    /// Exactly these variables; no `.env` file is read.
    Map(HashMap<String, String>),
}

/// Values may be secrets: show names only.
impl fmt::Debug for EnvSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Process => f.write_str("Process"),
            Self::Map(map) => {
                let mut names: Vec<&str> = map.keys().map(String::as_str).collect();
                names.sort_unstable();
                f.debug_tuple("Map").field(&names).finish()
            }
        }
    }
}

impl EnvSource {
    /// The variables to apply, and the `.env` file that contributed, if any.
    pub(crate) fn resolve(
        &self,
        search_dir: &Path,
    ) -> Result<(HashMap<String, String>, Option<PathBuf>), ConfigError> {
        match self {
            Self::Map(map) => Ok((map.clone(), None)),
            Self::Process => {
                let mut env = process_env()?;
                let dotenv = search_dir.join(".env");
                let read = overlay_dotenv(&mut env, &dotenv)?;
                Ok((env, read.then_some(dotenv)))
            }
        }
    }
}

/// The bound variables present in the process environment.
fn process_env() -> Result<HashMap<String, String>, ConfigError> {
    let mut env = HashMap::new();
    let names = ENV_BINDINGS
        .iter()
        .map(|b| (b.var, b.key))
        .chain(REMOVED.iter().map(|r| (r.var, r.key)));
    for (var, key) in names {
        if let Some(value) = std::env::var_os(var) {
            let value = value.into_string().map_err(|_| {
                let why = Invalid::Expected("UTF-8 text");
                ConfigError::rejected(origin(var, key), "<not UTF-8>".to_owned(), why)
            })?;
            env.insert(var.to_owned(), value);
        }
    }
    Ok(env)
}

/// Adds the variables of the `.env` file at `path` to `env`, keeping every
/// variable `env` already has (as `dotenvy::dotenv()` does with the process
/// environment, but without mutating it). Returns whether the file existed.
///
/// Parse errors give the line number only, since the line may hold a secret.
pub fn overlay_dotenv(env: &mut HashMap<String, String>, path: &Path) -> Result<bool, ConfigError> {
    let iter = match dotenvy::from_path_iter(path) {
        Ok(iter) => iter,
        Err(e) if e.not_found() => return Ok(false),
        Err(e) => return Err(dotenv_error(path, &e)),
    };
    for item in iter {
        let (name, value) = item.map_err(|e| dotenv_error(path, &e))?;
        env.entry(name).or_insert(value);
    }
    Ok(true)
}

fn dotenv_error(path: &Path, e: &dotenvy::Error) -> ConfigError {
    let detail = match e {
        dotenvy::Error::LineParse(line, _) => {
            let number = fs::read_to_string(path)
                .ok()
                .and_then(|text| text.lines().position(|l| l == line))
                .map_or_else(String::new, |i| format!(" on line {}", i + 1));
            format!("syntax error{number} (expected NAME=value; the line is not shown as it may hold a secret)")
        }
        other => other.to_string(),
    };
    ConfigError::DotEnv {
        path: path.to_owned(),
        detail,
    }
}

/// Applies the bound variables found in `env` to `config`, in table order.
/// Empty values are ignored, as viper did, so `FOO=` in a manifest does not
/// blank a setting. A removed variable is an error that says what to do
/// instead. Returns the names applied.
pub(crate) fn apply(
    config: &mut Config,
    env: &HashMap<String, String>,
) -> Result<Vec<String>, ConfigError> {
    let set = |var: &str| env.get(var).is_some_and(|v| !v.trim().is_empty());
    if let Some(removed) = REMOVED.iter().find(|r| set(r.var)) {
        return Err(ConfigError::Removed {
            setting: origin(removed.var, removed.key),
            advice: removed.advice,
        });
    }
    let mut applied = Vec::new();
    for binding in ENV_BINDINGS.iter().filter(|b| set(b.var)) {
        binding.apply(config, &env[binding.var])?;
        applied.push(binding.var.to_owned());
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn every_binding_sets_its_key() {
        // A value valid for every kind of variable in the table.
        let sample = |b: &EnvBinding| match b.key {
            k if k.ends_with("_url") => "https://example.test/api",
            k if k.contains("backoff_multiplier") => "3",
            k if [
                "backoff", "timeout", "wait", "cache", "interval", "ttl", "lag",
            ]
            .iter()
            .any(|part| k.contains(part)) =>
            {
                "7s"
            }
            "app.metrics_enabled"
            | "pr_checks.enabled"
            | "deployment.supersede"
            | "external.enabled"
            | "pr_cleanup.enabled"
            | "pr_cleanup.match_head_ref"
            | "board.enabled" => "false",
            "board.cookie_secure" => "true",
            "board.github_web_url" => "https://github.example.test",
            "board.viewer_tokens" => "viewer-token-0123456789",
            "deployment.inactivation" => "off",
            "external.lifecycle" => "true",
            "external.service_source" => "task",
            k if k.starts_with("pr_cleanup.delete_") => "true",
            "pr_checks.report" => "comment",
            k if k.contains("enable") || k == "github.enterprise" => "true",
            "app.log_level" => "debug",
            "app.log_format" => "console",
            _ => "7",
        };
        for b in ENV_BINDINGS.iter() {
            let mut config = Config::default();
            let before = config.redacted_yaml();
            b.apply(&mut config, sample(b))
                .unwrap_or_else(|e| panic!("{}: {e}", b.var));
            assert_ne!(before, config.redacted_yaml(), "{} changed nothing", b.var);
        }
    }

    #[test]
    fn later_bindings_win_and_empty_values_are_ignored() {
        let mut config = Config::default();
        let applied = apply(
            &mut config,
            &env(&[
                ("TEMPORAL_ADDRESS", "temporal:7233"),
                ("GDT_TEMPORAL_HOST_PORT", "gdt:7233"),
                ("GITHUB_APP_ID", "1"),
                ("GDT_GITHUB_APP_ID", "2"),
                ("GITHUB_TOKEN", " ghp_abc\n"),
                ("GDT_APP_ENVIRONMENT", ""),
                ("UNRELATED", "x"),
            ]),
        )
        .expect("applies");
        assert_eq!(config.temporal.host_port, "gdt:7233");
        assert_eq!(config.github.app_id, 2);
        assert_eq!(config.app.environment, "development");
        assert_eq!(
            config.github.token.as_ref().map(|t| t.expose_secret()),
            Some("ghp_abc")
        );
        assert_eq!(
            applied,
            [
                "TEMPORAL_ADDRESS",
                "GITHUB_TOKEN",
                "GITHUB_APP_ID",
                "GDT_TEMPORAL_HOST_PORT",
                "GDT_GITHUB_APP_ID"
            ]
        );
    }
}
