//! The files read on demand: the server's API tokens, the webhook secrets and the JSON
//! Schemas of the pull-request checks.

use std::fs;
use std::path::{Path, PathBuf};

use gdt_config::{ConfigError, PrChecksConfig, SchemaRuleConfig, ServerConfig, WebhookConfig};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

fn exposed(tokens: &[SecretString]) -> Vec<&str> {
    tokens.iter().map(ExposeSecret::expose_secret).collect()
}

fn server(env_tokens: Option<&str>, file: Option<PathBuf>) -> ServerConfig {
    ServerConfig {
        api_tokens: env_tokens.map(|t| SecretString::from(t.to_owned())),
        api_tokens_file: file,
        ..ServerConfig::default()
    }
}

#[test]
fn no_tokens_is_not_an_error() {
    let tokens = server(None, None).api_tokens().expect("nothing to read");
    assert!(tokens.is_empty());
}

#[test]
fn tokens_from_the_environment_split_on_commas_and_whitespace() {
    let s = server(Some(" tok_a,tok_b , tok_c\ttok_d\n tok_e,,tok_a "), None);
    let tokens = s.api_tokens().expect("no file");
    assert_eq!(
        exposed(&tokens),
        ["tok_a", "tok_b", "tok_c", "tok_d", "tok_e"]
    );
}

#[test]
fn tokens_from_a_file_skip_comments_and_blank_lines() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let path = dir.path().join("tokens");
    fs::write(
        &path,
        "# rotated 2024-05-01\n\ntok_new\n   \n  tok_old  \r\n  # tok_commented\ntok_new\n",
    )
    .expect("write");
    let tokens = server(None, Some(path)).api_tokens().expect("readable");
    assert_eq!(exposed(&tokens), ["tok_new", "tok_old"]);
}

#[test]
fn environment_and_file_tokens_are_merged_without_duplicates() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let path = dir.path().join("tokens");
    fs::write(&path, "tok_file\ntok_both\n").expect("write");
    let s = server(Some("tok_env, tok_both"), Some(path));
    let tokens = s.api_tokens().expect("readable");
    assert_eq!(exposed(&tokens), ["tok_env", "tok_both", "tok_file"]);
}

#[test]
fn an_unreadable_file_names_key_and_path_but_not_the_content() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let missing = dir.path().join("absent");
    let err = server(Some("tok_env"), Some(missing.clone()))
        .api_tokens()
        .expect_err("missing");
    assert!(matches!(err, ConfigError::ApiTokensFileUnreadable { .. }));
    let shown = err.to_string();
    let want = format!(
        "cannot read the API tokens file at {} (server.api_tokens_file / \
         GDT_SERVER_API_TOKENS_FILE / INTERNAL_API_SHARED_SECRET_FILE): ",
        missing.display()
    );
    assert!(shown.starts_with(&want), "\n got: {shown}\nwant: {want}");
    assert!(
        shown.ends_with("; mount the file (one token per line) or unset the setting"),
        "{shown}"
    );
    assert!(!shown.contains("tok_env"), "{shown}");

    let binary = dir.path().join("binary");
    fs::write(&binary, b"tok_secret_prefix\xff\xfe\n").expect("write");
    let err = server(None, Some(binary))
        .api_tokens()
        .expect_err("not text");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("not UTF-8 text"), "{shown}");
    assert!(!shown.contains("tok_secret_prefix"), "{shown}");

    // A directory where the file should be.
    let err = server(None, Some(dir.path().to_owned()))
        .api_tokens()
        .expect_err("a directory");
    assert!(err.to_string().contains("server.api_tokens_file"), "{err}");
}

#[test]
fn debug_output_hides_the_tokens() {
    let s = server(Some("tok_secret_one,tok_secret_two"), None);
    let tokens = s.api_tokens().expect("no file");
    let shown = format!("{s:?} {tokens:?}");
    assert!(!shown.contains("tok_secret"), "{shown}");
}

fn webhook(env_secrets: Option<&str>, file: Option<PathBuf>) -> WebhookConfig {
    WebhookConfig {
        secrets: env_secrets.map(|t| SecretString::from(t.to_owned())),
        secrets_file: file,
        ..WebhookConfig::default()
    }
}

#[test]
fn no_webhook_secret_is_not_an_error() {
    let secrets = webhook(None, None).secrets().expect("nothing to read");
    assert!(secrets.is_empty());
}

#[test]
fn webhook_secrets_are_split_merged_and_deduplicated_like_api_tokens() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let path = dir.path().join("webhook-secrets");
    fs::write(
        &path,
        "# new one first\nwhs_new\n\n  whs_old \r\n#whs_commented\nwhs_env_b\n",
    )
    .expect("write");
    let w = webhook(Some("whs_env_a, whs_env_b\twhs_env_a\n"), Some(path));
    let secrets = w.secrets().expect("readable");
    assert_eq!(
        exposed(&secrets),
        ["whs_env_a", "whs_env_b", "whs_new", "whs_old"]
    );
    let shown = format!("{w:?} {secrets:?}");
    assert!(!shown.contains("whs_"), "{shown}");
}

