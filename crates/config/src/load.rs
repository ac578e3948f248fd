//! Putting the layers together, and the checks that need all of them.

use std::path::{Path, PathBuf};

use crate::env::{self, EnvSource};
use crate::error::ConfigError;
use crate::file;
use crate::settings::{enterprise_api, Config, ConfigSource, SETTINGS};

/// The system-wide configuration file, last in the search order.
pub const SYSTEM_CONFIG_PATH: &str = "/etc/github-deployment-tracker/config.yaml";

/// What [`load`] reads.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `--config PATH`: read exactly this file, which must exist.
    pub explicit_path: Option<PathBuf>,
    /// Directory searched for `config.yaml`, `config/config.yaml` and `.env`
    /// (the working directory, `.`, by default).
    pub search_dir: PathBuf,
    /// Where environment variables come from.
    pub env: EnvSource,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            explicit_path: None,
            search_dir: PathBuf::from("."),
            env: EnvSource::Process,
        }
    }
}

/// The files looked for when no `--config` is given, first match wins (the
/// design's viper search path: `.`, `./config`, `/etc/github-deployment-tracker`).
pub fn search_paths(search_dir: &Path) -> Vec<PathBuf> {
    vec![
        search_dir.join("config.yaml"),
        search_dir.join("config").join("config.yaml"),
        PathBuf::from(SYSTEM_CONFIG_PATH),
    ]
}

/// Loads and validates the configuration: defaults, then the YAML file, then
/// `.env` (never overriding the real environment), then the older variables,
/// then ours (see [`crate::ENV_BINDINGS`]).
///
/// Everything is validated here except the GitHub App key file, which
/// [`crate::GitHubConfig::credentials`] reads, so a missing key can be
/// reported by `gdt config check` next to the rest of the configuration.
pub fn load(opts: &LoadOptions) -> Result<Config, ConfigError> {
    let mut config = Config::default();
    let mut source = ConfigSource::default();

    if let Some(path) = locate_file(opts)? {
        file::apply(&mut config, &path)?;
        source.file = Some(path);
    }

    let (vars, dotenv_file) = opts.env.resolve(&opts.search_dir)?;
    source.dotenv_file = dotenv_file;
    source.env_vars = env::apply(&mut config, &vars)?;

    validate(&config)?;
    config.source = source;
    Ok(config)
}

fn locate_file(opts: &LoadOptions) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = &opts.explicit_path {
        // `try_exists` errors (e.g. permissions) fall through to the read,
        // whose error says more.
        if matches!(path.try_exists(), Ok(false)) {
            return Err(ConfigError::ConfigFileNotFound { path: path.clone() });
        }
        return Ok(Some(path.clone()));
    }
    Ok(search_paths(&opts.search_dir)
        .into_iter()
        .find(|p| p.is_file()))
}

