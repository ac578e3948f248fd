//! `gdt sandbox`: the local GitHub API sandbox as its own process.

use anyhow::Context as _;
use gdt_github_sandbox::{Sandbox, SandboxApp, SandboxConfig, WebhookTarget};

use crate::cli::SandboxArgs;

pub(crate) async fn run(args: SandboxArgs) -> anyhow::Result<()> {
    let webhook = match (args.webhook_url, args.webhook_secret) {
        (Some(url), Some(secret)) => {
            url::Url::parse(&url).with_context(|| format!("--webhook-url {url} is not a URL"))?;
            println!("Sending deployment webhooks to {url}");
            Some(WebhookTarget { url, secret })
        }
        _ => None,
    };
    let mut config = SandboxConfig {
        tokens: args.tokens,
        webhook,
        ..SandboxConfig::default()
    };
    if let Some(path) = &args.app_key_out {
        let (app, private_key) = SandboxApp::generate(1, 1);
        write_private_key(path, &private_key)?;
        config.apps.push(app);
        println!(
            "GitHub App 1 (installation 1); private key written to {}",
            path.display()
        );
    }
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (--listen): is the port in use?",
                args.listen
            )
        })?;
    println!("GitHub sandbox on http://{}", listener.local_addr()?);
    Sandbox::new(config)
        .serve(listener, super::shutdown_signal())
        .await
        .context("the sandbox stopped with an error")
}

/// Writes a private key readable by its owner only.
pub(crate) fn write_private_key(path: &std::path::Path, pem: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(path, pem).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict permissions of {}", path.display()))?;
    }
    Ok(())
}
