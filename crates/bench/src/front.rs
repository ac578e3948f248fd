//! The `api` and `webhooks` scenarios of `gdt-bench run`: the front door, `gdt serve`, under
//! HTTP load, with `gdt worker` behind it.
//!
//! - **api**: `--api-requests` pipelines each `POST /api/v1/deployments` (which starts the
//!   workflow and waits up to `server.deployment_id_wait` for the GitHub deployment id), then
//!   `POST /api/v1/deployments/{id}/status` with `success`; the harness then waits for every
//!   workflow's result.
//! - **webhooks**: `--webhooks` pull requests are created in the sandbox, then GitHub's real
//!   `pull_request.opened` payload (fixtures/github-webhooks), moved to each of them and
//!   signed with the run's webhook secret, is delivered to `POST /webhook`, which verifies
//!   the signature and starts both checks; the harness then waits for every check's result.
//!   Then each pull request gets a second head (the sandbox's control route moves it) and
//!   GitHub's `synchronize` delivery for it, and the harness waits again: a later push; then a
//!   third, the steady state of a pull request. What each push cost GitHub is read from the
//!   sandbox's journal per pushed head, by endpoint, split into requests counted against the
//!   rate limit and free ones (`304 Not Modified` to a conditional request).
//!
//! Each request's response time is taken from before it is sent to after its body is read, on
//! connections kept alive as a CI system's HTTP client (or GitHub's) would. Both scenarios get
//! a fresh `gdt serve` and `gdt worker`, so the CPU each used is the scenario's own. The API
//! token and the webhook secret are made up per run and reach the server only through its
//! environment.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use gdt_server::deployments::{DeploymentStarted, StartDeployment};
use gdt_tracker::deployments::model::DEFAULT_INACTIVITY_TIMEOUT_SECS;
use gdt_tracker::pr_checks::{
    plugin_workflow_id, version_workflow_id, PluginUpdateValidationWorkflow,
    VersionValidationWorkflow,
};
use serde::Serialize;
use serde_json::{json, Value};
use temporalio_client::{Client, WorkflowGetResultOptions};
use temporalio_common::HasWorkflowDefinition;

use crate::error::{Error, Result};
use crate::github::GitHub;
use crate::journal::{self, Entry};
use crate::load::{self, Driver, Outcome, OWNER};
use crate::processes::{free_port, ProcStats, Slots, Tools, WorkerProcess, WorkerSpec};
use crate::report::{round, Percentiles};

/// GitHub's `pull_request.opened` delivery, verbatim.
const OPENED_FIXTURE: &str =
    include_str!("../../../fixtures/github-webhooks/pull_request.opened.json");
/// GitHub's `pull_request.synchronize` delivery (a push to a pull request), verbatim.
const SYNCHRONIZE_FIXTURE: &str =
    include_str!("../../../fixtures/github-webhooks/pull_request.synchronize.json");

/// How long the harness waits for the workflows a scenario started to finish.
const DRAIN_LIMIT: Duration = Duration::from_secs(300);

/// One batch of HTTP requests against `gdt serve`.
#[derive(Debug, Clone, Serialize)]
pub struct HttpLoad {
    /// Requests sent.
    pub requests: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Answers by status code.
    pub answers: BTreeMap<u16, usize>,
    /// Requests that got no answer (connection refused, reset, timed out).
    pub transport_errors: usize,
    /// First request sent → last answer read.
    pub wall_seconds: f64,
    /// 2xx answers per second of `wall_seconds`.
    pub requests_per_second: f64,
    /// Response time of the 2xx answers.
    pub response_ms: Option<Percentiles>,
    /// Up to 10 answers that were not 2xx, or transport errors, and what they said.
    pub problems: Vec<String>,
}

/// What one request got.
struct Answer {
    elapsed: Duration,
    result: std::result::Result<(u16, Value), String>,
}

