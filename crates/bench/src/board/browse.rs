//! Pages open on the board, and clients hammering it: HTTP against `gdt serve`'s reader API,
//! each request timed from before it is sent to after its last byte is read (the body is
//! counted, not parsed, so the harness spends little of the machine on it).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::header::{ETAG, IF_NONE_MATCH};
use serde::Serialize;

use crate::error::{Error, Result};
use crate::report::{round, Percentiles};

/// `GET /api/v1/environments`.
pub const ENVIRONMENTS: &str = "/api/v1/environments";
/// `GET /api/v1/dora?windows=7,30`.
pub const DORA: &str = "/api/v1/dora";
/// `GET /api/v1/environments/history`.
pub const HISTORY: &str = "/api/v1/environments/history";

/// A lane as the board lists it, for history requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownLane {
    /// `owner/name`.
    pub repository: String,
    /// The service, if the lane has one.
    pub service: Option<String>,
    /// The environment.
    pub environment: String,
}

/// How often a page asks for what.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// The lanes (sending back the last `ETag`).
    pub environments: Duration,
    /// The delivery metrics of 7 and 30 days.
    pub dora: Duration,
    /// A random lane's history.
    pub history: Duration,
}

/// The page's cadence: lanes every 5 s, DORA every 30 s, a history every 15 s.
pub const PAGE: Cadence = Cadence {
    environments: Duration::from_secs(5),
    dora: Duration::from_secs(30),
    history: Duration::from_secs(15),
};

/// One request and what came back.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Which route ([`ENVIRONMENTS`], [`DORA`], [`HISTORY`]).
    pub route: &'static str,
    /// Sent → last byte read.
    pub elapsed: Duration,
    /// The status code; `None` when no answer came.
    pub status: Option<u16>,
    /// Body bytes read.
    pub bytes: usize,
}

/// One route's requests over a phase.
#[derive(Debug, Clone, Serialize)]
pub struct RouteStats {
    /// Requests sent.
    pub requests: usize,
    /// Answered `200`.
    pub ok: usize,
    /// Answered `304 Not Modified` (the page's `ETag` still held).
    pub not_modified: usize,
    /// `not_modified / (ok + not_modified)`.
    pub not_modified_share: f64,
    /// Any other answer, or none.
    pub failed: usize,
    /// Response time of the `200` and `304` answers.
    pub response_ms: Option<Percentiles>,
    /// Mean body size of a `200`.
    pub bytes_per_ok: f64,
    /// Body bytes read in all.
    pub bytes_total: u64,
    /// Requests per second of the phase.
    pub requests_per_second: f64,
}

impl RouteStats {
    /// Stats of `samples` (one route's), over a phase of `seconds`.
    pub fn of(samples: &[&Sample], seconds: f64) -> RouteStats {
        let ok = samples.iter().filter(|s| s.status == Some(200)).count();
        let not_modified = samples.iter().filter(|s| s.status == Some(304)).count();
        let answered: Vec<f64> = samples
            .iter()
            .filter(|s| matches!(s.status, Some(200 | 304)))
            .map(|s| s.elapsed.as_secs_f64() * 1000.0)
            .collect();
        let ok_bytes: usize = samples
            .iter()
            .filter(|s| s.status == Some(200))
            .map(|s| s.bytes)
            .sum();
        RouteStats {
            requests: samples.len(),
            ok,
            not_modified,
            not_modified_share: round(not_modified as f64 / (ok + not_modified).max(1) as f64),
            failed: samples.len() - ok - not_modified,
            response_ms: Percentiles::of(&answered),
            bytes_per_ok: round(ok_bytes as f64 / ok.max(1) as f64),
            bytes_total: samples.iter().map(|s| s.bytes as u64).sum(),
            requests_per_second: round(samples.len() as f64 / seconds.max(1e-9)),
        }
    }

    /// Stats per route of `samples`.
    pub fn by_route(samples: &[Sample], seconds: f64) -> BTreeMap<String, RouteStats> {
        let mut routes: BTreeMap<&str, Vec<&Sample>> = BTreeMap::new();
        for sample in samples {
            routes.entry(sample.route).or_default().push(sample);
        }
        routes
            .into_iter()
            .map(|(route, samples)| (route.to_owned(), RouteStats::of(&samples, seconds)))
            .collect()
    }
}

/// A client of the reader API: its own connection, as each browser has.
#[derive(Clone)]
pub struct Reader {
    http: reqwest::Client,
    api: String,
    token: String,
}

