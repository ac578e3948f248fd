//! End-to-end tests of `gdt_config::load` on temporary directories, with the
//! environment injected as a map (the process environment is never touched).

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gdt_config::{
    load, overlay_dotenv, search_paths, Config, ConfigError, EnvSource, GitHubCredentials,
    LoadOptions, LogFormat, LogLevel, ReportMode, SchemaRuleConfig, ENV_BINDINGS, REMOVED,
    SYSTEM_CONFIG_PATH,
};
use secrecy::{ExposeSecret, SecretString};
use tempfile::TempDir;

const FAKE_PEM: &str =
    "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfakefakefake\n-----END RSA PRIVATE KEY-----\n";

/// A production ConfigMap in the layout deployments already use, verbatim.
const DESIGN_CONFIGMAP: &str = "\
temporal:
  host_port: temporal-frontend.temporal:7233
  namespace: production
  task_queue: github-deployment-tracker
  worker_options:
    max_concurrent_activity: 50
    max_concurrent_workflow: 20

github:
  app_id: 234567
  installation_id: 890123
  enterprise: true
  enterprise_host: github.company.com
  rate_limit:
    max_retries: 10
    initial_backoff: 2s
    max_backoff: 120s

app:
  environment: production
  log_level: info
  log_format: json
  metrics_enabled: true
";

fn env(pairs: &[(&str, &str)]) -> EnvSource {
    EnvSource::Map(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

fn opts(dir: &Path, pairs: &[(&str, &str)]) -> LoadOptions {
    LoadOptions {
        explicit_path: None,
        search_dir: dir.to_owned(),
        env: env(pairs),
    }
}

fn write(dir: &Path, rel: &str, content: &str) -> PathBuf {
    let path = dir.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(&path, content).expect("write");
    path
}

fn load_err(o: &LoadOptions) -> String {
    match load(o) {
        Ok(c) => panic!("expected an error, got {}", c.redacted_yaml()),
        Err(e) => e.to_string(),
    }
}

fn system_file_present() -> bool {
    Path::new(SYSTEM_CONFIG_PATH).exists()
}

#[test]
fn no_file_and_no_environment_gives_the_defaults() {
    if system_file_present() {
        eprintln!("skipped: {SYSTEM_CONFIG_PATH} exists on this machine");
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let c = load(&opts(dir.path(), &[])).expect("loads");
    assert_eq!(c.temporal.host_port, "localhost:7233");
    assert_eq!(c.temporal.namespace, "default");
    assert_eq!(c.temporal.task_queue, "github-deployment-tracker");
    assert_eq!(
        c.github.effective_base_url().as_str(),
        "https://api.github.com/"
    );
    assert_eq!(c.app.log_level, LogLevel::Info);
    assert_eq!(c.deployment.execution_timeout, Duration::from_secs(7200));
    assert_eq!(c.source.file, None);
    assert_eq!(c.source.dotenv_file, None);
    assert!(c.source.env_vars.is_empty());
    assert!(matches!(
        c.github.credentials(),
        Ok(GitHubCredentials::None)
    ));
}

#[test]
fn the_design_documents_production_configmap_parses() {
    let dir = TempDir::new().expect("tempdir");
    let path = write(dir.path(), "config.yaml", DESIGN_CONFIGMAP);
    let c = load(&opts(dir.path(), &[])).expect("loads");
    assert_eq!(c.source.file.as_deref(), Some(path.as_path()));
    assert_eq!(c.temporal.host_port, "temporal-frontend.temporal:7233");
    assert_eq!(c.temporal.namespace, "production");
    assert_eq!(c.temporal.worker_options.max_concurrent_activity, 50);
    assert_eq!(c.temporal.worker_options.max_concurrent_workflow, 20);
    assert_eq!(
        c.github.rate_limit.max_inline_wait,
        Duration::from_secs(10),
        "unset keys keep defaults"
    );
    assert_eq!(
        (c.github.app_id, c.github.installation_id),
        (234567, 890123)
    );
    assert_eq!(c.github.rate_limit.max_retries, 10);
    assert_eq!(c.github.rate_limit.initial_backoff, Duration::from_secs(2));
    assert_eq!(c.github.rate_limit.max_backoff, Duration::from_secs(120));
    assert_eq!(
        c.github.effective_base_url().as_str(),
        "https://github.company.com/api/v3"
    );
    assert_eq!(c.app.environment, "production");
    assert_eq!(c.app.log_format, LogFormat::Json);
    assert!(c.app.metrics_enabled);
}

#[test]
fn the_example_file_in_the_repository_loads() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/config.example.yaml");
    let dir = TempDir::new().expect("tempdir");
    let o = LoadOptions {
        explicit_path: Some(example),
        ..opts(dir.path(), &[])
    };
    let c = load(&o).expect("the example configuration is valid");
    let d = Config::default();
    assert_eq!(c.temporal.host_port, d.temporal.host_port);
    assert_eq!(c.github.private_key_path, d.github.private_key_path);
    assert_eq!(
        c.github.rate_limit.max_inline_wait,
        d.github.rate_limit.max_inline_wait
    );
    assert_eq!(
        c.deployment.inactivity_timeout,
        d.deployment.inactivity_timeout
    );
    assert!(!c.temporal.tls_enabled());
    assert_eq!(c.server.listen, d.server.listen);
    assert_eq!(c.server.max_body_bytes, d.server.max_body_bytes);
    assert_eq!(c.server.request_timeout, d.server.request_timeout);
    assert_eq!(c.server.temporal_timeout, d.server.temporal_timeout);
    assert_eq!(c.server.deployment_id_wait, d.server.deployment_id_wait);
    assert_eq!(c.server.ready_cache, d.server.ready_cache);
    assert_eq!(c.server.api_tokens_file, None);
    assert!(c.server.api_tokens.is_none());
    assert!(c.webhook.secrets.is_none() && c.webhook.secrets_file.is_none());
    assert_eq!(c.webhook.max_body_bytes, d.webhook.max_body_bytes);
    let (p, dp) = (&c.pr_checks, &d.pr_checks);
    assert_eq!(p.enabled, dp.enabled);
    assert_eq!(p.task_queue, dp.task_queue);
    assert_eq!(p.report, dp.report);
    assert_eq!(p.code_patterns, None);
    assert_eq!(p.plugin_patterns, None);
    assert!(p.schemas.is_empty());
    assert_eq!(p.version_file, dp.version_file);
    assert_eq!(p.plugin_manifest, dp.plugin_manifest);
}

#[test]
fn environment_overrides_the_file() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), "config.yaml", DESIGN_CONFIGMAP);
    let c = load(&opts(
        dir.path(),
        &[
            ("GDT_TEMPORAL_NAMESPACE", "staging"),
            ("GDT_GITHUB_RATE_LIMIT_MAX_RETRIES", "3"),
            ("GDT_GITHUB_ENTERPRISE", "false"),
            ("GDT_APP_LOG_FORMAT", "console"),
            ("GDT_DEPLOYMENT_INACTIVITY_TIMEOUT", "1h 30m"),
        ],
    ))
    .expect("loads");
    assert_eq!(c.temporal.namespace, "staging");
    assert_eq!(c.temporal.host_port, "temporal-frontend.temporal:7233");
    assert_eq!(c.github.rate_limit.max_retries, 3);
    assert_eq!(
        c.github.effective_base_url().as_str(),
        "https://api.github.com/"
    );
    assert_eq!(c.app.log_format, LogFormat::Console);
    assert_eq!(c.deployment.inactivity_timeout, Duration::from_secs(5400));
    assert_eq!(c.source.env_vars.len(), 5);
}

