//! Test support: a real Temporal dev server (one per test binary), the GitHub sandbox over
//! real HTTP, `gdt worker` as its own process, and the `gdt` CLI.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use gdt_github_sandbox::{SandboxApp, SandboxConfig, SpawnedSandbox};
use gdt_tracker::dev_server::DevServerCommand;

/// The `temporal` CLI: `GDT_TEMPORAL_CLI` (set by the Makefile), else `.venv/bin/temporal` at
/// the workspace root, else `temporal` on PATH.
pub fn temporal_cli() -> PathBuf {
    if let Ok(path) = std::env::var("GDT_TEMPORAL_CLI") {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/temporal");
    if venv.exists() {
        return venv;
    }
    PathBuf::from("temporal")
}

/// The variables that put a process's health and metrics listeners on loopback ports of its
/// own, so processes of parallel tests never compete for 8080 and 9090.
pub fn probe_ports(health: u16, metrics: u16) -> [(&'static str, String); 2] {
    [
        ("GDT_APP_HEALTH_PORT", health.to_string()),
        ("GDT_APP_METRICS_PORT", metrics.to_string()),
    ]
}

/// Free loopback ports for [`probe_ports`].
pub fn free_probe_ports() -> [(&'static str, String); 2] {
    probe_ports(free_port(), free_port())
}

/// A port nothing listens on, for a child process to bind.
///
/// Taken below Linux's ephemeral range (32768–60999): a port the kernel hands out (to an
/// outgoing connection, or a listener on port 0) could be taken by another process between
/// this check and the child's bind, and the child would fail with "address in use". Below the
/// range only explicit binds compete, and a counter keeps this binary's picks apart; it starts
/// at an offset from the process id, so two test binaries running at once rarely meet.
fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let offset = std::process::id() * 97;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (offset + n) % COUNT) as u16;
        let free = std::net::TcpListener::bind(("0.0.0.0", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            return port;
        }
    }
    panic!("no free port between {FIRST} and {}", FIRST + COUNT)
}

/// The address of this test binary's Temporal dev server, started on first use.
///
/// A watchdog shell stops the server when this test process exits, so no server outlives
/// the tests even though statics are never dropped.
pub fn temporal_address() -> &'static str {
    static ADDRESS: OnceLock<String> = OnceLock::new();
    ADDRESS.get_or_init(|| {
        let server = DevServerCommand::new(temporal_cli(), free_port(), free_port())
            .headless()
            .log_level("error");
        // The server runs under a watchdog shell (as `"$@"`, so no argument is re-quoted)
        // that stops it once this test process is gone.
        let script = format!(
            "\"$@\" >/dev/null 2>&1 & server=$!; \
             while kill -0 {parent} 2>/dev/null; do sleep 1; done; kill $server; wait $server",
            parent = std::process::id(),
        );
        // The watchdog outlives every test on purpose and ends with the test process, so it
        // is never waited for.
        #[allow(clippy::zombie_processes)]
        Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("temporal-watchdog")
            .arg(server.cli())
            .args(server.args())
            .stdin(Stdio::null())
            .spawn()
            .expect("cannot start the Temporal dev server watchdog");
        let address = server.address();
        wait_until(
            Duration::from_secs(60),
            "the Temporal dev server to listen",
            || std::net::TcpStream::connect(&address).is_ok(),
        );
        address
    })
}

