//! `gdt config check`: the effective configuration, secrets redacted, and whether the
//! GitHub credentials can be loaded.

use gdt_config::{Config, GitHubCredentials};

use crate::cli::{ConfigCommand, OutputFormat};

pub(crate) fn run(config: &Config, cmd: ConfigCommand, out: OutputFormat) -> anyhow::Result<()> {
    match cmd {
        ConfigCommand::Check => {
            let credentials = match config.github.credentials() {
                Ok(GitHubCredentials::App {
                    app_id,
                    installation_id,
                    ..
                }) => {
                    format!(
                        "GitHub App {app_id}, installation {installation_id} (private key loaded)"
                    )
                }
                Ok(GitHubCredentials::Token(_)) => "a GitHub token".to_owned(),
                Ok(GitHubCredentials::None) => {
                    "none (`gdt worker` needs them; `gdt dev` uses the local sandbox)".to_owned()
                }
                Err(e) => format!("ERROR: {e}"),
            };
            let yaml = config.redacted_yaml();
            match out {
                OutputFormat::Text => {
                    println!("{yaml}");
                    println!("# GitHub credentials: {credentials}");
                    println!("#\n# Environment variables (later ones win over earlier ones):");
                    for binding in gdt_config::ENV_BINDINGS {
                        println!("#   {:<52} {}", binding.var, binding.key);
                    }
                }
                OutputFormat::Json => {
                    let value: serde_json::Value = serde_yaml_to_json(&yaml)?;
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({
                            "config": value,
                            "github_credentials": credentials,
                        }))?
                    );
                }
            }
            if config.github.credentials().is_err() {
                anyhow::bail!("the configuration has errors (see above)");
            }
            Ok(())
        }
    }
}

fn serde_yaml_to_json(yaml: &str) -> anyhow::Result<serde_json::Value> {
    Ok(serde_yaml::from_str(yaml)?)
}
