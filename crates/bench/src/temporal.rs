//! The harness's connection to Temporal, shared by the load driver, the scenarios and the
//! ceiling worker.

use std::time::{Duration, Instant};

use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};

use crate::error::{Error, Result};

/// A client of Temporal at `address` (`host:port`) in namespace `default`, retrying the
/// connection for up to `wait` (a dev server that just started may not answer yet).
pub async fn connect(address: &str, wait: Duration) -> Result<Client> {
    let target = url::Url::parse(&format!("http://{address}"))
        .map_err(|e| Error::Usage(format!("Temporal address {address:?}: {e}")))?;
    let deadline = Instant::now() + wait;
    loop {
        let options = ConnectionOptions::new(target.clone())
            .identity(format!("gdt-bench@{}", std::process::id()))
            .build();
        match Connection::connect(options).await {
            Ok(connection) => {
                return Client::new(connection, ClientOptions::new("default").build())
                    .map_err(|e| Error::Temporal(format!("cannot create a client: {e}")));
            }
            Err(e) if Instant::now() >= deadline => {
                return Err(Error::Temporal(format!(
                    "cannot connect to {address} within {wait:?}: {e}"
                )));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