impl Answer {
    fn ok(&self) -> Option<&Value> {
        match &self.result {
            Ok((status, body)) if (200..300).contains(status) => Some(body),
            _ => None,
        }
    }
}

impl HttpLoad {
    fn of(answers: &[Answer], concurrency: usize, wall: Duration) -> HttpLoad {
        let mut by_status = BTreeMap::new();
        let mut transport_errors = 0;
        let mut problems = Vec::new();
        let mut ok_ms = Vec::new();
        for answer in answers {
            match &answer.result {
                Ok((status, body)) => {
                    *by_status.entry(*status).or_insert(0) += 1;
                    if (200..300).contains(status) {
                        ok_ms.push(answer.elapsed.as_secs_f64() * 1000.0);
                    } else if problems.len() < 10 {
                        problems.push(format!("{status}: {body}"));
                    }
                }
                Err(e) => {
                    transport_errors += 1;
                    if problems.len() < 10 {
                        problems.push(e.clone());
                    }
                }
            }
        }
        let wall = wall.as_secs_f64();
        HttpLoad {
            requests: answers.len(),
            concurrency,
            answers: by_status,
            transport_errors,
            wall_seconds: round(wall),
            requests_per_second: round(ok_ms.len() as f64 / wall.max(1e-9)),
            response_ms: Percentiles::of(&ok_ms),
            problems,
        }
    }
}

/// CPU and memory of `gdt serve` and `gdt worker` over a scenario.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FrontUsage {
    /// `gdt serve` user + system CPU seconds.
    pub server_cpu_seconds: f64,
    /// `gdt serve` peak RSS (it started just before the scenario).
    pub server_peak_rss_bytes: u64,
    /// `gdt worker` user + system CPU seconds.
    pub worker_cpu_seconds: f64,
    /// `gdt worker` peak RSS.
    pub worker_peak_rss_bytes: u64,
}

/// The `api` scenario.
#[derive(Debug, Serialize)]
pub struct ApiResult {
    /// `POST /api/v1/deployments`, each starting a deployment.
    pub start: HttpLoad,
    /// Of the 2xx starts, how many answered with the GitHub deployment id (the rest were
    /// answered without it after `server.deployment_id_wait`).
    pub started_with_deployment_id: usize,
    /// `POST /api/v1/deployments/{id}/status` with `success`, one per started deployment.
    pub status: HttpLoad,
    /// Workflows that then completed in `success`.
    pub completed: usize,
    /// Up to 10 workflows that did not, and why.
    pub incomplete: Vec<String>,
    /// GitHub requests per started deployment (create, initial status, `success`).
    pub github_requests_per_deployment: f64,
    /// The processes.
    pub usage: FrontUsage,
}

/// The `webhooks` scenario.
#[derive(Debug, Serialize)]
pub struct WebhooksResult {
    /// `POST /webhook` with signed `pull_request` `opened` deliveries.
    pub deliveries: HttpLoad,
    /// Size of each delivery's body.
    pub payload_bytes: usize,
    /// Checks the deliveries accepted (two per pull request: started, or a running one asked
    /// to look again).
    pub checks_started: usize,
    /// Of those, how many completed with no problem in their `Errors`.
    pub checks_completed: usize,
    /// Up to 10 checks that did not, and why.
    pub incomplete: Vec<String>,
    /// First delivery → last check result.
    pub checks_wall_seconds: f64,
    /// `checks_completed / checks_wall_seconds`.
    pub checks_per_second: f64,
    /// GitHub requests per pull request's first push (`opened`), by route, from the sandbox
    /// journal, counted or not (`total`: all of them).
    pub github_requests_per_pull_request: BTreeMap<String, f64>,
    /// `POST /webhook` with the signed `synchronize` deliveries of each pull request's second
    /// head.
    pub later_deliveries: HttpLoad,
    /// Of the checks of the second heads, how many completed with no problem in their
    /// `Errors`.
    pub later_checks_completed: usize,
    /// Up to 10 checks of the second heads that did not, and why.
    pub later_incomplete: Vec<String>,
    /// Of the checks of the third heads, how many completed with no problem in their `Errors`.
    pub steady_checks_completed: usize,
    /// Up to 10 checks of the third heads that did not, and why.
    pub steady_incomplete: Vec<String>,
    /// What a pushed head cost GitHub: the first, second and third push of a pull request.
    pub github_requests_per_pushed_head: PushCosts,
    /// The processes.
    pub usage: FrontUsage,
}