#[test]
fn gdt_variables_win_over_temporal_and_legacy_ones() {
    let dir = TempDir::new().expect("tempdir");
    let both = load(&opts(
        dir.path(),
        &[
            ("TEMPORAL_ADDRESS", "temporal.cloud:7233"),
            ("GDT_TEMPORAL_HOST_PORT", "ours:7233"),
            ("TEMPORAL_NAMESPACE", "theirs"),
            ("GITHUB_APP_PRIVATE_KEY_PATH", "/legacy.pem"),
            ("GDT_GITHUB_PRIVATE_KEY_PATH", "/ours.pem"),
            ("GITHUB_APP_ID", "1"),
            ("GITHUB_APP_INSTALLATION_ID", "2"),
            ("GDT_GITHUB_APP_ID", "11"),
            ("GDT_GITHUB_INSTALLATION_ID", "22"),
        ],
    ))
    .expect("loads");
    assert_eq!(both.temporal.host_port, "ours:7233");
    assert_eq!(
        both.temporal.namespace, "theirs",
        "TEMPORAL_ alone still applies"
    );
    assert_eq!(both.github.private_key_path, PathBuf::from("/ours.pem"));
    assert_eq!((both.github.app_id, both.github.installation_id), (11, 22));

    let legacy = load(&opts(
        dir.path(),
        &[
            ("GITHUB_APP_PRIVATE_KEY_PATH", "/legacy.pem"),
            ("GITHUB_APP_ID", "1"),
            ("GITHUB_APP_INSTALLATION_ID", "2"),
        ],
    ))
    .expect("loads");
    assert_eq!(legacy.github.private_key_path, PathBuf::from("/legacy.pem"));
    assert_eq!(
        (legacy.github.app_id, legacy.github.installation_id),
        (1, 2)
    );
}

#[test]
fn temporal_cloud_variables_imply_tls() {
    let dir = TempDir::new().expect("tempdir");
    let c = load(&opts(
        dir.path(),
        &[
            ("TEMPORAL_ADDRESS", "ns.acct.tmprl.cloud:7233"),
            ("TEMPORAL_API_KEY", "tmprl_key"),
            ("TEMPORAL_TLS_SERVER_NAME", "ns.acct.tmprl.cloud"),
        ],
    ))
    .expect("loads");
    assert!(c.temporal.tls_enabled());
    let tls = c.temporal.tls_material().expect("no files").expect("on");
    assert_eq!(tls.server_name.as_deref(), Some("ns.acct.tmprl.cloud"));
    assert!(tls.server_ca_cert.is_none() && tls.client_identity.is_none());
}

#[test]
fn mtls_files_are_read() {
    let dir = TempDir::new().expect("tempdir");
    let cert = write(
        dir.path(),
        "client.pem",
        "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
    );
    let key = write(dir.path(), "client.key", FAKE_PEM);
    let ca = write(
        dir.path(),
        "ca.pem",
        "-----BEGIN CERTIFICATE-----\ny\n-----END CERTIFICATE-----\n",
    );
    let c = load(&opts(
        dir.path(),
        &[
            (
                "GDT_TEMPORAL_TLS_CLIENT_CERT_PATH",
                cert.to_str().expect("utf8"),
            ),
            ("TEMPORAL_TLS_CLIENT_KEY_PATH", key.to_str().expect("utf8")),
            (
                "GDT_TEMPORAL_TLS_SERVER_CA_CERT_PATH",
                ca.to_str().expect("utf8"),
            ),
        ],
    ))
    .expect("loads");
    let tls = c.temporal.tls_material().expect("readable").expect("on");
    let identity = tls.client_identity.expect("mTLS");
    assert!(identity.cert.starts_with(b"-----BEGIN CERTIFICATE-----"));
    assert_eq!(identity.key.expose_secret(), FAKE_PEM.as_bytes());
    assert!(tls.server_ca_cert.is_some());
}

