//! The YAML file: every key optional, unknown and removed keys refused with their line and
//! column, values read as their type and parsed as their variable would be.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gdt_config::{load, Config, ConfigError, EnvSource, LoadOptions, ReportMode, SchemaRuleConfig};
use tempfile::TempDir;

/// Loads `yaml` as the configuration file, with no environment; also gives the file.
fn load_yaml(yaml: &str) -> (Result<Config, ConfigError>, PathBuf) {
    let dir = TempDir::new().expect("tempdir");
    let path = dir.path().join("config.yaml");
    fs::write(&path, yaml).expect("write");
    let loaded = load(&LoadOptions {
        explicit_path: Some(path.clone()),
        search_dir: dir.path().to_owned(),
        env: EnvSource::Map(HashMap::new()),
    });
    (loaded, path)
}

fn parse(yaml: &str) -> Result<Config, ConfigError> {
    load_yaml(yaml).0
}

/// The message for `yaml`, naming the file `config.yaml` as the cases below do.
fn error(yaml: &str) -> String {
    match load_yaml(yaml) {
        (Ok(_), _) => panic!("expected an error for {yaml:?}"),
        (Err(e), path) => e
            .to_string()
            .replace(&path.display().to_string(), "config.yaml"),
    }
}

#[test]
fn empty_and_comment_only_files_change_nothing() {
    for yaml in ["", "# nothing\n", "temporal:\n", "github:\n  rate_limit:\n"] {
        let c = parse(yaml).expect("parses");
        assert_eq!(c.temporal.host_port, "localhost:7233", "{yaml:?}");
    }
}

#[test]
fn error_messages_name_the_key() {
    let cases = [
        (
            "temporal:\n  hostport: x\n",
            "config file config.yaml: unknown key `temporal.hostport` at line 2 column 3 \
             (valid keys here: one of `host_port`,",
        ),
        (
            "tempral: {}\n",
            "config file config.yaml: unknown key `tempral` at line 1 column 1",
        ),
        (
            "github:\n  rate_limit:\n    initial_backoff: 5 parsecs\n",
            "invalid duration \"5 parsecs\" for github.rate_limit.initial_backoff \
             in config.yaml: use e.g. \"2s\", \"30m\"",
        ),
        (
            "deployment:\n  execution_timeout: 120\n",
            "invalid duration \"120\" for deployment.execution_timeout in config.yaml",
        ),
        (
            "github:\n  app_id: abc\n",
            "config file config.yaml: github.app_id: invalid type: string \"abc\", \
             expected u64 at line 2 column 11",
        ),
        (
            "app:\n  log_format: text\n",
            "invalid value \"text\" for app.log_format in config.yaml: expected json or console",
        ),
        (
            "app:\n  log_level: verbose\n",
            "expected one of trace, debug, info, warn, error",
        ),
        (
            "github:\n  base_url: api.github.com\n",
            "invalid value \"api.github.com\" for github.base_url in config.yaml: \
             expected an absolute http(s) URL such as https://api.github.com",
        ),
        ("temporal: [\n", "config file config.yaml: "),
        ("app:\n  metrics_port: 70000\n", "app.metrics_port"),
    ];
    for (yaml, want) in cases {
        let got = error(yaml);
        assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
    }
}

#[test]
fn removed_keys_say_what_to_do_instead() {
    let cases = [
        (
            "temporal:\n  max_concurrent: 10\n",
            "config file config.yaml: the key `temporal.max_concurrent` at line 2 column 3 \
             was removed: the worker's limits are temporal.worker_options.max_concurrent_activity",
        ),
        (
            "temporal:\n  worker_options:\n    enable_logging_replay: false\n",
            "`temporal.worker_options.enable_logging_replay` at line 3 column 5 was removed: \
             the workflows write no log lines",
        ),
        (
            "github:\n  upload_url: https://uploads.github.com\n",
            "`github.upload_url` at line 2 column 3 was removed: gdt uploads nothing",
        ),
    ];
    for (yaml, want) in cases {
        let got = error(yaml);
        assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
    }
}