/// What a pushed head cost GitHub: the first push of a pull request, the second (the first
/// after the plugin comment was written) and the third (the steady state).
#[derive(Debug, Clone, Serialize)]
pub struct PushCosts {
    /// The head a pull request was opened with.
    pub first_push: HeadCost,
    /// A second head: the first comment lookups since the first push wrote the plugin comment.
    pub later_push: HeadCost,
    /// A third head with the same verdict: nothing written to the comments since the last
    /// lookups.
    pub steady_push: HeadCost,
}

/// One round of pushed heads.
struct Pushed {
    deliveries: HttpLoad,
    checks_completed: usize,
    incomplete: Vec<String>,
    entries: Vec<Entry>,
}

/// GitHub requests per pushed head, from the sandbox journal.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HeadCost {
    /// Requests counted against the installation's primary rate limit.
    pub counted: f64,
    /// Requests GitHub did not count: `304 Not Modified` to a conditional request.
    pub free: f64,
    /// The same by `METHOD route`: `[counted, free]`.
    pub by_endpoint: BTreeMap<String, [f64; 2]>,
}

impl HeadCost {
    /// The cost of `heads` pushed heads whose requests are `entries`.
    fn of(entries: &[Entry], heads: usize) -> HeadCost {
        let mut counts: BTreeMap<String, [usize; 2]> = BTreeMap::new();
        for entry in entries {
            let slot = counts.entry(journal::route(entry)).or_default();
            slot[usize::from(!entry.counted)] += 1;
        }
        let n = heads.max(1) as f64;
        let per = |count: usize| round(count as f64 / n);
        let counted = entries.iter().filter(|e| e.counted).count();
        HeadCost {
            counted: per(counted),
            free: per(entries.len() - counted),
            by_endpoint: counts
                .into_iter()
                .map(|(route, [c, f])| (route, [per(c), per(f)]))
                .collect(),
        }
    }
}

/// What both scenarios share with the rest of the run.
pub struct Front<'a> {
    /// The programs.
    pub tools: &'a Tools,
    /// The sandbox.
    pub github: &'a GitHub,
    /// Temporal's address.
    pub temporal: String,
    /// A client of it.
    pub client: Client,
    /// Worker task slots.
    pub slots: Slots,
    /// Logs go here.
    pub logs: &'a Path,
    /// The processes' working directory.
    pub work: &'a Path,
}

/// `gdt serve` and `gdt worker` on a task queue of their own.
struct Stack {
    task_queue: String,
    server: WorkerProcess,
    worker: WorkerProcess,
    api: String,
    token: String,
    webhook_secret: String,
    http: reqwest::Client,
}

/// `gdt serve` as its own process, answering on `api` to `token`.
pub struct Served {
    /// The process.
    pub process: WorkerProcess,
    /// `http://127.0.0.1:PORT`.
    pub api: String,
    /// The API token (`INTERNAL_API_SHARED_SECRET`), made up for this run.
    pub token: String,
    /// The webhook secret, made up for this run.
    pub webhook_secret: String,
}