#[test]
fn search_order() {
    let dir = TempDir::new().expect("tempdir");
    let paths = search_paths(dir.path());
    assert_eq!(paths[0], dir.path().join("config.yaml"));
    assert_eq!(paths[1], dir.path().join("config/config.yaml"));
    assert_eq!(
        paths[2],
        PathBuf::from("/etc/github-deployment-tracker/config.yaml")
    );

    let nested = write(
        dir.path(),
        "config/config.yaml",
        "app:\n  environment: nested\n",
    );
    let c = load(&opts(dir.path(), &[])).expect("loads");
    assert_eq!(c.app.environment, "nested");
    assert_eq!(c.source.file.as_deref(), Some(nested.as_path()));

    write(dir.path(), "config.yaml", "app:\n  environment: top\n");
    let c = load(&opts(dir.path(), &[])).expect("loads");
    assert_eq!(c.app.environment, "top", "./config.yaml comes first");

    let explicit = write(
        dir.path(),
        "elsewhere.yaml",
        "app:\n  environment: explicit\n",
    );
    let o = LoadOptions {
        explicit_path: Some(explicit),
        ..opts(dir.path(), &[])
    };
    assert_eq!(load(&o).expect("loads").app.environment, "explicit");

    let o = LoadOptions {
        explicit_path: Some(dir.path().join("missing.yaml")),
        ..opts(dir.path(), &[])
    };
    assert!(matches!(
        load(&o),
        Err(ConfigError::ConfigFileNotFound { .. })
    ));
    assert!(load_err(&o).contains("missing.yaml does not exist (given with --config)"));
}

#[test]
fn dotenv_fills_in_but_never_overrides_the_environment() {
    let dir = TempDir::new().expect("tempdir");
    let dotenv = write(
        dir.path(),
        ".env",
        "# local development\nGDT_APP_LOG_LEVEL=debug\nGDT_APP_ENVIRONMENT=from-dotenv\nexport GITHUB_TOKEN=\"ghp_from_dotenv\"\n",
    );
    let mut vars: HashMap<String, String> =
        HashMap::from([("GDT_APP_LOG_LEVEL".to_owned(), "warn".to_owned())]);
    assert!(overlay_dotenv(&mut vars, &dotenv).expect("parses"));
    assert_eq!(
        vars["GDT_APP_LOG_LEVEL"], "warn",
        "the real environment wins"
    );
    assert_eq!(vars["GDT_APP_ENVIRONMENT"], "from-dotenv");
    assert_eq!(vars["GITHUB_TOKEN"], "ghp_from_dotenv");

    let c = load(&LoadOptions {
        env: EnvSource::Map(vars),
        ..opts(dir.path(), &[])
    })
    .expect("loads");
    assert_eq!(c.app.log_level, LogLevel::Warn);
    assert_eq!(c.app.environment, "from-dotenv");

    let mut untouched = HashMap::new();
    assert!(!overlay_dotenv(&mut untouched, &dir.path().join("absent.env")).expect("fine"));
    assert!(untouched.is_empty());
}

#[test]
fn a_map_source_ignores_dotenv() {
    let dir = TempDir::new().expect("tempdir");
    write(dir.path(), ".env", "GDT_APP_ENVIRONMENT=from-dotenv\n");
    let c = load(&opts(dir.path(), &[])).expect("loads");
    assert_eq!(c.app.environment, "development");
    assert_eq!(c.source.dotenv_file, None);
}

/// Reads the real process environment (without changing it); skipped when
/// the variable used happens to be set by whoever runs the tests.
#[test]
fn the_process_source_reads_dotenv_from_the_search_dir() {
    const VAR: &str = "GDT_DEPLOYMENT_EXECUTION_TIMEOUT";
    if std::env::var_os(VAR).is_some() {
        eprintln!("skipped: {VAR} is set in this environment");
        return;
    }
    let dir = TempDir::new().expect("tempdir");
    let dotenv = write(dir.path(), ".env", &format!("{VAR}=3h\n"));
    let o = LoadOptions {
        explicit_path: None,
        search_dir: dir.path().to_owned(),
        env: EnvSource::Process,
    };
    match load(&o) {
        Ok(c) => {
            assert_eq!(
                c.deployment.execution_timeout,
                Duration::from_secs(3 * 3600)
            );
            assert_eq!(c.source.dotenv_file, Some(dotenv));
            assert!(c.source.env_vars.iter().any(|v| v == VAR));
        }
        // Someone's shell may hold other GDT_ variables that fail validation;
        // that is not what this test is about.
        Err(e) => eprintln!("skipped: the process environment does not load: {e}"),
    }
}

#[test]
fn dotenv_syntax_errors_do_not_show_the_line() {
    let dir = TempDir::new().expect("tempdir");
    let dotenv = write(
        dir.path(),
        ".env",
        "GDT_APP_ENVIRONMENT=ok\nGITHUB_TOKEN ghp_supersecret\n",
    );
    let err = overlay_dotenv(&mut HashMap::new(), &dotenv)
        .expect_err("invalid")
        .to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(!err.contains("ghp_supersecret"), "{err}");
}