impl Reader {
    /// A client of `api` presenting `token`.
    pub fn new(api: &str, token: &str) -> Result<Reader> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Usage(format!("cannot build an HTTP client: {e}")))?;
        Ok(Reader {
            http,
            api: api.to_owned(),
            token: token.to_owned(),
        })
    }

    /// `GET route?query`, sending `etag` back when given; the sample and the answer's `ETag`.
    pub async fn get(
        &self,
        route: &'static str,
        query: &[(&str, &str)],
        etag: Option<&str>,
    ) -> (Sample, Option<String>) {
        let mut request = self
            .http
            .get(format!("{}{route}", self.api))
            .bearer_auth(&self.token)
            .query(query);
        if let Some(tag) = etag {
            request = request.header(IF_NONE_MATCH, tag);
        }
        let began = Instant::now();
        let (status, bytes, tag) = match request.send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let tag = response
                    .headers()
                    .get(ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let mut bytes = 0;
                let mut complete = true;
                loop {
                    match response.chunk().await {
                        Ok(Some(chunk)) => bytes += chunk.len(),
                        Ok(None) => break,
                        Err(_) => {
                            complete = false;
                            break;
                        }
                    }
                }
                (complete.then_some(status), bytes, tag)
            }
            Err(_) => (None, 0, None),
        };
        let sample = Sample {
            route,
            elapsed: began.elapsed(),
            status,
            bytes,
        };
        (sample, tag)
    }

    /// `GET route?query` and its body as JSON (for the warm-up, which reads the lanes).
    pub async fn json(&self, route: &str, query: &[(&str, &str)]) -> Result<serde_json::Value> {
        let response = self
            .http
            .get(format!("{}{route}", self.api))
            .bearer_auth(&self.token)
            .query(query)
            .send()
            .await
            .map_err(|e| Error::Usage(format!("GET {route}: no answer: {e}")))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::Usage(format!("GET {route}: unreadable body: {e}")))?;
        if !status.is_success() {
            return Err(Error::Usage(format!(
                "GET {route} answered {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        serde_json::from_slice(&body).map_err(|e| Error::Parse(format!("GET {route}: {e}")))
    }
}

/// One open page until `until`: the lanes every `cadence.environments` (with the last
/// `ETag`), the delivery metrics every `cadence.dora`, a random lane's history every
/// `cadence.history`; each first request `offset` after the start, so pages do not ask in
/// step.
pub async fn page(
    reader: Reader,
    lanes: &[ShownLane],
    cadence: Cadence,
    offset: Duration,
    until: Instant,
) -> Vec<Sample> {
    let start = Instant::now() + offset;
    let mut next = [start, start + cadence.dora / 7, start + cadence.history / 3];
    let mut etag: Option<String> = None;
    let mut samples = Vec::new();
    loop {
        let (which, &due) = next
            .iter()
            .enumerate()
            .min_by_key(|(_, t)| **t)
            .expect("three routes");
        if due >= until {
            return samples;
        }
        tokio::time::sleep_until(due.into()).await;
        match which {
            0 => {
                let (sample, tag) = reader.get(ENVIRONMENTS, &[], etag.as_deref()).await;
                if tag.is_some() {
                    etag = tag;
                }
                samples.push(sample);
                next[0] += cadence.environments;
            }
            1 => {
                samples.push(reader.get(DORA, &[("windows", "7,30")], None).await.0);
                next[1] += cadence.dora;
            }
            _ => {
                if !lanes.is_empty() {
                    let lane = &lanes[rand::random_range(0..lanes.len())];
                    let mut query = vec![
                        ("repository", lane.repository.as_str()),
                        ("environment", lane.environment.as_str()),
                    ];
                    if let Some(service) = &lane.service {
                        query.push(("service", service.as_str()));
                    }
                    samples.push(reader.get(HISTORY, &query, None).await.0);
                }
                next[2] += cadence.history;
            }
        }
    }
}

/// A client asking for the lanes again as soon as each answer is read, without `ETag`,
/// until `until`.
pub async fn hammer(reader: Reader, until: Instant) -> Vec<Sample> {
    let mut samples = Vec::new();
    while Instant::now() < until {
        samples.push(reader.get(ENVIRONMENTS, &[], None).await.0);
    }
    samples
}

/// `gdt serve`'s Temporal requests so far by operation (`temporal_request_total` of its
/// `/metrics`); empty when it cannot be read.
pub async fn temporal_requests(metrics_url: Option<&str>) -> BTreeMap<String, f64> {
    let Some(url) = metrics_url else {
        return BTreeMap::new();
    };
    let text = async { reqwest::get(url).await?.text().await };
    match tokio::time::timeout(Duration::from_secs(10), text).await {
        Ok(Ok(text)) => requests_by_operation(&text),
        _ => BTreeMap::new(),
    }
}

/// `temporal_request_total` summed by its `operation` label, from Prometheus text.
pub fn requests_by_operation(text: &str) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let Some(labels) = line.strip_prefix("temporal_request_total{") else {
            continue;
        };
        let Some((labels, value)) = labels.rsplit_once("} ") else {
            continue;
        };
        let Some(operation) = labels
            .split_once("operation=\"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(op, _)| op)
        else {
            continue;
        };
        if let Ok(value) = value.trim().parse::<f64>() {
            *counts.entry(operation.to_owned()).or_insert(0.0) += value;
        }
    }
    counts
}

/// `after − before`, per key, leaving out what did not change.
pub fn delta(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v != 0.0)
        .collect()
}