impl Front<'_> {
    /// Starts `gdt serve` for the deployments of `task_queue` and waits until it listens.
    pub async fn serve(&self, task_queue: &str) -> Result<Served> {
        let port = free_port()?;
        let token = secret();
        let webhook_secret = secret();
        let mut env = vec![
            ("GDT_TEMPORAL_HOST_PORT".to_owned(), self.temporal.clone()),
            ("GDT_TEMPORAL_TASK_QUEUE".to_owned(), task_queue.to_owned()),
            (
                "GDT_PR_CHECKS_TASK_QUEUE".to_owned(),
                format!("{task_queue}-pr"),
            ),
            ("GDT_SERVER_LISTEN".to_owned(), format!("127.0.0.1:{port}")),
            ("GDT_APP_HEALTH_PORT".to_owned(), free_port()?.to_string()),
            ("GDT_APP_METRICS_PORT".to_owned(), free_port()?.to_string()),
            ("INTERNAL_API_SHARED_SECRET".to_owned(), token.clone()),
            ("GITHUB_WEBHOOK_SECRET".to_owned(), webhook_secret.clone()),
            ("GDT_APP_LOG_FORMAT".to_owned(), "json".to_owned()),
            ("GDT_APP_LOG_LEVEL".to_owned(), "info".to_owned()),
        ];
        env.extend(self.github.worker_env());
        let mut process = WorkerProcess::start(WorkerSpec {
            name: "gdt serve".into(),
            program: self.tools.gdt.clone(),
            args: vec!["serve".into()],
            env,
            dir: self.work.to_owned(),
            log: self.logs.join(format!("{task_queue}-serve.log")),
            ready_marker: "API server started".into(),
        })?;
        process.wait_ready(Duration::from_secs(60)).await?;
        Ok(Served {
            process,
            api: format!("http://127.0.0.1:{port}"),
            token,
            webhook_secret,
        })
    }

    async fn stack(&self, name: &str) -> Result<Stack> {
        let task_queue = format!("gdt-bench-{name}");
        let mut worker = WorkerProcess::start(WorkerSpec::gdt_worker(
            self.tools,
            &self.temporal,
            &task_queue,
            self.github.worker_env(),
            self.slots,
            self.work,
            self.logs.join(format!("{task_queue}.log")),
        )?)?;
        let served = self.serve(&task_queue).await?;
        worker.wait_ready(Duration::from_secs(60)).await?;
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(usize::MAX)
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Usage(format!("cannot build an HTTP client: {e}")))?;
        Ok(Stack {
            task_queue,
            server: served.process,
            worker,
            api: served.api,
            token: served.token,
            webhook_secret: served.webhook_secret,
            http,
        })
    }

    /// The `api` scenario: `requests` deployments started and finished through the API,
    /// `concurrency` at once.
    pub async fn api(&self, name: &str, requests: usize, concurrency: usize) -> Result<ApiResult> {
        let stack = self.stack(name).await?;
        let before = stack.stats()?;
        let mark = self.github.journal_len();
        let ids: Vec<String> = (0..requests).map(|i| format!("{name}-{i}")).collect();

        let began = Instant::now();
        let starts = concurrently(&ids, concurrency, |index, workflow_id| {
            let body = StartDeployment {
                workflow_id: Some(workflow_id.clone()),
                input: load::deployment_input(
                    name,
                    &format!("{name}-{index}"),
                    index,
                    Duration::from_secs(DEFAULT_INACTIVITY_TIMEOUT_SECS),
                ),
            };
            stack.post_json("/api/v1/deployments".to_owned(), json!(body))
        })
        .await;
        let start = HttpLoad::of(&starts, concurrency, began.elapsed());
        let started: Vec<String> = ids
            .iter()
            .zip(&starts)
            .filter(|(_, a)| a.ok().is_some())
            .map(|(id, _)| id.clone())
            .collect();
        let started_with_deployment_id = starts
            .iter()
            .filter_map(Answer::ok)
            .filter_map(|body| serde_json::from_value::<DeploymentStarted>(body.clone()).ok())
            .filter(|s| s.deployment_id.is_some())
            .count();

        let began = Instant::now();
        let statuses = concurrently(&started, concurrency, |index, workflow_id| {
            stack.post_json(
                format!("/api/v1/deployments/{workflow_id}/status"),
                json!({"status": "success", "event_id": format!("{name}-{index}-done")}),
            )
        })
        .await;
        let status = HttpLoad::of(&statuses, concurrency, began.elapsed());

        let driver = Driver::new(self.client.clone(), &stack.task_queue);
        let deadline = Instant::now() + DRAIN_LIMIT;
        let outcomes = concurrently(&started, concurrency, |_, workflow_id| {
            let driver = driver.clone();
            async move { driver.wait_result(workflow_id, deadline).await.0 }
        })
        .await;
        let mut completed = 0;
        let mut incomplete = Vec::new();
        for (id, outcome) in started.iter().zip(&outcomes) {
            match outcome {
                Outcome::Completed(r) if r.final_status == "success" => completed += 1,
                other if incomplete.len() < 10 => incomplete.push(format!("{id}: {other:?}")),
                _ => {}
            }
        }
        let usage = stack.usage(&before)?;
        let entries = self.github.journal_since(mark).await?;
        drop(stack);
        Ok(ApiResult {
            start,
            started_with_deployment_id,
            status,
            completed,
            incomplete,
            github_requests_per_deployment: round(
                entries.len() as f64 / started.len().max(1) as f64,
            ),
            usage,
        })
    }

    /// The `webhooks` scenario: `pulls` pull requests created, then one signed `opened`
    /// delivery each, `concurrency` at once.
    pub async fn webhooks(
        &self,
        name: &str,
        pulls: usize,
        concurrency: usize,
    ) -> Result<WebhooksResult> {
        let stack = self.stack(name).await?;
        let repo = name.to_owned();
        let numbers: Vec<u64> = (1..=pulls as u64).collect();
        let heads: Vec<String> = numbers.iter().map(|_| load::commit_sha()).collect();
        let created = concurrently(&numbers, concurrency, |i, &number| {
            self.github
                .create_pull(OWNER, &repo, new_pull(number, &heads[i]))
        })
        .await;
        if let Some(Err(e)) = created.into_iter().find(Result::is_err) {
            return Err(e);
        }
        let fixture: Value = serde_json::from_str(OPENED_FIXTURE)
            .map_err(|e| Error::Parse(format!("the pull_request.opened fixture: {e}")))?;
        let bodies: Vec<Vec<u8>> = numbers
            .iter()
            .zip(&heads)
            .map(|(&number, head)| pull_request_delivery(&fixture, &repo, number, head))
            .collect();
        let payload_bytes = bodies.first().map_or(0, Vec::len);

        let before = stack.stats()?;
        let mark = self.github.journal_len();
        let began = Instant::now();
        let answers = concurrently(&bodies, concurrency, |i, body| {
            stack.deliver(format!("{name}-{i}"), body.clone())
        })
        .await;
        let deliveries = HttpLoad::of(&answers, concurrency, began.elapsed());
        let checks_started = answers
            .iter()
            .filter_map(Answer::ok)
            .filter_map(|body| body["checks"].as_array())
            .flatten()
            .filter(|check| check["outcome"] == "checking")
            .count();

        let (checks_completed, incomplete) =
            self.wait_for_checks(&repo, &numbers, concurrency).await;
        let checks_wall = began.elapsed().as_secs_f64();
        let entries = self.github.journal_since(mark).await?;

        // A later push: every pull request gets a second head, and its `synchronize`; then a
        // third, the steady state.
        let later = self
            .push_heads(&stack, name, "later", &numbers, concurrency, 1)
            .await?;
        let steady = self
            .push_heads(&stack, name, "steady", &numbers, concurrency, 2)
            .await?;
        let usage = stack.usage(&before)?;
        drop(stack);
        Ok(WebhooksResult {
            deliveries,
            payload_bytes,
            checks_started,
            checks_completed,
            incomplete,
            checks_wall_seconds: round(checks_wall),
            checks_per_second: round(checks_completed as f64 / checks_wall.max(1e-9)),
            github_requests_per_pull_request: per_route(&entries, pulls),
            github_requests_per_pushed_head: PushCosts {
                first_push: HeadCost::of(&entries, pulls),
                later_push: HeadCost::of(&later.entries, pulls),
                steady_push: HeadCost::of(&steady.entries, pulls),
            },
            later_deliveries: later.deliveries,
            later_checks_completed: later.checks_completed,
            later_incomplete: later.incomplete,
            steady_checks_completed: steady.checks_completed,
            steady_incomplete: steady.incomplete,
            usage,
        })
    }
}

