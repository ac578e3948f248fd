//! Building the one GitHub client of a process from configuration.

use anyhow::Context as _;
use gdt_config::{Config, GitHubCredentials};
use gdt_github::{Auth, Client, ClientConfig, RetryPolicy};

/// The GitHub client for the configured credentials and base URL. Fails with the keys to set
/// when no credentials are configured.
pub(crate) fn client(cfg: &Config) -> anyhow::Result<Client> {
    let auth = match cfg.github.credentials()? {
        GitHubCredentials::App {
            app_id,
            installation_id,
            private_key_pem,
        } => Auth::App {
            app_id,
            installation_id,
            private_key_pem,
        },
        GitHubCredentials::Token(token) => Auth::Token(token),
        GitHubCredentials::None => anyhow::bail!(
            "no GitHub credentials configured: set github.app_id, github.installation_id and the \
             private key file (GDT_GITHUB_APP_ID, GDT_GITHUB_INSTALLATION_ID, \
             GITHUB_APP_PRIVATE_KEY_PATH), or GITHUB_TOKEN; `gdt dev` runs a local GitHub sandbox \
             instead"
        ),
    };
    client_with_auth(cfg, auth)
}

/// A client with explicit credentials, the rest from configuration.
pub(crate) fn client_with_auth(cfg: &Config, auth: Auth) -> anyhow::Result<Client> {
    let rl = &cfg.github.rate_limit;
    let retry = RetryPolicy {
        max_retries: rl.max_retries,
        initial_backoff: rl.initial_backoff,
        max_backoff: rl.max_backoff,
        backoff_multiplier: rl.backoff_multiplier,
        max_inline_wait: rl.max_inline_wait,
    };
    Client::new(ClientConfig {
        base_url: cfg.github.effective_base_url(),
        auth,
        retry,
        user_agent: format!("github-deployment-tracker/{}", env!("CARGO_PKG_VERSION")),
    })
    .context("cannot create the GitHub client")
}