#[test]
fn yaml_syntax_errors_have_a_location() {
    match parse("temporal:\n  host_port: [\n") {
        Err(ConfigError::ParseConfigFile { line, .. }) => assert!(line.is_some()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn secrets_of_the_wrong_type_are_not_echoed() {
    let got = error("github:\n  token: 123456789\n");
    assert!(!got.contains("123456789"), "{got}");
    assert!(got.contains("github.token"), "{got}");
}

#[test]
fn empty_strings_mean_unset() {
    let c = parse(
        "temporal:\n  api_key: \"\"\n  tls:\n    server_name: \"\"\n    client_cert_path: \"\"\n",
    )
    .expect("parses");
    assert!(c.temporal.api_key.is_none());
    assert!(c.temporal.tls.server_name.is_none());
    assert!(c.temporal.tls.client_cert_path.is_none());
    let c = parse("server:\n  api_tokens_file: \"\"\n  api_tokens: \"\"\n").expect("parses");
    assert!(c.server.api_tokens_file.is_none() && c.server.api_tokens.is_none());
}

#[test]
fn the_server_section() {
    let c = parse(
        "server:\n  listen: \" 127.0.0.1:8000 \"\n  max_body_bytes: 4096\n  \
         request_timeout: 1m\n  temporal_timeout: 2s\n  deployment_id_wait: 0s\n  \
         ready_cache: 500ms\n  api_tokens_file: /var/secrets/api/tokens\n  \
         api_tokens: tok_a\n",
    )
    .expect("parses");
    let s = &c.server;
    assert_eq!(s.listen, "127.0.0.1:8000");
    assert_eq!(s.max_body_bytes, 4096);
    assert_eq!(s.request_timeout, Duration::from_secs(60));
    assert_eq!(s.temporal_timeout, Duration::from_secs(2));
    assert_eq!(s.deployment_id_wait, Duration::ZERO);
    assert_eq!(s.ready_cache, Duration::from_millis(500));
    assert_eq!(
        s.api_tokens_file.as_deref(),
        Some(Path::new("/var/secrets/api/tokens"))
    );
    assert!(s.api_tokens.is_some());

    let untouched = parse("server:\n  listen: \"[::]:3000\"\n").expect("parses");
    assert_eq!(untouched.server.listen, "[::]:3000");
    assert_eq!(untouched.server.request_timeout, Duration::from_secs(30));
}

#[test]
fn server_errors_name_the_key() {
    let cases = [
        (
            "server:\n  request_timeout: soon\n",
            "invalid duration \"soon\" for server.request_timeout in config.yaml: \
             use e.g. \"2s\", \"30m\"",
        ),
        (
            "server:\n  temporal_timeout: 5\n",
            "invalid duration \"5\" for server.temporal_timeout in config.yaml",
        ),
        (
            "server:\n  deployment_id_wait: -1s\n",
            "for server.deployment_id_wait in config.yaml",
        ),
        (
            "server:\n  ready_cache: [5s]\n",
            "server.ready_cache: invalid type: sequence",
        ),
        (
            "server:\n  max_body_bytes: 1MiB\n",
            "config file config.yaml: server.max_body_bytes: invalid type: string \"1MiB\"",
        ),
        (
            "server:\n  max_body_bytes: -1\n",
            "server.max_body_bytes: invalid type: integer `-1`, expected usize",
        ),
        (
            "server:\n  port: 3000\n",
            "unknown key `server.port` at line 2 column 3 (valid keys here: one of `listen`,",
        ),
    ];
    for (yaml, want) in cases {
        let got = error(yaml);
        assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
    }
    let got = error("server:\n  api_tokens: [tok_in_a_list]\n");
    assert!(!got.contains("tok_in_a_list"), "{got}");
    assert!(got.contains("server.api_tokens"), "{got}");
}

#[test]
fn the_webhook_section() {
    let c = parse(
        "webhook:\n  secrets: \"whs_a, whs_b\"\n  secrets_file: /var/secrets/webhook/secrets\n  \
         max_body_bytes: 1048576\n",
    )
    .expect("parses");
    let w = &c.webhook;
    assert!(w.secrets.is_some());
    assert_eq!(
        w.secrets_file.as_deref(),
        Some(Path::new("/var/secrets/webhook/secrets"))
    );
    assert_eq!(w.max_body_bytes, 1_048_576);
    assert!(!format!("{c:?}").contains("whs_a"));

    let unset = parse("webhook:\n  secrets: \"\"\n  secrets_file: \"\"\n").expect("parses");
    assert!(unset.webhook.secrets.is_none() && unset.webhook.secrets_file.is_none());
    assert_eq!(unset.webhook.max_body_bytes, 26_214_400);
}

#[test]
fn the_pr_checks_section() {
    let c = parse(
        "pr_checks:\n  enabled: false\n  task_queue: \" pr-checks \"\n  report: comment\n  \
         code_patterns:\n    - \"src/**/*.rs\"\n    - \" internal/config/{types,config}.go \"\n  \
         plugin_patterns: []\n  \
         schemas:\n    - pattern: .claude-plugin/plugin.json\n      \
         schema_path: schemas/plugin.schema.json\n    - pattern: \"*.json\"\n      \
         schema_path: /etc/gdt/any.json\n  \
         version_file: version.txt\n  plugin_manifest: plugin/manifest.json\n",
    )
    .expect("parses");
    let p = &c.pr_checks;
    assert!(!p.enabled);
    assert_eq!(p.task_queue, "pr-checks");
    assert_eq!(p.report, ReportMode::Comment);
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
        "an empty list is kept"
    );
    assert_eq!(
        p.schemas,
        [
            SchemaRuleConfig {
                pattern: ".claude-plugin/plugin.json".to_owned(),
                schema_path: PathBuf::from("schemas/plugin.schema.json"),
            },
            SchemaRuleConfig {
                pattern: "*.json".to_owned(),
                schema_path: PathBuf::from("/etc/gdt/any.json"),
            },
        ]
    );
    assert_eq!(p.version_file, "version.txt");
    assert_eq!(p.plugin_manifest, "plugin/manifest.json");

    let untouched = parse("pr_checks:\n  report: check_run\n").expect("parses");
    let p = &untouched.pr_checks;
    assert_eq!(p.report, ReportMode::CheckRun);
    assert!(p.enabled && p.code_patterns.is_none() && p.plugin_patterns.is_none());
    assert_eq!(p.task_queue, "plugin-validation-queue");
}

#[test]
fn webhook_and_pr_checks_errors_name_the_key() {
    let cases = [
        (
            "pr_checks:\n  report: checks\n",
            "invalid value \"checks\" for pr_checks.report in config.yaml: \
             expected one of comment, check_run, both",
        ),
        (
            "pr_checks:\n  code_patterns: \"src/**/*.rs\"\n",
            "config file config.yaml: pr_checks.code_patterns: invalid type: string",
        ),
        (
            "pr_checks:\n  schemas:\n    - pattern: a.json\n      schema: s.json\n",
            "unknown key `pr_checks.schemas[0].schema` at line 4 column 7 \
             (valid keys here: `pattern` or `schema_path`)",
        ),
        (
            "pr_checks:\n  schemas:\n    - pattern: a.json\n",
            "pr_checks.schemas[0]: missing field `schema_path`",
        ),
        (
            "pr_checks:\n  enable: true\n",
            "unknown key `pr_checks.enable` at line 2 column 3 (valid keys here: one of `enabled`,",
        ),
        (
            "webhook:\n  secret: x\n",
            "unknown key `webhook.secret` at line 2 column 3 (valid keys here: one of `secrets`,",
        ),
        (
            "webhook:\n  max_body_bytes: 25MiB\n",
            "webhook.max_body_bytes: invalid type: string \"25MiB\"",
        ),
    ];
    for (yaml, want) in cases {
        let got = error(yaml);
        assert!(got.contains(want), "{yaml:?}\n got: {got}\nwant: {want}");
    }
    for yaml in [
        "webhook:\n  secrets: [whs_in_a_list]\n",
        "webhook:\n  secrets: {whs_in_a_map: 1}\n",
    ] {
        let got = error(yaml);
        assert!(!got.contains("whs_in_a"), "{got}");
        assert!(got.contains("webhook.secrets"), "{got}");
    }
}