/// The declared checks (`check required`), then the rules across settings, run once all
/// layers are merged so the outcome does not depend on which layer set what.
fn validate(c: &Config) -> Result<(), ConfigError> {
    for s in SETTINGS.iter() {
        if let Some(problem) = (s.check)(c) {
            let var = s.gdt_var().unwrap_or_default();
            return Err(ConfigError::invalid(
                s.key,
                format!("{problem}: set {var} or {}", s.key),
            ));
        }
    }
    // Reads the TLS files once: an unreadable certificate should stop the
    // process at start-up, not at the first reconnect.
    c.temporal.tls_material()?;
    c.github.app_ids()?;

    let (g, r, s) = (&c.github, &c.github.rate_limit, &c.server);
    let time = humantime::format_duration;
    // (broken, key, what is wrong and how to fix it), the first broken one is reported.
    let mut rules = vec![
        (
            g.enterprise && g.enterprise_host.trim().is_empty(),
            "github.enterprise",
            "is true but github.enterprise_host is empty: set GDT_GITHUB_ENTERPRISE_HOST"
                .to_owned(),
        ),
        (
            g.enterprise && enterprise_api(&g.enterprise_host).is_none(),
            "github.enterprise_host",
            format!(
                "{:?} is not a host name: use e.g. github.company.com \
                 (no scheme or path; /api/v3 is added)",
                g.enterprise_host
            ),
        ),
        (
            r.max_backoff < r.initial_backoff,
            "github.rate_limit.max_backoff",
            format!(
                "({}) is shorter than github.rate_limit.initial_backoff ({}): raise it",
                time(r.max_backoff),
                time(r.initial_backoff)
            ),
        ),
        (
            !(r.backoff_multiplier.is_finite() && r.backoff_multiplier >= 1.0),
            "github.rate_limit.backoff_multiplier",
            format!(
                "must be at least 1.0 (it is {}), e.g. 2.0",
                r.backoff_multiplier
            ),
        ),
        (
            !is_listen_address(&s.listen),
            "server.listen",
            format!(
                "{:?} is not an address to listen on: use host:port, e.g. 0.0.0.0:3000 \
                 or [::]:3000 (GDT_SERVER_LISTEN)",
                s.listen
            ),
        ),
    ];
    // Either wait running as long as the whole request would only ever end
    // in the request timeout instead of the answer meant for that case.
    for (key, value) in [
        ("server.temporal_timeout", s.temporal_timeout),
        ("server.deployment_id_wait", s.deployment_id_wait),
    ] {
        let problem = format!(
            "({}) must be shorter than server.request_timeout ({}): lower it or raise \
             server.request_timeout",
            time(value),
            time(s.request_timeout)
        );
        rules.push((value >= s.request_timeout, key, problem));
    }
    let b = &c.board;
    rules.push((
        !["auto", "true", "false"].contains(&b.cookie_secure.as_str()),
        "board.cookie_secure",
        format!("{:?} is not one of auto, true, false", b.cookie_secure),
    ));
    rules.push((
        b.history_days > 400,
        "board.history_days",
        format!("({}) must be at most 400 days", b.history_days),
    ));
    let metric_environments = c.dora.metric_environments.as_deref().unwrap_or_default();
    rules.push((
        metric_environments.len() > 20,
        "dora.metric_environments",
        format!(
            "names {} environments; at most 20 keep the metrics' labels bounded",
            metric_environments.len()
        ),
    ));
    let p = &c.pr_checks;
    // An empty list is a choice (no file matches); an empty pattern in it is
    // a slip that would match nothing either, silently.
    for (key, patterns) in [
        ("pr_checks.code_patterns", &p.code_patterns),
        ("pr_checks.plugin_patterns", &p.plugin_patterns),
        ("external.environments", &c.external.environments),
    ] {
        let patterns = patterns.as_deref().unwrap_or_default();
        if let Some(i) = patterns.iter().position(|p| p.trim().is_empty()) {
            let problem =
                format!("has an empty pattern at position {i} (counting from 0): remove it");
            rules.push((true, key, problem));
        }
    }
    for (i, rule) in p.schemas.iter().enumerate() {
        for (empty, field, fix) in [
            (
                rule.pattern.trim().is_empty(),
                "pattern",
                "give a glob such as .claude-plugin/plugin.json",
            ),
            (
                rule.schema_path.as_os_str().is_empty(),
                "schema_path",
                "give the JSON Schema file",
            ),
        ] {
            let problem =
                format!("entry {i} has an empty {field} (pr_checks.schemas[{i}].{field}): {fix}");
            rules.push((empty, "pr_checks.schemas", problem));
        }
    }
    // A pattern without a placeholder names one fixed environment, which every closing pull
    // request would then clean up: refused, as is a placeholder the clean-up does not know.
    let patterns = c.pr_cleanup.environment_patterns.as_deref();
    for (i, pattern) in patterns.unwrap_or_default().iter().enumerate() {
        if let Some(problem) = environment_pattern_problem(pattern) {
            let problem = format!("entry {i} ({pattern:?}) {problem}");
            rules.push((true, "pr_cleanup.environment_patterns", problem));
        }
    }
    match rules.into_iter().find(|(broken, ..)| *broken) {
        Some((_, key, problem)) => Err(ConfigError::invalid(key, problem)),
        None => Ok(()),
    }
}

/// What is wrong with an environment pattern of `pr_cleanup`, if anything: it must name
/// `{number}` or `{branch}`, and no other placeholder.
fn environment_pattern_problem(pattern: &str) -> Option<&'static str> {
    let mut rest = pattern;
    let mut placeholders = 0;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Some("has a `{` without `}`");
        };
        match &rest[start..start + len + 1] {
            "{number}" | "{branch}" => placeholders += 1,
            _ => return Some("has a placeholder other than {number} and {branch}"),
        }
        rest = &rest[start + len + 1..];
    }
    (placeholders == 0).then_some(
        "names no {number} or {branch}: it would match one fixed environment for every pull request",
    )
}