#[test]
fn an_unreadable_webhook_secrets_file_names_key_and_variables_but_not_the_content() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let missing = dir.path().join("absent");
    let err = webhook(Some("whs_env"), Some(missing.clone()))
        .secrets()
        .expect_err("missing");
    assert!(matches!(
        err,
        ConfigError::WebhookSecretsFileUnreadable { .. }
    ));
    let shown = err.to_string();
    let want = format!(
        "cannot read the webhook secrets file at {} (webhook.secrets_file / \
         GDT_WEBHOOK_SECRETS_FILE / GITHUB_WEBHOOK_SECRET_FILE): ",
        missing.display()
    );
    assert!(shown.starts_with(&want), "\n got: {shown}\nwant: {want}");
    assert!(
        shown.ends_with("; mount the file (one secret per line) or unset the setting"),
        "{shown}"
    );
    assert!(!shown.contains("whs_env"), "{shown}");

    let binary = dir.path().join("binary");
    fs::write(&binary, b"whs_secret_prefix\xff\xfe\n").expect("write");
    let err = webhook(None, Some(binary)).secrets().expect_err("not text");
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("not UTF-8 text"), "{shown}");
    assert!(shown.contains("webhook.secrets_file"), "{shown}");
    assert!(!shown.contains("whs_secret_prefix"), "{shown}");
}

fn checks(rules: &[(&str, &Path)]) -> PrChecksConfig {
    PrChecksConfig {
        schemas: rules
            .iter()
            .map(|(pattern, path)| SchemaRuleConfig {
                pattern: (*pattern).to_owned(),
                schema_path: path.to_path_buf(),
            })
            .collect(),
        ..PrChecksConfig::default()
    }
}

fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, content).expect("write");
    path
}

#[test]
fn no_schemas_reads_nothing() {
    let loaded = PrChecksConfig::default().load_schemas().expect("nothing");
    assert!(loaded.is_empty());
}

#[test]
fn schemas_are_read_in_order_with_their_patterns() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let plugin = write(
        dir.path(),
        "plugin.schema.json",
        r#"{"type": "object", "required": ["name", "version"]}"#,
    );
    let hooks = write(dir.path(), "hooks.schema.json", "true\n");
    let loaded = checks(&[
        (".claude-plugin/plugin.json", &plugin),
        (".claude-plugin/hooks/*.json", &hooks),
    ])
    .load_schemas()
    .expect("valid");
    assert_eq!(
        loaded,
        [
            (
                ".claude-plugin/plugin.json".to_owned(),
                json!({"type": "object", "required": ["name", "version"]})
            ),
            (".claude-plugin/hooks/*.json".to_owned(), json!(true)),
        ]
    );
}

#[test]
fn an_unreadable_schema_names_the_entry_and_the_path() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let good = write(dir.path(), "good.json", "{}");
    let missing = dir.path().join("missing.json");
    let err = checks(&[("a.json", &good), ("b.json", &missing)])
        .load_schemas()
        .expect_err("missing");
    assert!(
        matches!(err, ConfigError::SchemaFileUnreadable { index: 1, .. }),
        "{err:?}"
    );
    let shown = err.to_string();
    let want = format!(
        "cannot read the JSON Schema at {} (pr_checks.schemas[1].schema_path): ",
        missing.display()
    );
    assert!(shown.starts_with(&want), "\n got: {shown}\nwant: {want}");
}

#[test]
fn invalid_json_names_the_entry_the_path_and_the_position() {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let bad = write(dir.path(), "bad.json", "{\n  \"type\": \"object\",\n}\n");
    let err = checks(&[("*.json", &bad)])
        .load_schemas()
        .expect_err("trailing comma");
    assert!(
        matches!(
            err,
            ConfigError::SchemaFileNotJson {
                index: 0,
                line: 3,
                column: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let shown = err.to_string();
    let want = format!(
        "the JSON Schema at {} (pr_checks.schemas[0].schema_path) is not valid JSON: \
         trailing comma at line 3 column 1",
        bad.display()
    );
    assert_eq!(shown, want);

    let empty = write(dir.path(), "empty.json", "");
    let err = checks(&[("*.json", &empty)])
        .load_schemas()
        .expect_err("empty");
    let shown = err.to_string();
    assert!(
        shown.contains("(pr_checks.schemas[0].schema_path) is not valid JSON: EOF"),
        "{shown}"
    );
    assert!(shown.contains(" at line 1 column 0"), "{shown}");
}