impl Front<'_> {
    /// Pushes a new head (the `push`-th after the first) to every pull request `numbers` of the
    /// scenario `name`, delivers its signed `synchronize` and waits for both checks.
    async fn push_heads(
        &self,
        stack: &Stack,
        name: &str,
        stage: &str,
        numbers: &[u64],
        concurrency: usize,
        push: u32,
    ) -> Result<Pushed> {
        let heads: Vec<String> = numbers.iter().map(|_| load::commit_sha()).collect();
        let moved = concurrently(numbers, concurrency, |i, &number| {
            self.github
                .update_pull(OWNER, name, number, pushed_head(number, push, &heads[i]))
        })
        .await;
        if let Some(Err(e)) = moved.into_iter().find(Result::is_err) {
            return Err(e);
        }
        let fixture: Value = serde_json::from_str(SYNCHRONIZE_FIXTURE)
            .map_err(|e| Error::Parse(format!("the pull_request.synchronize fixture: {e}")))?;
        let bodies: Vec<Vec<u8>> = numbers
            .iter()
            .zip(&heads)
            .map(|(&number, head)| pull_request_delivery(&fixture, name, number, head))
            .collect();
        let mark = self.github.journal_len();
        let began = Instant::now();
        let answers = concurrently(&bodies, concurrency, |i, body| {
            stack.deliver(format!("{name}-{stage}-{i}"), body.clone())
        })
        .await;
        let deliveries = HttpLoad::of(&answers, concurrency, began.elapsed());
        let (checks_completed, incomplete) = self.wait_for_checks(name, numbers, concurrency).await;
        Ok(Pushed {
            deliveries,
            checks_completed,
            incomplete,
            entries: self.github.journal_since(mark).await?,
        })
    }

    /// Waits for both checks of every pull request `numbers` of `repo`: how many completed
    /// with no problem, and up to 10 that did not, with why.
    async fn wait_for_checks(
        &self,
        repo: &str,
        numbers: &[u64],
        concurrency: usize,
    ) -> (usize, Vec<String>) {
        let deadline = Instant::now() + DRAIN_LIMIT;
        let results = concurrently(numbers, concurrency, |_, &number| {
            check_results(&self.client, repo, number, deadline)
        })
        .await;
        let mut completed = 0;
        let mut incomplete = Vec::new();
        for (number, pair) in numbers.iter().zip(results) {
            for (check, outcome) in pair {
                match outcome {
                    Ok(()) => completed += 1,
                    Err(why) if incomplete.len() < 10 => {
                        incomplete.push(format!("{check} of PR #{number}: {why}"));
                    }
                    Err(_) => {}
                }
            }
        }
        (completed, incomplete)
    }
}

