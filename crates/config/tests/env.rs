//! The variables: the table of bindings, their messages and their precedence, through
//! `load` with the environment given as a map.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use gdt_config::{load, Config, ConfigError, EnvSource, LoadOptions, ReportMode, ENV_BINDINGS};
use secrecy::ExposeSecret;
use tempfile::TempDir;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Loads the defaults and these variables (no file).
fn load_env(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let dir = TempDir::new().expect("tempdir");
    load(&LoadOptions {
        explicit_path: None,
        search_dir: dir.path().to_owned(),
        env: EnvSource::Map(env(pairs)),
    })
}

#[test]
fn every_gdt_variable_is_the_key_in_capitals() {
    for b in ENV_BINDINGS.iter().filter(|b| b.var.starts_with("GDT_")) {
        let derived = format!("GDT_{}", b.key.replace('.', "_").to_ascii_uppercase());
        assert_eq!(b.var, derived, "{b:?}");
    }
}

#[test]
fn variables_are_unique_and_gdt_ones_come_last_per_key() {
    let mut seen = HashSet::new();
    for b in ENV_BINDINGS.iter() {
        assert!(seen.insert(b.var), "duplicate {}", b.var);
    }
    for (i, b) in ENV_BINDINGS.iter().enumerate() {
        if !b.var.starts_with("GDT_") {
            let later_gdt = ENV_BINDINGS[i..]
                .iter()
                .any(|o| o.key == b.key && o.var.starts_with("GDT_"));
            assert!(later_gdt, "{} has no GDT_ override after it", b.var);
        }
    }
}

#[test]
fn invalid_values_name_variable_and_key() {
    let cases = [
        (
            "GDT_GITHUB_APP_ID",
            "abc",
            "invalid value \"abc\" for GDT_GITHUB_APP_ID (github.app_id): expected a positive integer",
        ),
        (
            "GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF",
            "5 parsecs",
            "invalid duration \"5 parsecs\" for GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF \
             (github.rate_limit.initial_backoff): use e.g. \"2s\", \"30m\"",
        ),
        (
            "GDT_APP_LOG_FORMAT",
            "text",
            "invalid value \"text\" for GDT_APP_LOG_FORMAT (app.log_format): expected json or console",
        ),
        (
            "GDT_APP_LOG_LEVEL",
            "verbose",
            "expected one of trace, debug, info, warn, error",
        ),
        (
            "GDT_GITHUB_BASE_URL",
            "api.github.com",
            "GDT_GITHUB_BASE_URL (github.base_url): expected an absolute http(s) URL",
        ),
        ("TEMPORAL_TLS", "sure", "TEMPORAL_TLS (temporal.tls.enabled): expected true or false"),
        ("GDT_APP_METRICS_PORT", "0", "expected a port number between 1 and 65535"),
        (
            "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_ACTIVITY",
            "0",
            "expected a positive integer",
        ),
        (
            "GDT_SERVER_MAX_BODY_BYTES",
            "0",
            "invalid value \"0\" for GDT_SERVER_MAX_BODY_BYTES (server.max_body_bytes): \
             expected a positive integer",
        ),
        (
            "GDT_SERVER_MAX_BODY_BYTES",
            "1MiB",
            "GDT_SERVER_MAX_BODY_BYTES (server.max_body_bytes): expected a positive integer",
        ),
        (
            "GDT_SERVER_REQUEST_TIMEOUT",
            "30",
            "invalid duration \"30\" for GDT_SERVER_REQUEST_TIMEOUT (server.request_timeout)",
        ),
        (
            "GDT_SERVER_TEMPORAL_TIMEOUT",
            "soon",
            "GDT_SERVER_TEMPORAL_TIMEOUT (server.temporal_timeout): use e.g.",
        ),
        (
            "GDT_SERVER_DEPLOYMENT_ID_WAIT",
            "x",
            "GDT_SERVER_DEPLOYMENT_ID_WAIT (server.deployment_id_wait)",
        ),
        ("GDT_SERVER_READY_CACHE", "5", "GDT_SERVER_READY_CACHE (server.ready_cache)"),
        (
            "GDT_WEBHOOK_MAX_BODY_BYTES",
            "0",
            "invalid value \"0\" for GDT_WEBHOOK_MAX_BODY_BYTES (webhook.max_body_bytes): \
             expected a positive integer",
        ),
        (
            "GDT_PR_CHECKS_REPORT",
            "checks",
            "invalid value \"checks\" for GDT_PR_CHECKS_REPORT (pr_checks.report): \
             expected one of comment, check_run, both",
        ),
        (
            "GDT_PR_CHECKS_ENABLED",
            "sometimes",
            "GDT_PR_CHECKS_ENABLED (pr_checks.enabled): expected true or false",
        ),
    ];
    for (var, value, want) in cases {
        let err = load_env(&[(var, value)]).expect_err(var).to_string();
        assert!(err.contains(want), "{var}\n got: {err}\nwant: {want}");
    }
}

#[test]
fn removed_variables_say_what_to_do_instead() {
    let cases = [
        (
            "GDT_TEMPORAL_MAX_CONCURRENT",
            "GDT_TEMPORAL_MAX_CONCURRENT (temporal.max_concurrent) was removed: the worker's \
             limits are temporal.worker_options.max_concurrent_activity and",
        ),
        (
            "GDT_TEMPORAL_WORKER_OPTIONS_ENABLE_LOGGING_REPLAY",
            "(temporal.worker_options.enable_logging_replay) was removed: the workflows",
        ),
        (
            "GDT_GITHUB_UPLOAD_URL",
            "GDT_GITHUB_UPLOAD_URL (github.upload_url) was removed: gdt uploads nothing",
        ),
    ];
    for (var, want) in cases {
        let err = load_env(&[(var, "1")]).expect_err(var).to_string();
        assert!(err.contains(want), "{var}\n got: {err}\nwant: {want}");
    }
    assert!(load_env(&[("GDT_GITHUB_UPLOAD_URL", "")]).is_ok());
}