/// Polls `check` every 100 ms until it holds, or panics naming `what`.
pub fn wait_until(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A sandbox with a GitHub App (id 1, installation 1) whose key is in a temp dir.
pub struct GitHub {
    pub sandbox: SpawnedSandbox,
    pub key_path: PathBuf,
    pub dir: tempfile::TempDir,
    http: reqwest::Client,
}

impl GitHub {
    pub async fn start() -> GitHub {
        GitHub::start_with_app(SandboxApp::generate(1, 1)).await
    }

    /// A sandbox whose App (id 1, installation 1) has its own slug, so its bot is not the
    /// bot that acts for the plain token (`gdt-sandbox[bot]`).
    pub async fn start_with_app_slug(slug: &str) -> GitHub {
        let (mut app, private_key) = SandboxApp::generate(1, 1);
        app.slug = slug.to_owned();
        GitHub::start_with_app((app, private_key)).await
    }

    async fn start_with_app((app, private_key): (SandboxApp, String)) -> GitHub {
        let dir = tempfile::tempdir().expect("tempdir");
        let key_path = dir.path().join("github-app.pem");
        std::fs::write(&key_path, private_key).expect("write key");
        let sandbox = gdt_github_sandbox::spawn(SandboxConfig {
            apps: vec![app],
            tokens: vec!["test-token".to_owned()],
            ..SandboxConfig::default()
        })
        .await
        .expect("sandbox");
        GitHub {
            sandbox,
            key_path,
            dir,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> &str {
        &self.sandbox.base_url
    }

    /// The sandbox's request journal.
    pub async fn journal(&self) -> Vec<serde_json::Value> {
        self.http
            .get(format!("{}/_sandbox/requests", self.url()))
            .send()
            .await
            .expect("journal")
            .json()
            .await
            .expect("journal json")
    }

    /// Journal entries of one method whose path ends with `suffix` and that succeeded.
    pub async fn count(&self, method: &str, suffix: &str) -> usize {
        self.journal()
            .await
            .iter()
            .filter(|e| {
                e["method"] == method
                    && e["path"].as_str().is_some_and(|p| p.ends_with(suffix))
                    && e["status"]
                        .as_u64()
                        .is_some_and(|s| (200..300).contains(&s))
            })
            .count()
    }

    pub async fn fault(&self, fault: serde_json::Value) {
        let status = self
            .http
            .post(format!("{}/_sandbox/faults", self.url()))
            .json(&fault)
            .send()
            .await
            .expect("fault")
            .status();
        assert!(status.is_success(), "fault not accepted: {status}");
    }

    /// A GET on the GitHub API with the sandbox's plain token.
    pub async fn get(&self, path: &str) -> serde_json::Value {
        self.http
            .get(format!("{}{path}", self.url()))
            .bearer_auth("test-token")
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("get json")
    }

    /// The statuses of deployment `id` in `repo` as the sandbox holds them, oldest first.
    pub async fn statuses(&self, repo: &str, id: impl std::fmt::Display) -> Vec<serde_json::Value> {
        let answer = self
            .get(&format!(
                "/repos/{repo}/deployments/{id}/statuses?per_page=100"
            ))
            .await;
        let mut list = answer
            .as_array()
            .unwrap_or_else(|| panic!("statuses: {answer}"))
            .clone();
        list.reverse();
        list
    }

    /// The states of those statuses, oldest first.
    pub async fn states(&self, repo: &str, id: impl std::fmt::Display) -> Vec<String> {
        self.statuses(repo, id)
            .await
            .iter()
            .map(|s| s["state"].as_str().expect("a state").to_owned())
            .collect()
    }

    /// Polls until deployment `id` of `repo` holds exactly the states `want`, for at most
    /// `timeout`, and returns its statuses, oldest first.
    pub async fn statuses_become(
        &self,
        repo: &str,
        id: u64,
        want: &[&str],
        timeout: Duration,
    ) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let statuses = self.statuses(repo, id).await;
            let states: Vec<&str> = statuses
                .iter()
                .map(|s| s["state"].as_str().unwrap_or("?"))
                .collect();
            if states == want {
                return statuses;
            }
            assert!(
                Instant::now() < deadline,
                "{repo} deployment {id}: states {states:?}, want {want:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Environment that points `gdt` at Temporal and this sandbox, on task queue `queue`.
    pub fn env(&self, queue: &str) -> Vec<(String, String)> {
        vec![
            ("GDT_TEMPORAL_HOST_PORT".into(), temporal_address().into()),
            ("GDT_TEMPORAL_TASK_QUEUE".into(), queue.into()),
            ("GDT_GITHUB_BASE_URL".into(), self.url().into()),
            ("GDT_GITHUB_APP_ID".into(), "1".into()),
            ("GDT_GITHUB_INSTALLATION_ID".into(), "1".into()),
            (
                "GITHUB_APP_PRIVATE_KEY_PATH".into(),
                self.key_path.display().to_string(),
            ),
            (
                "GDT_GITHUB_RATE_LIMIT_INITIAL_BACKOFF".into(),
                "100ms".into(),
            ),
            ("GDT_APP_LOG_FORMAT".into(), "json".into()),
            ("GDT_APP_LOG_LEVEL".into(), "info".into()),
            ("GDT_PR_CHECKS_TASK_QUEUE".into(), format!("{queue}-pr")),
            ("GITHUB_WEBHOOK_SECRET".into(), WEBHOOK_SECRET.into()),
        ]
    }
}

/// A unique task queue per test, so tests sharing a server never steal each other's tasks.
pub fn queue(test: &str) -> String {
    format!("gdt-test-{test}-{}", std::process::id())
}

fn gdt_command(env: &[(String, String)], cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gdt"));
    // No developer configuration leaks in: run in an empty directory with a clean env.
    cmd.current_dir(cwd).env_clear();
    for key in ["PATH", "HOME"] {
        if let Ok(v) = std::env::var(key) {
            cmd.env(key, v);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    cmd
}

/// `gdt worker` as its own process, its probes on free ports; killed when dropped.
pub struct WorkerProcess {
    child: Child,
    pub log: PathBuf,
    /// `http://127.0.0.1:<app.health_port>`.
    pub health: String,
    /// `http://127.0.0.1:<app.metrics_port>`.
    pub metrics: String,
}

impl WorkerProcess {
    pub fn start(env: &[(String, String)], dir: &Path) -> WorkerProcess {
        let (health, metrics) = (free_port(), free_port());
        let log = dir.join(format!("worker-{health}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = gdt_command(env, dir)
            .arg("worker")
            .envs(probe_ports(health, metrics))
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start gdt worker");
        WorkerProcess {
            child,
            log,
            health: format!("http://127.0.0.1:{health}"),
            metrics: format!("http://127.0.0.1:{metrics}"),
        }
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs a `gdt` CLI command.
pub fn gdt(env: &[(String, String)], dir: &Path, args: &[&str]) -> Output {
    gdt_command(env, dir).args(args).output().expect("run gdt")
}

/// Runs a `gdt` CLI command with `--output json`, asserts success and parses stdout.
pub fn gdt_json(env: &[(String, String)], dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--output", "json"]);
    let out = gdt(env, dir, &all);
    assert!(
        out.status.success(),
        "gdt {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "gdt {args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs the `temporal` CLI against the test server.
pub fn temporal(args: &[&str]) -> Output {
    Command::new(temporal_cli())
        .args(args)
        .args(["--address", temporal_address()])
        .output()
        .expect("run temporal")
}

/// A Temporal client of the shared test server's `default` namespace.
pub async fn client() -> temporalio_client::Client {
    use temporalio_client::{Client, ClientOptions, Connection, ConnectionOptions};
    let target = url::Url::parse(&format!("http://{}", temporal_address())).expect("url");
    let connection = Connection::connect(ConnectionOptions::new(target).build())
        .await
        .expect("connect to Temporal");
    Client::new(connection, ClientOptions::new("default").build()).expect("client")
}

/// Replays a finished workflow's recorded history against today's workflow code: fails
/// when the code would no longer make the same decisions (a determinism break). Any of the
/// tracker's workflows (deployments, lanes, both PR checks, the PR clean-up and the watchers
/// of others' deployments).
pub async fn replay(workflow_id: &str) {
    use gdt_tracker::deployments::GitHubDeploymentWorkflow;
    use gdt_tracker::external::ExternalDeploymentWorkflow;
    use gdt_tracker::pr_checks::{PluginUpdateValidationWorkflow, VersionValidationWorkflow};
    use temporalio_client::WorkflowFetchHistoryOptions;
    use temporalio_sdk::workflow_replayer::{WorkflowReplayer, WorkflowReplayerOptions};

    let history = client()
        .await
        .get_workflow_handle::<GitHubDeploymentWorkflow>(workflow_id.to_owned())
        .fetch_history(WorkflowFetchHistoryOptions::default());
    let options = WorkflowReplayerOptions::new()
        .register_workflow::<GitHubDeploymentWorkflow>()
        .expect("register")
        .register_workflow::<PluginUpdateValidationWorkflow>()
        .expect("register")
        .register_workflow::<VersionValidationWorkflow>()
        .expect("register")
        .register_workflow::<gdt_tracker::pr_checks::CheckRunClaimWorkflow>()
        .expect("register")
        .register_workflow::<gdt_tracker::lanes::LaneWorkflow>()
        .expect("register")
        .register_workflow::<ExternalDeploymentWorkflow>()
        .expect("register")
        .register_workflow::<gdt_tracker::pr_cleanup::PullRequestCleanupWorkflow>()
        .expect("register")
        .build();
    let replayer = WorkflowReplayer::new(options).expect("replayer");
    replayer
        .replay_workflow(history)
        .await
        .unwrap_or_else(|e| panic!("replay of {workflow_id} failed: {e}"));
}

/// The webhook secret the test servers verify deliveries with.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret";

/// The API token the test servers accept (the second one is "the token being rotated in").
pub const API_TOKEN: &str = "test-api-token-0123456789abcdef";
pub const API_TOKEN_NEXT: &str = "test-api-token-next-fedcba9876543210";

/// The HTTP API of a `gdt serve`, with the test token; every error must be a problem.
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

impl Api {
    pub fn new(server: &ServerProcess) -> Api {
        Api {
            http: reqwest::Client::new(),
            base: server.api.clone(),
        }
    }

    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        let response = request.send().await.expect("request");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .unwrap_or_default();
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        if !status.is_success() {
            assert_eq!(
                content_type, "application/problem+json",
                "errors are problem details: {status} {body}"
            );
            assert_eq!(body["status"], status.as_u16(), "{body}");
        }
        (status, body)
    }

    pub async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(
            self.http
                .post(format!("{}{path}", self.base))
                .bearer_auth(API_TOKEN)
                .json(body),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> (reqwest::StatusCode, serde_json::Value) {
        self.send(
            self.http
                .get(format!("{}{path}", self.base))
                .bearer_auth(API_TOKEN),
        )
        .await
    }

    /// Polls `GET /api/v1/deployments/{id}` until `done` holds for the answer, for at most
    /// `timeout`; `what` names the wait in the failure.
    pub async fn wait_for_deployment(
        &self,
        id: &str,
        what: &str,
        timeout: Duration,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let (status, view) = self.get(&format!("/api/v1/deployments/{id}")).await;
            if status == reqwest::StatusCode::OK && done(&view) {
                return view;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "deployment {id}: never {what}: {status} {view}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `gdt serve` as its own process on free ports; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub api: String,
    pub health: String,
    /// `http://127.0.0.1:<app.metrics_port>`.
    pub metrics: String,
    pub log: PathBuf,
}

impl ServerProcess {
    /// Starts `gdt serve` with `env` (plus listen addresses and tokens) and waits until it
    /// says where it listens. The API binds port 0, so its address comes from the server
    /// itself and two tests can never end up talking to one server.
    pub fn start(env: &[(String, String)], dir: &Path) -> ServerProcess {
        let (health_port, metrics_port) = (free_port(), free_port());
        let log = dir.join(format!("server-{health_port}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let mut child = gdt_command(env, dir)
            .arg("serve")
            .env("GDT_SERVER_LISTEN", "127.0.0.1:0")
            .envs(probe_ports(health_port, metrics_port))
            .env(
                "INTERNAL_API_SHARED_SECRET",
                format!("{API_TOKEN}, {API_TOKEN_NEXT}"),
            )
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start gdt serve");
        let mut started = serde_json::Value::Null;
        wait_until(Duration::from_secs(30), "gdt serve to start", || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "gdt serve exited ({status}): {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
            started = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["message"] == "API server started")
                .unwrap_or_default();
            !started.is_null()
        });
        ServerProcess {
            child,
            api: format!("http://{}", started["api"].as_str().expect("api address")),
            health: format!(
                "http://{}",
                started["health"].as_str().expect("health address")
            ),
            metrics: format!("http://127.0.0.1:{metrics_port}"),
            log,
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().expect("wait for gdt serve")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private Temporal dev server this test may stop; stopped when dropped.
pub struct PrivateTemporal {
    child: Child,
    pub address: String,
    server: DevServerCommand,
}

impl PrivateTemporal {
    pub fn start() -> PrivateTemporal {
        PrivateTemporal::start_with_namespaces(&[])
    }

    /// A private server with these namespaces besides `default`.
    pub fn start_with_namespaces(namespaces: &[&str]) -> PrivateTemporal {
        PrivateTemporal::start_with(namespaces, None)
    }

    /// A private server keeping its state in a SQLite file, so it can be restarted.
    pub fn start_on_sqlite(db: &Path) -> PrivateTemporal {
        PrivateTemporal::start_with(&[], Some(db))
    }

    fn start_with(namespaces: &[&str], db: Option<&Path>) -> PrivateTemporal {
        let mut server = DevServerCommand::new(temporal_cli(), free_port(), free_port())
            .headless()
            .log_level("error")
            .db_file(db);
        for namespace in namespaces {
            server = server.namespace(namespace);
        }
        let address = server.address();
        let child = PrivateTemporal::spawn(&server);
        PrivateTemporal {
            child,
            address,
            server,
        }
    }

    fn spawn(server: &DevServerCommand) -> Child {
        let child = server
            .command()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a private Temporal dev server");
        wait_until(
            Duration::from_secs(60),
            "the private Temporal dev server to listen",
            || std::net::TcpStream::connect(server.address()).is_ok(),
        );
        child
    }

    /// Starts the server again, same port and flags (and SQLite file, if any).
    pub fn restart(&mut self) {
        self.stop();
        self.child = PrivateTemporal::spawn(&self.server);
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for PrivateTemporal {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Everything one end-to-end test needs: the sandbox, a task queue of its own, a worker and
/// (when asked) the API server, all in a scratch directory.
pub struct Harness {
    pub github: GitHub,
    pub env: Vec<(String, String)>,
    pub dir: tempfile::TempDir,
    pub worker: WorkerProcess,
}

impl Harness {
    pub async fn start(test: &str) -> Harness {
        Harness::start_on(test, temporal_address()).await
    }

    /// A harness on another Temporal server (e.g. a [`PrivateTemporal`]).
    pub async fn start_on(test: &str, temporal: &str) -> Harness {
        let github = GitHub::start().await;
        let mut env = github.env(&queue(test));
        env.retain(|(k, _)| k != "GDT_TEMPORAL_HOST_PORT");
        env.push(("GDT_TEMPORAL_HOST_PORT".into(), temporal.to_owned()));
        let dir = tempfile::tempdir().expect("tempdir");
        let worker = WorkerProcess::start(&env, dir.path());
        Harness {
            github,
            env,
            dir,
            worker,
        }
    }

    /// `gdt serve` with this harness's configuration.
    pub fn serve(&self) -> ServerProcess {
        ServerProcess::start(&self.env, self.dir.path())
    }
}
