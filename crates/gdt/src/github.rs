//! Building the one GitHub client of a process from configuration, and checking its
//! credentials against GitHub when a worker starts.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use anyhow::Context as _;
use gdt_config::{Config, GitHubCredentials};
use gdt_github::{Auth, Client, ClientConfig, Error as GitHubError, RetryPolicy};

/// The GitHub client for the configured credentials and base URL. Fails with the keys to set
/// when no credentials are configured.
pub(crate) fn client(cfg: &Config) -> anyhow::Result<Client> {
    configured_client(cfg)?.context(
        "no GitHub credentials configured: set github.app_id, github.installation_id and the \
         private key file (GDT_GITHUB_APP_ID, GDT_GITHUB_INSTALLATION_ID, \
         GITHUB_APP_PRIVATE_KEY_PATH), or GITHUB_TOKEN; `gdt dev` runs a local GitHub sandbox \
         instead",
    )
}

/// The GitHub client for the configured credentials, or `None` when none are configured.
///
/// This is every check of the GitHub settings that needs no network (the key file is read
/// and parsed as an RSA key), so `gdt config check` calls it too and refuses what a start
/// would refuse, with the same message.
pub(crate) fn configured_client(cfg: &Config) -> anyhow::Result<Option<Client>> {
    match cfg.github.credentials()? {
        GitHubCredentials::App {
            app_id,
            installation_id,
            private_key_pem,
        } => {
            let auth = Auth::App {
                app_id,
                installation_id,
                private_key_pem,
            };
            let client = client_with_auth(cfg, auth).with_context(|| {
                format!(
                    "cannot use the GitHub App private key {} (github.private_key_path, \
                     GDT_GITHUB_PRIVATE_KEY_PATH): it must be the App's RSA private key, PEM, as \
                     downloaded from the App's settings page",
                    cfg.github.private_key_path.display()
                )
            })?;
            Ok(Some(client))
        }
        GitHubCredentials::Token(token) => client_with_auth(cfg, Auth::Token(token)).map(Some),
        GitHubCredentials::None => Ok(None),
    }
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
        user_agent: gdt_github::default_user_agent(),
    })
    .context("cannot create the GitHub client")
}

/// Whose credentials a client carries, for messages that name the settings to fix.
#[derive(Debug, Clone)]
pub(crate) enum Identity {
    /// A GitHub App installation.
    App {
        app_id: u64,
        installation_id: u64,
        key_path: PathBuf,
    },
    /// A plain token.
    Token,
}

impl Identity {
    /// The identity configured in `cfg` (an App when `github.app_id` is set, else a token).
    pub(crate) fn of(cfg: &Config) -> Self {
        if cfg.github.app_id == 0 {
            Self::Token
        } else {
            Self::App {
                app_id: cfg.github.app_id,
                installation_id: cfg.github.installation_id,
                key_path: cfg.github.private_key_path.clone(),
            }
        }
    }
}

/// How long a starting worker waits for GitHub to answer its credentials check before it
/// starts anyway. A GitHub outage must not keep the platform's worker from running (its
/// activities retry on their own), so only a definite refusal stops it.
const CHECK_AT_START: Duration = Duration::from_secs(60);

/// A credentials check still waiting for GitHub to answer. It resolves to an error only when
/// GitHub refuses the credentials.
pub(crate) type PendingCheck = Pin<Box<dyn Future<Output = anyhow::Result<()>> + Send>>;

/// Checks the credentials against GitHub before a worker takes any task (an App mints an
/// installation token, a token reads `GET /rate_limit`).
///
/// A refusal (401, 403, 404 on the token mint, …) is an error saying which settings to fix.
/// While GitHub is unreachable, answers 5xx or rate-limits, the check is retried with the
/// client's backoff (`github.rate_limit.*`), logging each failure; after [`CHECK_AT_START`]
/// without an answer the rest of the check is returned, for the worker to run beside its
/// tasks, and the worker starts.
pub(crate) async fn check_at_start(
    github: &Client,
    identity: Identity,
) -> anyhow::Result<Option<PendingCheck>> {
    let mut check: PendingCheck = Box::pin(verify(github.clone(), identity));
    tokio::select! {
        result = &mut check => result.map(|()| None),
        () = tokio::time::sleep(CHECK_AT_START) => {
            tracing::warn!(
                waited = %humantime::format_duration(CHECK_AT_START),
                "GitHub has not answered the credentials check; starting the worker anyway and \
                 checking on in the background (activities retry until GitHub answers)"
            );
            Ok(Some(check))
        }
    }
}