/// `host:port` with a numeric port and a host that is a name, an IPv4
/// address or a bracketed IPv6 address; names are resolved when binding.
fn is_listen_address(value: &str) -> bool {
    let Some((host, port)) = value.rsplit_once(':') else {
        return false;
    };
    let bracketed = host.len() > 2 && host.starts_with('[') && host.ends_with(']');
    !host.is_empty()
        && !host.contains(char::is_whitespace)
        && (bracketed || !host.contains([':', '[', ']']))
        && port.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let cases = [
            ("0.0.0.0:3000", true),
            ("127.0.0.1:0", true),
            ("localhost:8000", true),
            ("[::]:3000", true),
            ("[::1]:3000", true),
            ("3000", false),
            (":3000", false),
            ("::1:3000", false),
            ("[]:3000", false),
            ("0.0.0.0:http", false),
            ("0.0.0.0:70000", false),
            ("0.0.0.0:", false),
            ("my host:3000", false),
            ("", false),
        ];
        for (value, want) in cases {
            assert_eq!(is_listen_address(value), want, "{value:?}");
        }
    }

    #[test]
    fn server_rules() {
        let ok = Config::default();
        assert!(validate(&ok).is_ok());

        let mut zero_wait = Config::default();
        zero_wait.server.deployment_id_wait = std::time::Duration::ZERO;
        assert!(validate(&zero_wait).is_ok(), "deployment_id_wait may be 0");
        let mut zero_cache = Config::default();
        zero_cache.server.ready_cache = std::time::Duration::ZERO;
        assert!(validate(&zero_cache).is_ok(), "ready_cache may be 0");
    }

    #[test]
    fn webhook_and_pr_checks_rules() {
        let mut c = Config::default();
        c.pr_checks.code_patterns = Some(Vec::new());
        c.pr_checks.plugin_patterns = Some(Vec::new());
        assert!(validate(&c).is_ok(), "empty pattern lists are allowed");

        type Change = fn(&mut Config);
        let cases: [(Change, &str); 7] = [
            (
                |c| c.webhook.max_body_bytes = 0,
                "webhook.max_body_bytes must be at least 1 (it is 0)",
            ),
            (
                |c| c.pr_checks.task_queue = " ".to_owned(),
                "pr_checks.task_queue is empty: set GDT_PR_CHECKS_TASK_QUEUE or pr_checks.task_queue",
            ),
            (
                |c| c.pr_checks.version_file = String::new(),
                "pr_checks.version_file is empty: set GDT_PR_CHECKS_VERSION_FILE",
            ),
            (
                |c| c.pr_checks.plugin_manifest = String::new(),
                "pr_checks.plugin_manifest is empty: set GDT_PR_CHECKS_PLUGIN_MANIFEST",
            ),
            (
                |c| c.pr_checks.plugin_patterns = Some(vec!["a/*".to_owned(), String::new()]),
                "pr_checks.plugin_patterns has an empty pattern at position 1",
            ),
            (
                |c| {
                    c.pr_checks.schemas = vec![crate::values::SchemaRuleConfig {
                        pattern: String::new(),
                        schema_path: "s.json".into(),
                    }];
                },
                "pr_checks.schemas entry 0 has an empty pattern (pr_checks.schemas[0].pattern)",
            ),
            (
                |c| {
                    c.pr_checks.schemas = vec![crate::values::SchemaRuleConfig {
                        pattern: "*.json".to_owned(),
                        schema_path: "".into(),
                    }];
                },
                "pr_checks.schemas entry 0 has an empty schema_path \
                 (pr_checks.schemas[0].schema_path)",
            ),
        ];
        for (change, want) in cases {
            let mut c = Config::default();
            change(&mut c);
            let got = validate(&c).expect_err(want).to_string();
            assert!(got.starts_with(want), "\n got: {got}\nwant: {want}");
        }
    }

    #[test]
    fn pr_cleanup_patterns_must_name_the_pull_request() {
        for (pattern, problem) in [
            ("pr-{number}", None),
            ("review/{branch}", None),
            ("{branch}-{number}", None),
            ("staging", Some("names no {number} or {branch}")),
            ("", Some("names no {number} or {branch}")),
            ("pr-{id}", Some("placeholder other than")),
            ("pr-{number", Some("without `}`")),
        ] {
            let got = environment_pattern_problem(pattern);
            match problem {
                None => assert_eq!(got, None, "{pattern}"),
                Some(want) => assert!(got.is_some_and(|g| g.contains(want)), "{pattern}: {got:?}"),
            }
        }
        let mut c = Config::default();
        c.pr_cleanup.environment_patterns = Some(vec!["pr-{number}".to_owned(), "qa".to_owned()]);
        let got = validate(&c).expect_err("qa").to_string();
        assert!(
            got.starts_with("pr_cleanup.environment_patterns entry 1 (\"qa\") names no"),
            "{got}"
        );
        assert!(validate(&Config::default()).is_ok());
    }
}