#[test]
fn error_messages_name_the_key_and_the_fix() {
    let dir = TempDir::new().expect("tempdir");
    let missing_key = dir.path().join("x.pem");
    // (config.yaml content, environment, expected part of the message)
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        (
            "",
            &[("GDT_GITHUB_APP_ID", "abc")],
            "invalid value \"abc\" for GDT_GITHUB_APP_ID (github.app_id): expected a positive integer",
        ),
        (
            "github:\n  rate_limit:\n    initial_backoff: 5 parsecs\n",
            &[],
            "invalid duration \"5 parsecs\" for github.rate_limit.initial_backoff in ",
        ),
        (
            "temporal:\n  hostport: localhost:7233\n",
            &[],
            "config.yaml: unknown key `temporal.hostport` at line 2 column 3",
        ),
        (
            "temporal:\n  host_port: [\n",
            &[],
            "config.yaml: ",
        ),
        (
            "github:\n  app_id: 123\n",
            &[],
            "github.app_id is set (123) but github.installation_id is not: \
             set GDT_GITHUB_INSTALLATION_ID or github.installation_id",
        ),
        (
            "",
            &[("GITHUB_APP_INSTALLATION_ID", "9")],
            "github.installation_id is set (9) but github.app_id is not",
        ),
        (
            "github:\n  enterprise: true\n",
            &[],
            "github.enterprise is true but github.enterprise_host is empty: \
             set GDT_GITHUB_ENTERPRISE_HOST",
        ),
        (
            "github:\n  enterprise: true\n  enterprise_host: https://github.company.com\n",
            &[],
            "github.enterprise_host \"https://github.company.com\" is not a host name",
        ),
        (
            "",
            &[("GDT_TEMPORAL_TLS_CLIENT_CERT_PATH", "/c.pem")],
            "temporal.tls.client_cert_path is set but temporal.tls.client_key_path is not",
        ),
        (
            "temporal:\n  tls:\n    client_key_path: /k.pem\n",
            &[],
            "temporal.tls.client_key_path is set but temporal.tls.client_cert_path is not",
        ),
        (
            "",
            &[("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "/nonexistent/ca.pem")],
            "cannot read temporal.tls.server_ca_cert_path at /nonexistent/ca.pem: ",
        ),
        (
            "app:\n  log_format: text\n",
            &[],
            "invalid value \"text\" for app.log_format in ",
        ),
        (
            "",
            &[("GDT_APP_LOG_LEVEL", "verbose")],
            "invalid value \"verbose\" for GDT_APP_LOG_LEVEL (app.log_level): \
             expected one of trace, debug, info, warn, error",
        ),
        (
            "github:\n  base_url: not a url\n",
            &[],
            "invalid value \"not a url\" for github.base_url in ",
        ),
        (
            "",
            &[("GDT_GITHUB_BASE_URL", "api.github.com")],
            "GDT_GITHUB_BASE_URL (github.base_url): expected an absolute http(s) URL",
        ),
        (
            "github:\n  rate_limit:\n    initial_backoff: 10s\n    max_backoff: 5s\n",
            &[],
            "github.rate_limit.max_backoff (5s) is shorter than github.rate_limit.initial_backoff (10s)",
        ),
        (
            "github:\n  rate_limit:\n    backoff_multiplier: 0.5\n",
            &[],
            "github.rate_limit.backoff_multiplier must be at least 1.0",
        ),
        (
            "temporal:\n  worker_options:\n    max_concurrent_activity: 0\n",
            &[],
            "temporal.worker_options.max_concurrent_activity must be at least 1",
        ),
        (
            "server:\n  max_body_bytes: 0\n",
            &[],
            "server.max_body_bytes must be at least 1 (it is 0)",
        ),
        (
            "",
            &[("GDT_SERVER_MAX_BODY_BYTES", "0")],
            "invalid value \"0\" for GDT_SERVER_MAX_BODY_BYTES (server.max_body_bytes): \
             expected a positive integer",
        ),
        (
            "server:\n  listen: \"3000\"\n",
            &[],
            "server.listen \"3000\" is not an address to listen on: use host:port, \
             e.g. 0.0.0.0:3000 or [::]:3000 (GDT_SERVER_LISTEN)",
        ),
        (
            "",
            &[("GDT_SERVER_LISTEN", "http://0.0.0.0:3000")],
            "server.listen \"http://0.0.0.0:3000\" is not an address",
        ),
        (
            "server:\n  request_timeout: 0s\n",
            &[],
            "server.request_timeout must be greater than zero",
        ),
        (
            "",
            &[("GDT_SERVER_TEMPORAL_TIMEOUT", "0s")],
            "server.temporal_timeout must be greater than zero",
        ),
        (
            "server:\n  request_timeout: 10s\n  deployment_id_wait: 10s\n",
            &[],
            "server.deployment_id_wait (10s) must be shorter than server.request_timeout (10s): \
             lower it or raise server.request_timeout",
        ),
        (
            "",
            &[("GDT_SERVER_REQUEST_TIMEOUT", "2s")],
            "server.temporal_timeout (5s) must be shorter than server.request_timeout (2s)",
        ),
        (
            "server:\n  ready_cache: 5 parsecs\n",
            &[],
            "invalid duration \"5 parsecs\" for server.ready_cache in ",
        ),
        (
            "",
            &[("GDT_SERVER_DEPLOYMENT_ID_WAIT", "5")],
            "invalid duration \"5\" for GDT_SERVER_DEPLOYMENT_ID_WAIT (server.deployment_id_wait)",
        ),
    ];
    for (yaml, vars, want) in cases {
        fs::write(dir.path().join("config.yaml"), yaml).expect("write");
        let err = load_err(&opts(dir.path(), vars));
        assert!(
            err.contains(want),
            "yaml {yaml:?} env {vars:?}\n got: {err}\nwant: {want}"
        );
    }

    // The PEM file is only read by credentials(), so load succeeds.
    fs::write(dir.path().join("config.yaml"), "").expect("write");
    let c = load(&opts(
        dir.path(),
        &[
            ("GDT_GITHUB_APP_ID", "1"),
            ("GDT_GITHUB_INSTALLATION_ID", "2"),
            (
                "GITHUB_APP_PRIVATE_KEY_PATH",
                missing_key.to_str().expect("utf8"),
            ),
        ],
    ))
    .expect("a missing key file does not stop load");
    let err = c.github.credentials().expect_err("no key").to_string();
    let want = format!(
        "cannot read the GitHub App private key at {} \
         (github.private_key_path / GITHUB_APP_PRIVATE_KEY_PATH): No such file or directory",
        missing_key.display()
    );
    assert!(err.starts_with(&want), "\n got: {err}\nwant: {want}");
}

#[test]
fn a_key_file_that_is_not_a_pem_private_key_is_rejected_without_echoing_it() {
    let dir = TempDir::new().expect("tempdir");
    let key = write(dir.path(), "key.pem", "ghp_this_is_a_token_not_a_key\n");
    let c = load(&opts(
        dir.path(),
        &[
            ("GDT_GITHUB_APP_ID", "1"),
            ("GDT_GITHUB_INSTALLATION_ID", "2"),
            ("GDT_GITHUB_PRIVATE_KEY_PATH", key.to_str().expect("utf8")),
        ],
    ))
    .expect("loads");
    let err = c.github.credentials().expect_err("not PEM").to_string();
    assert!(err.contains("does not contain a PEM private key"), "{err}");
    assert!(!err.contains("ghp_this_is_a_token"), "{err}");

    fs::write(
        &key,
        "-----BEGIN PUBLIC KEY-----\nMII\n-----END PUBLIC KEY-----\n",
    )
    .expect("write");
    assert!(matches!(
        c.github.credentials(),
        Err(ConfigError::PrivateKeyNotPem { .. })
    ));
}

#[test]
fn credentials_from_an_app_key_file_or_a_token() {
    let dir = TempDir::new().expect("tempdir");
    let key = write(dir.path(), "private-key.pem", FAKE_PEM);
    let yaml = format!(
        "github:\n  app_id: 234567\n  installation_id: 890123\n  private_key_path: {}\n",
        key.display()
    );
    write(dir.path(), "config.yaml", &yaml);
    // A token as well: the App still wins.
    let c = load(&opts(dir.path(), &[("GITHUB_TOKEN", "ghp_ignored")])).expect("loads");
    match c.github.credentials().expect("readable") {
        GitHubCredentials::App {
            app_id,
            installation_id,
            private_key_pem,
        } => {
            assert_eq!((app_id, installation_id), (234567, 890123));
            assert_eq!(private_key_pem.expose_secret(), FAKE_PEM);
        }
        other => panic!("expected an App, got {other:?}"),
    }

    fs::write(dir.path().join("config.yaml"), "").expect("write");
    let c = load(&opts(dir.path(), &[("GITHUB_TOKEN", "ghp_token")])).expect("loads");
    match c.github.credentials().expect("no file needed") {
        GitHubCredentials::Token(t) => assert_eq!(t.expose_secret(), "ghp_token"),
        other => panic!("expected a token, got {other:?}"),
    }
}

#[test]
fn redacted_output_never_contains_secrets() {
    let dir = TempDir::new().expect("tempdir");
    let key = write(dir.path(), "private-key.pem", FAKE_PEM);
    write(
        dir.path(),
        "config.yaml",
        "temporal:\n  api_key: tmprl_apikey_secret\ngithub:\n  token: ghp_supersecret\n",
    );
    let c = load(&opts(
        dir.path(),
        &[
            ("GDT_GITHUB_APP_ID", "1"),
            ("GDT_GITHUB_INSTALLATION_ID", "2"),
            ("GDT_GITHUB_PRIVATE_KEY_PATH", key.to_str().expect("utf8")),
            ("GDT_GITHUB_ENTERPRISE", "true"),
            ("GDT_GITHUB_ENTERPRISE_HOST", "github.company.com"),
            ("INTERNAL_API_SHARED_SECRET", "api_tok_one, api_tok_two"),
            ("GITHUB_WEBHOOK_SECRET", "whs_seed_secret"),
            ("GDT_WEBHOOK_SECRETS", "whs_one whs_two"),
        ],
    ))
    .expect("loads");
    let yaml = c.redacted_yaml();
    for secret in [
        "ghp_supersecret",
        "tmprl_apikey_secret",
        "api_tok_one",
        "api_tok_two",
        "whs_",
        "MIIEow",
        "BEGIN RSA",
    ] {
        assert!(!yaml.contains(secret), "{secret} leaked:\n{yaml}");
    }
    assert!(yaml.contains("api_key: <redacted>"), "{yaml}");
    assert!(yaml.contains("token: <redacted>"), "{yaml}");
    assert!(yaml.contains("api_tokens: <redacted>"), "{yaml}");
    assert!(yaml.contains("webhook:\n  secrets: <redacted>\n"), "{yaml}");
    assert!(
        yaml.contains(&format!("private_key_path: {}", key.display())),
        "{yaml}"
    );
    assert!(
        yaml.contains("base_url: https://github.company.com/api/v3"),
        "{yaml}"
    );
    assert!(
        yaml.contains("  tls:\n    enabled: true\n"),
        "api key implies TLS:\n{yaml}"
    );
    assert!(yaml.contains("initial_backoff: 1s"), "{yaml}");
    assert!(
        yaml.contains(
            "# environment variables applied: INTERNAL_API_SHARED_SECRET, GITHUB_WEBHOOK_SECRET, \
             GDT_GITHUB_ENTERPRISE, "
        ),
        "{yaml}"
    );

    // Debug output is just as safe.
    let debug = format!("{c:?}");
    assert!(!debug.contains("ghp_supersecret") && !debug.contains("tmprl_apikey_secret"));
    assert!(!debug.contains("api_tok_one") && !debug.contains("api_tok_two"));
    assert!(!debug.contains("whs_"), "{debug}");

    // Unset secrets say so.
    let bare = Config::default().redacted_yaml();
    assert!(
        bare.contains("token: <unset>")
            && bare.contains("api_key: <unset>")
            && bare.contains("api_tokens: <unset>")
            && bare.contains("secrets: <unset>"),
        "{bare}"
    );
}

#[test]
fn the_server_section_from_file_and_environment() {
    let dir = TempDir::new().expect("tempdir");
    let tokens = write(
        dir.path(),
        "secrets/api-tokens",
        "# one token per line\napi_tok_new\n\napi_tok_old\n",
    );
    write(
        dir.path(),
        "config.yaml",
        "server:\n  listen: 127.0.0.1:8000\n  max_body_bytes: 2048\n  request_timeout: 20s\n  \
         deployment_id_wait: 0s\n",
    );
    let c = load(&opts(
        dir.path(),
        &[
            ("GDT_SERVER_LISTEN", "0.0.0.0:9000"),
            ("GDT_SERVER_READY_CACHE", "1s"),
            ("GDT_SERVER_TEMPORAL_TIMEOUT", "3s"),
            (
                "INTERNAL_API_SHARED_SECRET_FILE",
                tokens.to_str().expect("utf8"),
            ),
            ("INTERNAL_API_SHARED_SECRET", "api_tok_env,api_tok_old"),
        ],
    ))
    .expect("loads");
    let s = &c.server;
    assert_eq!(s.listen, "0.0.0.0:9000", "the environment wins");
    assert_eq!(s.max_body_bytes, 2048);
    assert_eq!(s.request_timeout, Duration::from_secs(20));
    assert_eq!(s.temporal_timeout, Duration::from_secs(3));
    assert_eq!(s.deployment_id_wait, Duration::ZERO);
    assert_eq!(s.ready_cache, Duration::from_secs(1));
    assert_eq!(s.api_tokens_file.as_deref(), Some(tokens.as_path()));
    let accepted = s.api_tokens().expect("readable");
    let accepted: Vec<&str> = accepted.iter().map(|t| t.expose_secret()).collect();
    assert_eq!(accepted, ["api_tok_env", "api_tok_old", "api_tok_new"]);

    // The file is read on demand, so a missing one does not stop load (the
    // worker does not need it) but is reported by api_tokens().
    fs::remove_file(&tokens).expect("remove");
    let c = load(&opts(
        dir.path(),
        &[("GDT_SERVER_API_TOKENS_FILE", tokens.to_str().expect("utf8"))],
    ))
    .expect("loads");
    let err = c.server.api_tokens().expect_err("missing").to_string();
    assert!(
        err.starts_with(&format!(
            "cannot read the API tokens file at {} (server.api_tokens_file",
            tokens.display()
        )),
        "{err}"
    );
}

#[test]
fn the_variable_table_lists_every_documented_name() {
    let documented = [
        "TEMPORAL_ADDRESS",
        "TEMPORAL_NAMESPACE",
        "TEMPORAL_API_KEY",
        "TEMPORAL_TLS",
        "TEMPORAL_TLS_SERVER_NAME",
        "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_CERT_PATH",
        "TEMPORAL_TLS_CLIENT_KEY_PATH",
        "GITHUB_APP_PRIVATE_KEY_PATH",
        "GITHUB_TOKEN",
        "GITHUB_APP_ID",
        "GITHUB_APP_INSTALLATION_ID",
        "GDT_TEMPORAL_HOST_PORT",
        "GDT_TEMPORAL_NAMESPACE",
        "GDT_TEMPORAL_TASK_QUEUE",
        "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_ACTIVITY",
        "GDT_TEMPORAL_WORKER_OPTIONS_MAX_CONCURRENT_WORKFLOW",
        "GDT_TEMPORAL_API_KEY",
        "GDT_TEMPORAL_TLS_ENABLED",
        "GDT_TEMPORAL_TLS_SERVER_NAME",
        "GDT_TEMPORAL_TLS_SERVER_CA_CERT_PATH",
        "GDT_TEMPORAL_TLS_CLIENT_CERT_PATH",
        "GDT_TEMPORAL_TLS_CLIENT_KEY_PATH",
        "GDT_GITHUB_BASE_URL",
        "GDT_GITHUB_ENTERPRISE",
        "GDT_GITHUB_ENTERPRISE_HOST",
        "GDT_GITHUB_APP_ID",
        "GDT_GITHUB_INSTALLATION_ID",
        "GDT_GITHUB_PRIVATE_KEY_PATH",
        "GDT_GITHUB_RATE_LIMIT_MAX_RETRIES",
        "GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF",
        "GDT_GITHUB_RATE_LIMIT_MAX_BACKOFF",
        "GDT_GITHUB_RATE_LIMIT_BACKOFF_MULTIPLIER",
        "GDT_GITHUB_RATE_LIMIT_MAX_INLINE_WAIT",
        "GDT_APP_ENVIRONMENT",
        "GDT_APP_LOG_LEVEL",
        "GDT_APP_LOG_FORMAT",
        "GDT_APP_METRICS_ENABLED",
        "GDT_APP_METRICS_PORT",
        "GDT_APP_HEALTH_PORT",
        "GDT_DEPLOYMENT_INACTIVITY_TIMEOUT",
        "GDT_DEPLOYMENT_EXECUTION_TIMEOUT",
        "INTERNAL_API_SHARED_SECRET",
        "INTERNAL_API_SHARED_SECRET_FILE",
        "GDT_SERVER_LISTEN",
        "GDT_SERVER_MAX_BODY_BYTES",
        "GDT_SERVER_REQUEST_TIMEOUT",
        "GDT_SERVER_TEMPORAL_TIMEOUT",
        "GDT_SERVER_DEPLOYMENT_ID_WAIT",
        "GDT_SERVER_READY_CACHE",
        "GDT_SERVER_API_TOKENS_FILE",
        "GDT_SERVER_API_TOKENS",
        "GITHUB_WEBHOOK_SECRET",
        "GITHUB_WEBHOOK_SECRET_FILE",
        "GDT_WEBHOOK_SECRETS",
        "GDT_WEBHOOK_SECRETS_FILE",
        "GDT_WEBHOOK_MAX_BODY_BYTES",
        "GDT_PR_CHECKS_ENABLED",
        "GDT_PR_CHECKS_TASK_QUEUE",
        "GDT_PR_CHECKS_REPORT",
        "GDT_PR_CHECKS_CODE_PATTERNS",
        "GDT_PR_CHECKS_PLUGIN_PATTERNS",
        "GDT_PR_CHECKS_VERSION_FILE",
        "GDT_PR_CHECKS_PLUGIN_MANIFEST",
    ];
    for name in documented {
        assert!(ENV_BINDINGS.iter().any(|b| b.var == name), "{name} missing");
    }
    // Documented once, removed since: setting them is an error that says what to do.
    for name in [
        "GDT_TEMPORAL_MAX_CONCURRENT",
        "GDT_TEMPORAL_WORKER_OPTIONS_ENABLE_LOGGING_REPLAY",
        "GDT_GITHUB_UPLOAD_URL",
    ] {
        assert!(REMOVED.iter().any(|r| r.var == name), "{name} missing");
        assert!(
            !ENV_BINDINGS.iter().any(|b| b.var == name),
            "{name} still read"
        );
    }
    let secrets: Vec<&str> = ENV_BINDINGS
        .iter()
        .filter(|b| b.secret)
        .map(|b| b.var)
        .collect();
    assert_eq!(
        secrets,
        [
            "TEMPORAL_API_KEY",
            "GITHUB_TOKEN",
            "INTERNAL_API_SHARED_SECRET",
            "GITHUB_WEBHOOK_SECRET",
            "GDT_TEMPORAL_API_KEY",
            "GDT_GITHUB_TOKEN",
            "GDT_SERVER_API_TOKENS",
            "GDT_WEBHOOK_SECRETS",
            "GDT_BOARD_VIEWER_TOKENS"
        ]
    );
}

#[test]
fn the_webhook_section_from_file_and_environment() {
    let dir = TempDir::new().expect("tempdir");
    let secrets = write(
        dir.path(),
        "secrets/webhook",
        "# rotated: the new secret first\nwhs_new\n\nwhs_old\n",
    );
    write(
        dir.path(),
        "config.yaml",
        &format!(
            "webhook:\n  secrets: whs_from_yaml\n  secrets_file: {}\n  max_body_bytes: 4096\n",
            secrets.display()
        ),
    );
    let c = load(&opts(dir.path(), &[])).expect("loads");
    let w = &c.webhook;
    assert_eq!(w.max_body_bytes, 4096);
    assert_eq!(w.secrets_file.as_deref(), Some(secrets.as_path()));
    let accepted = w.secrets().expect("readable");
    let accepted: Vec<&str> = accepted.iter().map(|t| t.expose_secret()).collect();
    assert_eq!(accepted, ["whs_from_yaml", "whs_new", "whs_old"]);

    // The older variable overrides the file, ours overrides it.
    let c = load(&opts(
        dir.path(),
        &[
            ("GITHUB_WEBHOOK_SECRET", "whs_seed"),
            ("GDT_WEBHOOK_MAX_BODY_BYTES", "26214400"),
        ],
    ))
    .expect("loads");
    let accepted = c.webhook.secrets().expect("readable");
    let accepted: Vec<&str> = accepted.iter().map(|t| t.expose_secret()).collect();
    assert_eq!(accepted, ["whs_seed", "whs_new", "whs_old"]);
    assert_eq!(c.webhook.max_body_bytes, 26_214_400);
    let c = load(&opts(
        dir.path(),
        &[
            ("GITHUB_WEBHOOK_SECRET", "whs_seed"),
            ("GDT_WEBHOOK_SECRETS", "whs_old,whs_ours"),
        ],
    ))
    .expect("loads");
    let accepted = c.webhook.secrets().expect("readable");
    let accepted: Vec<&str> = accepted.iter().map(|t| t.expose_secret()).collect();
    assert_eq!(accepted, ["whs_old", "whs_ours", "whs_new"], "deduplicated");

    // A missing file does not stop load (the worker does not need it) but is
    // reported by secrets(), without the secrets.
    fs::remove_file(&secrets).expect("remove");
    let c = load(&opts(
        dir.path(),
        &[(
            "GITHUB_WEBHOOK_SECRET_FILE",
            secrets.to_str().expect("utf8"),
        )],
    ))
    .expect("loads");
    let err = c.webhook.secrets().expect_err("missing").to_string();
    assert!(
        err.starts_with(&format!(
            "cannot read the webhook secrets file at {} (webhook.secrets_file / \
             GDT_WEBHOOK_SECRETS_FILE / GITHUB_WEBHOOK_SECRET_FILE): ",
            secrets.display()
        )),
        "{err}"
    );
    assert!(!err.contains("whs_"), "{err}");
}

#[test]
fn the_pr_checks_section_from_file_and_environment() {
    let dir = TempDir::new().expect("tempdir");
    let plugin_schema = write(
        dir.path(),
        "schemas/plugin.schema.json",
        r#"{"type": "object", "required": ["name"]}"#,
    );
    let hooks_schema = write(
        dir.path(),
        "schemas/hooks.schema.json",
        "{\n  \"type\": [\n}\n",
    );
    write(
        dir.path(),
        "config.yaml",
        &format!(
            "pr_checks:\n  enabled: false\n  task_queue: pr-checks\n  report: comment\n  \
             code_patterns: [\"internal/config/{{types,config}}.go\"]\n  plugin_patterns: []\n  \
             schemas:\n    - pattern: .claude-plugin/plugin.json\n      schema_path: {}\n    \
             - pattern: .claude-plugin/hooks/*.json\n      schema_path: {}\n  \
             version_file: version.txt\n  plugin_manifest: plugin.json\n",
            plugin_schema.display(),
            hooks_schema.display()
        ),
    );
    let c = load(&opts(dir.path(), &[])).expect("loads");
    let p = &c.pr_checks;
    assert!(!p.enabled);
    assert_eq!(p.task_queue, "pr-checks");
    assert_eq!(p.report, ReportMode::Comment);
    assert!(p.report.comments() && !p.report.check_runs());
    assert_eq!(
        p.code_patterns.as_deref(),
        Some(&["internal/config/{types,config}.go".to_owned()][..])
    );
    assert_eq!(p.plugin_patterns.as_deref(), Some(&[][..]));
    assert_eq!(
        p.schemas[0],
        SchemaRuleConfig {
            pattern: ".claude-plugin/plugin.json".to_owned(),
            schema_path: plugin_schema,
        }
    );
    assert_eq!(p.version_file, "version.txt");
    assert_eq!(p.plugin_manifest, "plugin.json");

    // The second schema is not JSON: load succeeds, load_schemas names it.
    let err = p.load_schemas().expect_err("invalid JSON");
    assert!(
        matches!(
            err,
            ConfigError::SchemaFileNotJson {
                index: 1,
                line: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with(&format!(
            "the JSON Schema at {} (pr_checks.schemas[1].schema_path) is not valid JSON: ",
            hooks_schema.display()
        )),
        "{err}"
    );
    fs::write(&hooks_schema, "{\"type\": \"object\"}").expect("write");
    let schemas = p.load_schemas().expect("valid");
    assert_eq!(schemas.len(), 2);
    assert_eq!(schemas[0].0, ".claude-plugin/plugin.json");
    assert_eq!(schemas[0].1["required"][0], "name");
    assert_eq!(schemas[1].0, ".claude-plugin/hooks/*.json");

    let c = load(&opts(
        dir.path(),
        &[
            ("GDT_PR_CHECKS_ENABLED", "true"),
            ("GDT_PR_CHECKS_TASK_QUEUE", "plugin-validation-queue"),
            ("GDT_PR_CHECKS_REPORT", "both"),
            ("GDT_PR_CHECKS_CODE_PATTERNS", "a/*.go, b/{c,d}.go"),
            ("GDT_PR_CHECKS_PLUGIN_PATTERNS", ".claude-plugin/**/*"),
            ("GDT_PR_CHECKS_VERSION_FILE", "VERSION"),
            (
                "GDT_PR_CHECKS_PLUGIN_MANIFEST",
                ".claude-plugin/plugin.json",
            ),
        ],
    ))
    .expect("loads");
    let p = &c.pr_checks;
    assert!(p.enabled);
    assert_eq!(p.task_queue, "plugin-validation-queue");
    assert_eq!(p.report, ReportMode::Both);
    assert_eq!(
        p.code_patterns.as_deref(),
        Some(&["a/*.go".to_owned(), "b/{c,d}.go".to_owned()][..])
    );
    assert_eq!(
        p.plugin_patterns.as_deref(),
        Some(&[".claude-plugin/**/*".to_owned()][..])
    );
    assert_eq!(p.schemas.len(), 2, "schemas are YAML only");
    assert_eq!(p.version_file, "VERSION");
    assert_eq!(p.plugin_manifest, ".claude-plugin/plugin.json");
}

#[test]
fn webhook_and_pr_checks_errors_name_the_key() {
    let dir = TempDir::new().expect("tempdir");
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case<'_>] = &[
        (
            "webhook:\n  max_body_bytes: 0\n",
            &[],
            "webhook.max_body_bytes must be at least 1 (it is 0)",
        ),
        (
            "",
            &[("GDT_WEBHOOK_MAX_BODY_BYTES", "25MiB")],
            "invalid value \"25MiB\" for GDT_WEBHOOK_MAX_BODY_BYTES (webhook.max_body_bytes): \
             expected a positive integer",
        ),
        (
            "pr_checks:\n  report: checkrun\n",
            &[],
            "invalid value \"checkrun\" for pr_checks.report in ",
        ),
        (
            "",
            &[("GDT_PR_CHECKS_REPORT", "none")],
            "invalid value \"none\" for GDT_PR_CHECKS_REPORT (pr_checks.report): \
             expected one of comment, check_run, both",
        ),
        (
            "pr_checks:\n  task_queue: \"\"\n",
            &[],
            "pr_checks.task_queue is empty: set GDT_PR_CHECKS_TASK_QUEUE or pr_checks.task_queue",
        ),
        (
            "pr_checks:\n  plugin_manifest: \" \"\n",
            &[],
            "pr_checks.plugin_manifest is empty",
        ),
        (
            "pr_checks:\n  code_patterns: [a.go, \"\"]\n",
            &[],
            "pr_checks.code_patterns has an empty pattern at position 1",
        ),
        (
            "pr_checks:\n  schemas:\n    - pattern: a.json\n      path: s.json\n",
            &[],
            "unknown key `pr_checks.schemas[0].path` at line 4 column 7",
        ),
        (
            "pr_checks:\n  schemas:\n    - pattern: \"\"\n      schema_path: s.json\n",
            &[],
            "pr_checks.schemas entry 0 has an empty pattern (pr_checks.schemas[0].pattern)",
        ),
    ];
    for (yaml, vars, want) in cases {
        fs::write(dir.path().join("config.yaml"), yaml).expect("write");
        let err = load_err(&opts(dir.path(), vars));
        assert!(
            err.contains(want),
            "yaml {yaml:?} env {vars:?}\n got: {err}\nwant: {want}"
        );
    }

    // A missing schema file does not stop load; load_schemas names the entry.
    let missing = dir.path().join("missing.schema.json");
    fs::write(
        dir.path().join("config.yaml"),
        format!(
            "pr_checks:\n  schemas:\n    - pattern: \"*.json\"\n      schema_path: {}\n",
            missing.display()
        ),
    )
    .expect("write");
    let c = load(&opts(dir.path(), &[])).expect("loads");
    let err = c.pr_checks.load_schemas().expect_err("missing").to_string();
    assert!(
        err.starts_with(&format!(
            "cannot read the JSON Schema at {} (pr_checks.schemas[0].schema_path): ",
            missing.display()
        )),
        "{err}"
    );
}

#[test]
fn viewer_tokens_are_read_and_short_ones_refused_without_quoting_them() {
    let dir = TempDir::new().expect("tempdir");
    let file = write(
        dir.path(),
        "viewers",
        "# rotated monthly\nfile-viewer-token-0123456789\n",
    );
    let mut config = Config::default();
    config.board.viewer_tokens = Some(SecretString::from("env-viewer-token-0123456789"));
    config.board.viewer_tokens_file = Some(file);
    let tokens: Vec<String> = config
        .board
        .viewer_tokens()
        .expect("viewer tokens")
        .iter()
        .map(|t| t.expose_secret().to_owned())
        .collect();
    assert_eq!(
        tokens,
        [
            "env-viewer-token-0123456789",
            "file-viewer-token-0123456789"
        ]
    );
    config.board.viewer_tokens = Some(SecretString::from("short-secret"));
    let error = config
        .board
        .viewer_tokens()
        .expect_err("a short token")
        .to_string();
    assert!(error.contains("viewer token 0"), "{error}");
    assert!(error.contains("shorter than 16 characters"), "{error}");
    assert!(!error.contains("short-secret"), "{error}");
}
