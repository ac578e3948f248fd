//! What a platform team watches a process by: `/metrics` (our `gdt_` families and the
//! Temporal SDK's, on one endpoint) and `/health` and `/ready`, each on its own port.
//!
//! The SDK keeps its metrics in a registry of its own that only its exporter can read, so the
//! exporter listens on a loopback port nobody else uses and our `/metrics` handler writes our
//! families followed by the exporter's text, fetched for each scrape. Both are Prometheus text
//! 0.0.4 and their names cannot clash (`gdt_` and `temporal_`), so the concatenation is one
//! valid exposition.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use gdt_config::Config;
use gdt_metrics::labels::Process;
use temporalio_common::telemetry::metrics::{CoreMeter, TemporalMeter};
use temporalio_common::telemetry::{
    start_prometheus_metric_exporter, telemetry_init, PrometheusExporterOptions, TelemetryOptions,
};
use tokio::net::TcpListener;

/// How long a scrape waits for the SDK's exporter before answering with our families only.
const SDK_SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// The Temporal SDK's metrics of this process, when `app.metrics_enabled`.
pub(crate) struct Telemetry {
    sdk: Option<SdkExporter>,
}

struct SdkExporter {
    meter: Arc<dyn CoreMeter>,
    url: String,
}

impl Telemetry {
    /// Starts the SDK's exporter on loopback (when metrics are enabled) and sets
    /// `gdt_build_info`. Must run before the Temporal client connects, which takes
    /// [`Telemetry::client_meter`].
    pub(crate) fn start(config: &Config, process: Process) -> anyhow::Result<Self> {
        if !config.app.metrics_enabled {
            return Ok(Self { sdk: None });
        }
        gdt_metrics::metrics().build_info(env!("CARGO_PKG_VERSION"), process);
        // Names by Prometheus's conventions (`_total` counters, `_seconds` durations), which
        // `promtool check metrics` accepts and our alerts and dashboards use.
        let options = PrometheusExporterOptions::builder()
            .socket_addr(SocketAddr::from(([127, 0, 0, 1], 0)))
            .counters_total_suffix(true)
            .unit_suffix(true)
            .use_seconds_for_durations(true)
            .build();
        let started = start_prometheus_metric_exporter(options)
            .context("cannot start the Temporal SDK's metrics exporter on 127.0.0.1")?;
        Ok(Self {
            sdk: Some(SdkExporter {
                url: format!("http://{}/metrics", started.bound_addr),
                meter: started.meter,
            }),
        })
    }

    /// The worker runtime's options: its task slots, pollers, latencies and sticky cache
    /// recorded by the SDK's meter.
    pub(crate) fn runtime_options(
        &self,
    ) -> anyhow::Result<temporalio_sdk::runtime::RuntimeOptions> {
        let telemetry = TelemetryOptions::builder()
            .maybe_metrics(self.sdk.as_ref().map(|sdk| Arc::clone(&sdk.meter)))
            .build();
        temporalio_sdk::runtime::RuntimeOptions::builder()
            .telemetry_options(telemetry)
            .build()
            .map_err(|e| anyhow::anyhow!("invalid Temporal runtime options: {e}"))
    }

    /// The meter of the Temporal client's requests (`temporal_request_…`), with the SDK's
    /// prefix.
    pub(crate) fn client_meter(&self) -> anyhow::Result<Option<TemporalMeter>> {
        let Some(sdk) = &self.sdk else {
            return Ok(None);
        };
        // Logging stays unset, so this installs no log subscriber: only the meter is used.
        let instance = telemetry_init(
            TelemetryOptions::builder()
                .metrics(Arc::clone(&sdk.meter))
                .build(),
        )
        .context("cannot set up the Temporal client's metrics")?;
        Ok(instance.get_temporal_metric_meter())
    }

    /// What `/metrics` answers: our families, then the SDK's; `None` when metrics are
    /// disabled.
    pub(crate) fn source(&self) -> Option<gdt_server::metrics::MetricsSource> {
        let url = self.sdk.as_ref()?.url.clone();
        let http = reqwest::Client::builder()
            .timeout(SDK_SCRAPE_TIMEOUT)
            .no_proxy()
            .build()
            .ok()?;
        Some(Arc::new(move || {
            let http = http.clone();
            let url = url.clone();
            Box::pin(async move {
                let mut text = gdt_metrics::metrics().encode();
                match sdk_text(&http, &url).await {
                    Ok(sdk) => text.push_str(&sdk),
                    Err(e) => {
                        gdt_metrics::metrics().sdk_scrape_error();
                        tracing::warn!(error = %e, "the Temporal SDK's metrics are missing from this scrape");
                    }
                }
                text
            })
        }))
    }
}

async fn sdk_text(http: &reqwest::Client, url: &str) -> Result<String, reqwest::Error> {
    http.get(url).send().await?.error_for_status()?.text().await
}

/// The health listener and, when metrics are enabled, the metrics listener, on the host of
/// `server.listen`.
pub(crate) struct Ports {
    pub(crate) health: TcpListener,
    pub(crate) metrics: Option<TcpListener>,
}

impl Ports {
    /// Binds `app.health_port` and, when `app.metrics_enabled`, `app.metrics_port`.
    pub(crate) async fn bind(config: &Config) -> anyhow::Result<Self> {
        let health = bind(
            config,
            config.app.health_port,
            "app.health_port / GDT_APP_HEALTH_PORT",
        )
        .await?;
        let metrics = if config.app.metrics_enabled {
            Some(
                bind(
                    config,
                    config.app.metrics_port,
                    "app.metrics_port / GDT_APP_METRICS_PORT",
                )
                .await?,
            )
        } else {
            None
        };
        Ok(Self { health, metrics })
    }

    /// The probes to serve: `/metrics` answers from `telemetry`.
    pub(crate) fn probes(self, telemetry: &Telemetry) -> gdt_server::Probes {
        gdt_server::Probes {
            health: self.health,
            metrics: self.metrics.zip(telemetry.source()),
        }
    }

    /// Where `/metrics` listens, when it does.
    pub(crate) fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }
}

/// The host of `server.listen`.
pub(crate) fn listen_host(config: &Config) -> &str {
    config
        .server
        .listen
        .rsplit_once(':')
        .map_or("0.0.0.0", |(host, _)| host)
}

async fn bind(config: &Config, port: u16, key: &str) -> anyhow::Result<TcpListener> {
    let address = format!("{}:{port}", listen_host(config));
    TcpListener::bind(&address).await.with_context(|| {
        format!("cannot listen on {address} ({key}): is another process using the port?")
    })
}
