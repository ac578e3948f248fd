//! The typed configuration: its defaults, derived values and redacted rendering.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use gdt_config::{
    Config, GitHubConfig, LogFormat, LogLevel, ReportMode, SchemaRuleConfig, TemporalConfig,
    REMOVED, SETTINGS,
};
use secrecy::SecretString;
#[test]
fn defaults_follow_the_design_document() {
    let c = Config::default();
    assert_eq!(c.temporal.host_port, "localhost:7233");
    assert_eq!(c.temporal.namespace, "default");
    assert_eq!(c.temporal.task_queue, "github-deployment-tracker");
    assert_eq!(c.temporal.worker_options.max_concurrent_activity, 20);
    assert_eq!(c.temporal.worker_options.max_concurrent_workflow, 10);
    assert!(!c.temporal.tls_enabled());
    assert_eq!(c.github.base_url.as_str(), "https://api.github.com/");
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
        let g = GitHubConfig {
            enterprise: true,
            enterprise_host: host.to_owned(),
            ..GitHubConfig::default()
        };
        // A host that is not one falls back to base_url (load refuses it first).
        let want = want.unwrap_or("https://api.github.com/");
        assert_eq!(g.effective_base_url().as_str(), want, "{host:?}");
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

#[test]
fn keys_and_variables_are_unique_and_removed_ones_are_gone() {
    let mut keys = HashSet::new();
    let mut vars = HashSet::new();
    for s in SETTINGS.iter() {
        assert!(keys.insert(s.key), "duplicate key {}", s.key);
        for var in s.env {
            assert!(vars.insert(*var), "duplicate variable {var}");
        }
        assert!(!s.doc().is_empty(), "{} has no doc", s.key);
    }
    for r in REMOVED {
        assert!(!keys.contains(r.key) && !vars.contains(r.var), "{r:?}");
    }
}

#[test]
fn every_gdt_variable_is_the_key_in_capitals_and_comes_first() {
    for s in SETTINGS.iter() {
        let derived = format!("GDT_{}", s.key.replace('.', "_").to_ascii_uppercase());
        if let Some(gdt) = s.gdt_var() {
            assert_eq!(gdt, derived, "{s:?}");
        }
        assert!(
            s.env.iter().skip(1).all(|v| !v.starts_with("GDT_")),
            "{s:?}"
        );
    }
    for r in REMOVED {
        let derived = format!("GDT_{}", r.key.replace('.', "_").to_ascii_uppercase());
        assert_eq!(r.var, derived, "{r:?}");
    }
}