impl Stack {
    fn stats(&self) -> Result<(ProcStats, ProcStats)> {
        Ok((self.server.stats()?, self.worker.stats()?))
    }

    fn usage(&self, (server, worker): &(ProcStats, ProcStats)) -> Result<FrontUsage> {
        let (server_now, worker_now) = self.stats()?;
        Ok(FrontUsage {
            server_cpu_seconds: round(server_now.cpu_seconds - server.cpu_seconds),
            server_peak_rss_bytes: server_now.peak_rss_bytes,
            worker_cpu_seconds: round(worker_now.cpu_seconds - worker.cpu_seconds),
            worker_peak_rss_bytes: worker_now.peak_rss_bytes,
        })
    }

    async fn post_json(&self, path: String, body: Value) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(&self.token)
            .json(&body);
        timed(request).await
    }

    async fn deliver(&self, delivery: String, body: Vec<u8>) -> Answer {
        let signature = gdt_server::webhook::signature::sign(&self.webhook_secret, &body);
        let request = self
            .http
            .post(format!("{}/webhook", self.api))
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", signature)
            .body(body);
        timed(request).await
    }
}

/// Sends `request` and reads the whole answer, timing both.
async fn timed(request: reqwest::RequestBuilder) -> Answer {
    let began = Instant::now();
    let result = async {
        let response = request
            .send()
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("{status} with an unreadable body: {e}"))?;
        Ok((
            status,
            serde_json::from_slice(&body).unwrap_or_else(|_| json!(String::from_utf8_lossy(&body))),
        ))
    }
    .await;
    Answer {
        elapsed: began.elapsed(),
        result,
    }
}