/// The lanes of an `/api/v1/environments` answer.
/// Lanes of a `/environments` answer whose deployment in place does not show its outcome
/// (the GitHub deployment id) yet.
pub fn outcomes_missing(body: &serde_json::Value) -> usize {
    body["lanes"].as_array().map_or(0, |lanes| {
        lanes
            .iter()
            .filter(|lane| {
                lane["current"].is_object() && lane["current"]["deployment_id"].is_null()
            })
            .count()
    })
}

pub fn shown_lanes(body: &serde_json::Value) -> Vec<ShownLane> {
    body["lanes"]
        .as_array()
        .map(|lanes| {
            lanes
                .iter()
                .filter_map(|lane| {
                    Some(ShownLane {
                        repository: lane["repository"].as_str()?.to_owned(),
                        service: lane["service"].as_str().map(str::to_owned),
                        environment: lane["environment"].as_str()?.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sample(route: &'static str, ms: u64, status: Option<u16>, bytes: usize) -> Sample {
        Sample {
            route,
            elapsed: Duration::from_millis(ms),
            status,
            bytes,
        }
    }

    #[test]
    fn route_stats_time_answers_and_count_not_modified() {
        let samples = vec![
            sample(ENVIRONMENTS, 40, Some(200), 1000),
            sample(ENVIRONMENTS, 10, Some(304), 0),
            sample(ENVIRONMENTS, 20, Some(304), 0),
            sample(ENVIRONMENTS, 5, Some(503), 120),
            sample(ENVIRONMENTS, 1, None, 0),
            sample(DORA, 30, Some(200), 500),
        ];
        let routes = RouteStats::by_route(&samples, 10.0);
        let env = &routes[ENVIRONMENTS];
        assert_eq!(
            (env.requests, env.ok, env.not_modified, env.failed),
            (5, 1, 2, 2)
        );
        assert_eq!(env.not_modified_share, 0.667);
        assert_eq!(env.bytes_per_ok, 1000.0);
        assert_eq!(env.bytes_total, 1120);
        assert_eq!(env.requests_per_second, 0.5);
        let p = env.response_ms.expect("answered");
        assert_eq!((p.count, p.p50, p.max), (3, 20.0, 40.0));
        assert_eq!(routes[DORA].ok, 1);
        assert!(!routes.contains_key(HISTORY));
    }

    #[test]
    fn temporal_requests_are_summed_by_operation() {
        let text = "# TYPE temporal_request_total counter\n\
            temporal_request_total{namespace=\"default\",operation=\"ListWorkflowExecutions\",service_name=\"x\"} 3\n\
            temporal_request_total{operation=\"ListWorkflowExecutions\",task_queue=\"q\"} 2\n\
            temporal_request_total{operation=\"GetWorkflowExecutionHistory\"} 7\n\
            temporal_request_failure_total{operation=\"GetWorkflowExecutionHistory\"} 1\n";
        let counts = requests_by_operation(text);
        assert_eq!(
            counts,
            BTreeMap::from([
                ("GetWorkflowExecutionHistory".to_owned(), 7.0),
                ("ListWorkflowExecutions".to_owned(), 5.0),
            ])
        );
        let later = BTreeMap::from([
            ("GetWorkflowExecutionHistory".to_owned(), 7.0),
            ("ListWorkflowExecutions".to_owned(), 9.0),
        ]);
        assert_eq!(
            delta(&counts, &later),
            BTreeMap::from([("ListWorkflowExecutions".to_owned(), 4.0)])
        );
    }

    #[test]
    fn lanes_are_read_from_the_answer() {
        let body = json!({"lanes": [
            {"repository": "o/a", "service": null, "environment": "production"},
            {"repository": "o/b", "service": "api", "environment": "dev"},
            {"repository": "o/c"},
        ]});
        assert_eq!(
            shown_lanes(&body),
            vec![
                ShownLane {
                    repository: "o/a".into(),
                    service: None,
                    environment: "production".into()
                },
                ShownLane {
                    repository: "o/b".into(),
                    service: Some("api".into()),
                    environment: "dev".into()
                },
            ]
        );
        assert!(shown_lanes(&json!({})).is_empty());
    }
}
