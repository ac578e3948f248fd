//! Connecting to Temporal from configuration: the dev server, a self-hosted cluster (TLS,
//! mTLS) or Temporal Cloud (API key), and the namespace, all without code changes.

use anyhow::Context as _;
use secrecy::ExposeSecret as _;
use temporalio_client::{
    Client, ClientOptions, ClientTlsOptions, Connection, ConnectionOptions, TlsOptions,
};
use temporalio_common::protos::temporal::api::namespace::v1::NamespaceConfig;
use temporalio_common::protos::temporal::api::operatorservice::v1::{
    AddSearchAttributesRequest, ListSearchAttributesRequest,
};
use temporalio_common::protos::temporal::api::workflowservice::v1::UpdateNamespaceRequest;
use temporalio_common::telemetry::metrics::TemporalMeter;

use gdt_config::TemporalConfig;

/// Connects a client to the configured Temporal frontend and namespace.
pub(crate) async fn connect(cfg: &TemporalConfig) -> anyhow::Result<Client> {
    connect_metered(cfg, None).await
}

/// Connects as [`connect`] does, recording the client's requests (`temporal_request_…`) with
/// `meter` when one is given.
pub(crate) async fn connect_metered(
    cfg: &TemporalConfig,
    meter: Option<TemporalMeter>,
) -> anyhow::Result<Client> {
    let mut options = connection_options(cfg)?;
    options.metrics_meter = meter;
    let target = options.target.to_string();
    let connection = Connection::connect(options).await.with_context(|| {
        format!(
            "cannot reach Temporal at {target} (temporal.host_port / GDT_TEMPORAL_HOST_PORT): \
             is the server running? For local work start one with `make run` or \
             `temporal server start-dev`"
        )
    })?;
    let client = Client::new(
        connection,
        ClientOptions::new(cfg.namespace.clone()).build(),
    )
    .context("cannot create the Temporal client")?;
    Ok(client)
}

fn connection_options(cfg: &TemporalConfig) -> anyhow::Result<ConnectionOptions> {
    let api_key = cfg.api_key.as_ref().map(|k| k.expose_secret().to_owned());
    let tls = cfg.tls_material()?;
    let address = if cfg.host_port.contains("://") {
        cfg.host_port.clone()
    } else {
        let scheme = if tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", cfg.host_port)
    };
    let target = url::Url::parse(&address).with_context(|| {
        format!(
            "invalid Temporal address {:?} (temporal.host_port / GDT_TEMPORAL_HOST_PORT): use host:port",
            cfg.host_port
        )
    })?;
    let tls_options = tls.map(|m| {
        let client = m.client_identity.map(|id| {
            ClientTlsOptions::builder()
                .client_cert(id.cert)
                .client_private_key(id.key.expose_secret().to_vec())
                .build()
        });
        TlsOptions::builder()
            .maybe_server_root_ca_cert(m.server_ca_cert)
            .maybe_domain(m.server_name)
            .maybe_client_tls_options(client)
            .build()
    });
    Ok(ConnectionOptions::new(target)
        .identity(format!("gdt@{}", hostname()))
        .maybe_api_key(api_key)
        .maybe_tls_options(tls_options)
        .build())
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Makes sure the deployment search attributes exist in the namespace, registering the
/// missing ones. Workflows upsert them, and a workflow upserting an unregistered attribute
/// would fail every task, so a worker that cannot ensure them refuses to start.
pub(crate) async fn ensure_search_attributes(
    client: &Client,
    namespace: &str,
) -> anyhow::Result<()> {
    let mut operator = client.connection().operator_service();
    let existing = operator
        .list_search_attributes(tonic::Request::new(ListSearchAttributesRequest {
            namespace: namespace.to_owned(),
        }))
        .await
        .map(|r| r.into_inner());
    let all = gdt_tracker::search_attributes::all();
    let missing: Vec<_> = match &existing {
        Ok(list) => all
            .iter()
            .filter(|(name, _)| !list.custom_attributes.contains_key(*name))
            .collect(),
        Err(_) => all.iter().collect(),
    };
    if missing.is_empty() {
        return Ok(());
    }
    let names = missing
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ");
    let request = AddSearchAttributesRequest {
        namespace: namespace.to_owned(),
        search_attributes: missing
            .iter()
            .map(|(name, kind)| ((*name).to_owned(), *kind as i32))
            .collect(),
    };
    operator
        .add_search_attributes(tonic::Request::new(request))
        .await
        .map_err(|status| {
            anyhow::anyhow!(
                "search attributes {} are not registered in namespace {namespace:?} and could not \
                 be registered ({}). Register them once with: {}",
                names,
                status.message(),
                missing
                    .iter()
                    .map(|(name, kind)| format!(
                        "temporal operator search-attribute create --namespace {namespace} --name {name} --type {}",
                        gdt_tracker::search_attributes::cli_type(*kind)
                    ))
                    .collect::<Vec<_>>()
                    .join(" && ")
            )
        })?;
    tracing::info!(attributes = %names, namespace, "registered search attributes");
    Ok(())
}

/// Makes the namespace of the dev server `gdt dev` started keep closed workflows for `days`
/// days at least (the dev server keeps them one day), so the board and the delivery metrics
/// of `make run` cover `board.history_days`. A failure is logged: the board then covers what
/// the namespace keeps.
pub(crate) async fn keep_closed_workflows(client: &Client, namespace: &str, days: u32) {
    let retention = std::time::Duration::from_secs(u64::from(days) * 86_400);
    let request = UpdateNamespaceRequest {
        namespace: namespace.to_owned(),
        config: Some(NamespaceConfig {
            workflow_execution_retention_ttl: retention.try_into().ok(),
            ..NamespaceConfig::default()
        }),
        ..UpdateNamespaceRequest::default()
    };
    let mut service = client.connection().workflow_service();
    if let Err(status) = service.update_namespace(tonic::Request::new(request)).await {
        tracing::warn!(
            error = %status.message(),
            namespace,
            "could not make the dev namespace keep {days} days of deployments; the board covers one day"
        );
    }
}
