//! What the router tests share: an `AppState` with one API token and one webhook secret,
//! before a Temporal that refuses at once or never answers.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use gdt_server::{ApiTokens, AppState, Connect, Settings, TemporalGate, WebhookSecrets};
use secrecy::SecretString;

/// A Temporal that refuses at once.
pub fn unreachable() -> Connect {
    Arc::new(|| Box::pin(async { Err("Temporal is not reachable in this test".to_owned()) }))
}

/// A Temporal that never answers.
pub fn silent() -> Connect {
    Arc::new(|| Box::pin(std::future::pending()))
}

/// State accepting `token` and webhooks signed with `secret`, bodies up to `max_body_bytes`.
pub fn state(
    connect: Connect,
    token: &str,
    secret: &str,
    max_body_bytes: usize,
    request_timeout: Duration,
) -> AppState {
    AppState::new(
        TemporalGate::new(connect, Duration::from_secs(60)),
        ApiTokens::new(&[SecretString::from(token)]),
        WebhookSecrets::new(vec![SecretString::from(secret)]),
        Settings {
            max_body_bytes,
            request_timeout,
            deployment_id_wait: Duration::from_secs(1),
            ready_cache: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(1),
            default_inactivity_timeout: Duration::from_secs(60),
            webhook_max_body_bytes: 1 << 20,
            pr_checks_enabled: true,
            external: gdt_server::ExternalWatch::default(),
            pr_cleanup_enabled: true,
        },
        None,
    )
}