#[test]
fn server_variables() {
    let config = load_env(&[
        ("GDT_SERVER_LISTEN", " 127.0.0.1:8000 "),
        ("GDT_SERVER_MAX_BODY_BYTES", "65536"),
        ("GDT_SERVER_REQUEST_TIMEOUT", "1m"),
        ("GDT_SERVER_TEMPORAL_TIMEOUT", "3s"),
        ("GDT_SERVER_DEPLOYMENT_ID_WAIT", "0s"),
        ("GDT_SERVER_READY_CACHE", "2s"),
        ("INTERNAL_API_SHARED_SECRET_FILE", "/legacy/tokens"),
        ("GDT_SERVER_API_TOKENS_FILE", "/ours/tokens"),
        ("INTERNAL_API_SHARED_SECRET", "tok_legacy"),
    ])
    .expect("applies");
    let applied = config.source.env_vars.clone();
    let s = &config.server;
    assert_eq!(s.listen, "127.0.0.1:8000");
    assert_eq!(s.max_body_bytes, 65536);
    assert_eq!(s.request_timeout, Duration::from_secs(60));
    assert_eq!(s.temporal_timeout, Duration::from_secs(3));
    assert_eq!(s.deployment_id_wait, Duration::ZERO);
    assert_eq!(s.ready_cache, Duration::from_secs(2));
    assert_eq!(s.api_tokens_file, Some(PathBuf::from("/ours/tokens")));
    assert_eq!(
        s.api_tokens.as_ref().map(|t| t.expose_secret()),
        Some("tok_legacy")
    );
    assert_eq!(applied.len(), 9);

    let config = load_env(&[("GDT_SERVER_API_TOKENS", "tok_ours")]).expect("applies");
    assert_eq!(
        config.server.api_tokens.as_ref().map(|t| t.expose_secret()),
        Some("tok_ours")
    );
}

#[test]
fn webhook_variables() {
    let config = load_env(&[
        ("GITHUB_WEBHOOK_SECRET", " whs_seed\n"),
        ("GITHUB_WEBHOOK_SECRET_FILE", "/seed/secrets"),
        ("GDT_WEBHOOK_SECRETS_FILE", "/ours/secrets"),
        ("GDT_WEBHOOK_MAX_BODY_BYTES", "1048576"),
    ])
    .expect("applies");
    let applied = config.source.env_vars.clone();
    let w = &config.webhook;
    assert_eq!(
        w.secrets.as_ref().map(|t| t.expose_secret()),
        Some("whs_seed")
    );
    assert_eq!(w.secrets_file, Some(PathBuf::from("/ours/secrets")));
    assert_eq!(w.max_body_bytes, 1_048_576);
    assert_eq!(
        applied,
        [
            "GITHUB_WEBHOOK_SECRET",
            "GITHUB_WEBHOOK_SECRET_FILE",
            "GDT_WEBHOOK_SECRETS_FILE",
            "GDT_WEBHOOK_MAX_BODY_BYTES"
        ]
    );

    let config = load_env(&[
        ("GITHUB_WEBHOOK_SECRET", "whs_seed"),
        ("GDT_WEBHOOK_SECRETS", "whs_new, whs_old"),
    ])
    .expect("applies");
    assert_eq!(
        config.webhook.secrets.as_ref().map(|t| t.expose_secret()),
        Some("whs_new, whs_old"),
        "the GDT_ variable wins"
    );
}

#[test]
fn pr_checks_variables() {
    let config = load_env(&[
        ("GDT_PR_CHECKS_ENABLED", "false"),
        ("GDT_PR_CHECKS_TASK_QUEUE", " pr-checks "),
        ("GDT_PR_CHECKS_REPORT", "CHECK_RUN"),
        (
            "GDT_PR_CHECKS_CODE_PATTERNS",
            "src/**/*.rs, internal/config/{types,config}.go",
        ),
        ("GDT_PR_CHECKS_PLUGIN_PATTERNS", ","),
        ("GDT_PR_CHECKS_VERSION_FILE", "version.txt"),
        ("GDT_PR_CHECKS_PLUGIN_MANIFEST", "plugin/manifest.json"),
    ])
    .expect("applies");
    let applied = config.source.env_vars.clone();
    let p = &config.pr_checks;
    assert!(!p.enabled);
    assert_eq!(p.task_queue, "pr-checks");
    assert_eq!(p.report, ReportMode::CheckRun);
    assert_eq!(
        p.code_patterns.as_deref(),
        Some(
            &[
                "src/**/*.rs".to_owned(),
                "internal/config/{types,config}.go".to_owned()
            ][..]
        )
    );
    assert_eq!(
        p.plugin_patterns.as_deref(),
        Some(&[][..]),
        "`,` is the empty list"
    );
    assert_eq!(p.version_file, "version.txt");
    assert_eq!(p.plugin_manifest, "plugin/manifest.json");
    assert_eq!(applied.len(), 7);
}

#[test]
fn debug_of_a_map_source_shows_names_only() {
    let source = EnvSource::Map(env(&[("GITHUB_TOKEN", "ghp_supersecret")]));
    let shown = format!("{source:?}");
    assert!(shown.contains("GITHUB_TOKEN"));
    assert!(!shown.contains("ghp_supersecret"));
}