/// Checks the credentials until GitHub accepts or refuses them.
async fn verify(github: Client, identity: Identity) -> anyhow::Result<()> {
    let mut retry = 0;
    loop {
        let error = match github.check_credentials().await {
            Ok(()) => {
                tracing::info!(github = %github.base_url(), "GitHub accepted the credentials");
                return Ok(());
            }
            Err(e) => e,
        };
        match refusal(&error, &identity) {
            Verdict::Refused(message) => anyhow::bail!(message),
            Verdict::Unverifiable => {
                tracing::warn!(
                    error = %error,
                    "cannot check the GitHub token: GET /rate_limit is not available (GitHub \
                     Enterprise Server without rate limiting?); starting without the check"
                );
                return Ok(());
            }
            Verdict::Transient => {
                let wait = error
                    .retry_after()
                    .unwrap_or_else(|| github.retry_policy().backoff(retry, &mut rand::rng()));
                tracing::warn!(
                    error = %error,
                    retry_in = %humantime::format_duration(round_ms(wait)),
                    github = %github.base_url(),
                    "cannot check the GitHub credentials: GitHub did not answer; trying again"
                );
                tokio::time::sleep(wait).await;
                retry = retry.saturating_add(1);
            }
        }
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What a failed credentials check means.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// GitHub refused the credentials: stop, with this message.
    Refused(String),
    /// GitHub did not answer (down, 5xx, rate limit, garbled answer): ask again later.
    Transient,
    /// The check itself is not available, which says nothing about the credentials.
    Unverifiable,
}

/// Sorts a failed check and, for a refusal, says what is wrong and which settings to fix.
/// Messages carry GitHub's status and message, never a credential.
fn refusal(error: &GitHubError, identity: &Identity) -> Verdict {
    if error.is_retryable() || matches!(error, GitHubError::Unexpected(_)) {
        return Verdict::Transient;
    }
    let message = match (identity, error.status()) {
        (
            Identity::App {
                app_id, key_path, ..
            },
            Some(401),
        ) => format!(
            "GitHub rejected the GitHub App's credentials ({error}): the private key in {} is \
             not a key of App {app_id}, or {app_id} is not the App's id. Check the App id on \
             the App's settings page (github.app_id, GDT_GITHUB_APP_ID) and the key file \
             (github.private_key_path, GDT_GITHUB_PRIVATE_KEY_PATH); generate a new private key \
             there if the file is not the App's",
            key_path.display()
        ),
        (
            Identity::App {
                app_id,
                installation_id,
                ..
            },
            Some(404),
        ) => format!(
            "GitHub found no installation {installation_id} of App {app_id} ({error}): set \
             github.installation_id (GDT_GITHUB_INSTALLATION_ID) to the number at the end of \
             the installation's settings URL, and check that the App is installed on the \
             organisation or repositories"
        ),
        (
            Identity::App {
                app_id,
                installation_id,
                ..
            },
            Some(403),
        ) => format!(
            "GitHub refused an installation token for installation {installation_id} of App \
             {app_id} ({error}): the installation may be suspended or lack permissions; check it \
             in the organisation's settings (GitHub Apps)"
        ),
        (Identity::App { .. }, _) => format!(
            "GitHub refused the GitHub App's credentials ({error}): check github.app_id, \
             github.installation_id and github.private_key_path (GDT_GITHUB_APP_ID, \
             GDT_GITHUB_INSTALLATION_ID, GDT_GITHUB_PRIVATE_KEY_PATH)"
        ),
        (Identity::Token, Some(401)) => format!(
            "GitHub rejected the token ({error}): it is mistyped, expired or revoked. Set a \
             valid token in GITHUB_TOKEN or GDT_GITHUB_TOKEN (github.token), or configure a \
             GitHub App instead"
        ),
        (Identity::Token, Some(404)) => return Verdict::Unverifiable,
        (Identity::Token, _) => format!(
            "GitHub refused the token ({error}): set a valid token in GITHUB_TOKEN or \
             GDT_GITHUB_TOKEN (github.token)"
        ),
    };
    Verdict::Refused(message)
}

/// `/ready`'s check of the GitHub credentials (the API server's and the worker's).
pub(crate) fn readiness_check(github: Client) -> gdt_server::GitHubCheck {
    std::sync::Arc::new(move || {
        let github = github.clone();
        Box::pin(async move {
            github
                .check_credentials()
                .await
                .map_err(|e| format!("GitHub credentials do not work: {e}"))
        })
    })
}
