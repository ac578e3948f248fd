//! Scraping a worker's `/metrics` during a load the way Prometheus would, so the worker's CPU
//! over the load includes what serving its metrics costs in production.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::task::JoinHandle;

/// Prometheus's default `scrape_interval` (a scrape config that sets none gets this).
pub(super) const SCRAPE_INTERVAL: Duration = Duration::from_secs(15);

/// Prometheus's default `scrape_timeout`.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);

/// What Prometheus 2.x asks for when it scrapes a target that speaks the text format.
const ACCEPT: &str = "text/plain;version=0.0.4;q=1,*/*;q=0.1";

/// The scrapes of one worker's `/metrics` over a load. A failed scrape is counted, not fatal:
/// the load's figures stand either way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MetricsScrapes {
    /// Scrapes made: one when the load starts, one every [`SCRAPE_INTERVAL`], one when it ends.
    pub scrapes: usize,
    /// Of those, how many got no 2xx answer with a body.
    pub failures: usize,
    /// Size of the last successful scrape's body.
    pub bytes: Option<usize>,
    /// Why the last failed scrape failed.
    pub last_error: Option<String>,
}

impl MetricsScrapes {
    fn record(&mut self, scrape: Result<usize, String>) {
        self.scrapes += 1;
        match scrape {
            Ok(bytes) => self.bytes = Some(bytes),
            Err(why) => {
                self.failures += 1;
                self.last_error = Some(why);
            }
        }
    }
}

/// Scrapes one `/metrics` URL every [`SCRAPE_INTERVAL`] until [`Scraper::finish`].
pub(super) struct Scraper {
    http: reqwest::Client,
    url: String,
    scrapes: Arc<Mutex<MetricsScrapes>>,
    task: JoinHandle<()>,
}

impl Scraper {
    /// Starts scraping `url` now (the first scrape is immediate, as when a target appears).
    pub(super) fn start(http: reqwest::Client, url: String) -> Scraper {
        let scrapes = Arc::new(Mutex::new(MetricsScrapes::default()));
        let task = tokio::spawn({
            let (http, url, scrapes) = (http.clone(), url.clone(), scrapes.clone());
            async move {
                let mut tick = tokio::time::interval(SCRAPE_INTERVAL);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let scrape = scrape(&http, &url).await;
                    lock(&scrapes).record(scrape);
                }
            }
        });
        Scraper {
            http,
            url,
            scrapes,
            task,
        }
    }

    /// Stops the periodic scrapes, makes the closing one, and returns the counts. A scrape cut
    /// short by the stop is not counted.
    pub(super) async fn finish(self) -> MetricsScrapes {
        self.task.abort();
        let last = scrape(&self.http, &self.url).await;
        let mut scrapes = lock(&self.scrapes).clone();
        scrapes.record(last);
        if scrapes.failures > 0 {
            eprintln!(
                "  {} of {} scrapes of {} failed; the last: {}",
                scrapes.failures,
                scrapes.scrapes,
                self.url,
                scrapes.last_error.as_deref().unwrap_or_default()
            );
        }
        scrapes
    }
}

/// The counts stay consistent even if a scrape task panicked while holding the lock.
fn lock(scrapes: &Mutex<MetricsScrapes>) -> std::sync::MutexGuard<'_, MetricsScrapes> {
    scrapes
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One scrape: the body's size, or why there was none.
async fn scrape(http: &reqwest::Client, url: &str) -> Result<usize, String> {
    let response = http
        .get(url)
        .header(reqwest::header::ACCEPT, ACCEPT)
        .timeout(SCRAPE_TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("{e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    let body = response.bytes().await.map_err(|e| format!("{e}"))?;
    Ok(body.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_and_the_last_size_kept() {
        let mut scrapes = MetricsScrapes::default();
        scrapes.record(Ok(1200));
        scrapes.record(Err("connection refused".into()));
        scrapes.record(Ok(1500));
        assert_eq!(
            scrapes,
            MetricsScrapes {
                scrapes: 3,
                failures: 1,
                bytes: Some(1500),
                last_error: Some("connection refused".into()),
            }
        );
    }
}
