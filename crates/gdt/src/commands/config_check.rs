//! `gdt config check`: the effective configuration, secrets redacted, and every check a
//! start makes before it needs the network.
//!
//! The checks are the very functions the commands call when they start (the GitHub client
//! with its parsed App key, the PR checks' patterns and schemas, the API token and webhook
//! secret files), so a configuration this command accepts is not refused at start for any
//! reason it could have seen, and a refusal carries the same message. What needs the network
//! (GitHub accepting the credentials, Temporal) is left to the start.

use gdt_config::Config;

use crate::cli::{ConfigCommand, OutputFormat};

pub(crate) fn run(config: &Config, cmd: ConfigCommand, out: OutputFormat) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check => {
            let mut problems: Vec<anyhow::Error> = Vec::new();
            let credentials = match crate::github::configured_client(config) {
                Ok(Some(_)) if config.github.app_id != 0 => format!(
                    "GitHub App {}, installation {} (private key loaded)",
                    config.github.app_id, config.github.installation_id
                ),
                Ok(Some(_)) => "a GitHub token".to_owned(),
                Ok(None) => {
                    "none (`gdt worker` needs them; `gdt dev` uses the local sandbox)".to_owned()
                }
                Err(e) => {
                    problems.push(e);
                    "not usable (see the error below)".to_owned()
                }
            };
            if config.pr_checks.enabled {
                if let Err(e) = super::worker::pr_check_settings(config) {
                    problems.push(e);
                }
            }
            if let Err(e) = super::serve::external_watch(config) {
                problems.push(e);
            }
            if let Err(e) = config.server.api_tokens() {
                problems.push(e.into());
            }
            if let Err(e) = super::serve::board_page(config) {
                problems.push(e);
            }
            if let Err(e) = config.board.viewer_tokens() {
                problems.push(e.into());
            }
            if let Err(e) = config.webhook.secrets() {
                problems.push(e.into());
            }
            let shown: Vec<String> = problems.iter().map(crate::describe).collect();
            let yaml = config.redacted_yaml();
            match out {
                OutputFormat::Text => {
                    println!("{yaml}");
                    println!("# GitHub credentials: {credentials}");
                    for problem in &shown {
                        println!("# ERROR: {problem}");
                    }
                    println!("#\n# Environment variables (later ones win over earlier ones):");
                    for binding in gdt_config::ENV_BINDINGS.iter() {
                        println!("#   {:<52} {}", binding.var, binding.key);
                    }
                }
                OutputFormat::Json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "config": config.redacted_json(),
                            "github_credentials": credentials,
                            "errors": shown,
                        }))?
                    );
                }
            }
            // The first problem exactly as the start would report it; the rest are above.
            match problems.into_iter().next() {
                Some(first) => Err(first),
                None => Ok(()),
            }
        }
    }
}