/// Runs `call` for every item, `concurrency` at once; the results come back in the items'
/// order. (The HTTP client's connections run as tasks of their own, so the I/O still
/// spreads over every core.)
async fn concurrently<'a, T, R, F, Fut>(items: &'a [T], concurrency: usize, call: F) -> Vec<R>
where
    T: Sync,
    F: Fn(usize, &'a T) -> Fut,
    Fut: Future<Output = R> + 'a,
{
    let call = &call;
    futures::stream::iter(items.iter().enumerate())
        .map(|(i, item)| call(i, item))
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// A made-up credential for this run (64 hex digits).
fn secret() -> String {
    format!(
        "{:032x}{:032x}",
        rand::random::<u128>(),
        rand::random::<u128>()
    )
}

/// A pull request whose code, VERSION and plugin manifest all changed and agree: both checks
/// read every file and pass; the plugin check posts its comment (the version check has
/// nothing to say while the versions agree).
fn new_pull(number: u64, head: &str) -> Value {
    json!({
        "number": number,
        "base_ref": "main",
        "head_ref": format!("feature-{number}"),
        "head_sha": head,
        "files": head_files("1.4.0", "package mcp\n"),
    })
}

/// The `push`-th later head of a pull request: the code changed again and both files moved to
/// the next version together, so both checks pass again with the same verdict (the plugin
/// comment, which names no commit, stays as it is).
fn pushed_head(number: u64, push: u32, head: &str) -> Value {
    json!({
        "head_sha": head,
        "files": head_files(&format!("1.4.{push}"), &format!("package mcp // {number}.{push}\n")),
    })
}

/// Code, VERSION and plugin.json changed, the versions agreeing on `version`.
fn head_files(version: &str, code: &str) -> Value {
    json!([
        {"filename": "internal/mcp/tools.go", "status": "modified", "content": code},
        {"filename": "VERSION", "status": "modified", "content": format!("{version}\n")},
        {"filename": ".claude-plugin/plugin.json", "status": "modified",
         "content": format!("{{\"name\": \"bench\", \"version\": \"{version}\"}}\n")},
    ])
}

/// GitHub's `pull_request` delivery in `fixture` (`opened`, `synchronize`) moved to
/// `OWNER/repo#number` at `head`.
fn pull_request_delivery(fixture: &Value, repo: &str, number: u64, head: &str) -> Vec<u8> {
    let mut payload = fixture.clone();
    payload["number"] = json!(number);
    payload["pull_request"]["number"] = json!(number);
    payload["pull_request"]["head"]["sha"] = json!(head);
    payload["pull_request"]["head"]["ref"] = json!(format!("feature-{number}"));
    payload["repository"]["name"] = json!(repo);
    payload["repository"]["full_name"] = json!(format!("{OWNER}/{repo}"));
    payload["repository"]["owner"]["login"] = json!(OWNER);
    serde_json::to_vec(&payload).unwrap_or_default()
}

/// Waits for both checks of one pull request; `Ok` when a check completed with no errors.
async fn check_results(
    client: &Client,
    repo: &str,
    number: u64,
    deadline: Instant,
) -> Vec<(&'static str, std::result::Result<(), String>)> {
    let plugin = check_result::<PluginUpdateValidationWorkflow>(
        client,
        plugin_workflow_id(OWNER, repo, number),
        deadline,
        |r| {
            (r.reported.errors.is_empty() && r.reported.comment_posted)
                .then_some(())
                .ok_or(r.reported.errors)
        },
    );
    let version = check_result::<VersionValidationWorkflow>(
        client,
        version_workflow_id(OWNER, repo, number),
        deadline,
        |r| {
            (r.reported.errors.is_empty() && r.version_matches)
                .then_some(())
                .ok_or(r.reported.errors)
        },
    );
    let (plugin, version) = futures::join!(plugin, version);
    vec![("plugin check", plugin), ("version check", version)]
}

/// Waits until `deadline` for one check's result; `Ok` when `passed` finds nothing wrong
/// with it, else the check's errors.
async fn check_result<W: HasWorkflowDefinition>(
    client: &Client,
    workflow_id: String,
    deadline: Instant,
    passed: impl FnOnce(W::Output) -> std::result::Result<(), Vec<String>>,
) -> std::result::Result<(), String> {
    let handle = client.get_workflow_handle::<W>(workflow_id);
    let result = handle.get_result(WorkflowGetResultOptions::default());
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, result).await {
        Ok(Ok(output)) => passed(output).map_err(|errors| format!("completed with {errors:?}")),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no result within {DRAIN_LIMIT:?}")),
    }
}

/// Requests per pull request by `METHOD route`, the route with numbers, the owner and the
/// repository replaced by placeholders.
fn per_route(entries: &[Entry], pulls: usize) -> BTreeMap<String, f64> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for entry in entries {
        *counts.entry(journal::route(entry)).or_insert(0) += 1;
    }
    let total = entries.len();
    let n = pulls.max(1) as f64;
    let mut per: BTreeMap<String, f64> = counts
        .into_iter()
        .map(|(route, count)| (route, round(count as f64 / n)))
        .collect();
    per.insert("total".to_owned(), round(total as f64 / n));
    per
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delivery_names_the_created_pull_request() {
        let fixture: Value = serde_json::from_str(OPENED_FIXTURE).expect("fixture");
        let body = pull_request_delivery(&fixture, "r", 7, &"a".repeat(40));
        let event = gdt_server::webhook::event::decode("pull_request", &body).expect("decodes");
        let gdt_server::webhook::event::Delivery::PullRequest(pr) = event else {
            panic!("not a pull request: {event:?}");
        };
        assert_eq!(
            (
                pr.head.owner.as_str(),
                pr.head.repo.as_str(),
                pr.head.number
            ),
            (OWNER, "r", 7)
        );
        assert_eq!(
            (pr.action.as_str(), pr.head.head_sha),
            ("opened", "a".repeat(40))
        );
        assert_eq!(pr.head.head_ref, "feature-7");
    }

    #[test]
    fn http_loads_count_codes_and_time_only_successes() {
        let answer = |ms: u64, result| Answer {
            elapsed: Duration::from_millis(ms),
            result,
        };
        let answers = vec![
            answer(10, Ok((201, json!({})))),
            answer(30, Ok((201, json!({})))),
            answer(5, Ok((503, json!({"code": "temporal_unavailable"})))),
            answer(1, Err("no answer: refused".to_owned())),
        ];
        let load = HttpLoad::of(&answers, 2, Duration::from_secs(1));
        assert_eq!(load.answers, BTreeMap::from([(201, 2), (503, 1)]));
        assert_eq!(load.transport_errors, 1);
        assert_eq!(load.requests_per_second, 2.0);
        let p = load.response_ms.expect("percentiles");
        assert_eq!((p.p50, p.max, p.count), (10.0, 30.0, 2));
        assert_eq!(load.problems.len(), 2);
    }
}
