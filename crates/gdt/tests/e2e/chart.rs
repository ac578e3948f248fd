//! The Helm chart's configuration works: `helm template` renders deploy/helm/gdt with
//! ci/e2e-test.yaml, and the worker and API containers it describes are run as processes, with
//! the rendered `config.yaml`, the Deployments' environment and their mounted files, against the
//! dev server and the sandbox.
//!
//! The containers' filesystems are emulated under a scratch root: each volumeMount's
//! `mountPath` becomes `<root><mountPath>`, holding what Kubernetes would put there (the
//! ConfigMap's keys, the Secret's items), and every mentioned path in the environment and in
//! `config.yaml` is moved the same way. So the test catches a config path that no volume
//! provides, a Secret item under the wrong name, a variable the process does not read, or a
//! command that is not the one the Deployment should run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::support::{gdt, queue, temporal_address, GitHub, ServerProcess, WorkerProcess};

/// The Secret ci/e2e-test.yaml names.
const SECRET: &str = "gdt-e2e";
/// The API token in that Secret's `api-tokens` file (not the helpers' own test token, so a
/// successful call proves the file was read).
const CHART_API_TOKEN: &str = "chart-e2e-api-token-5f1c9a";
/// The read-only viewer token in that Secret's `viewer-tokens` file (board.viewer_tokens_file).
const CHART_VIEWER_TOKEN: &str = "chart-e2e-viewer-token-8e2d71";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `helm template` of the chart with `values` (a file in deploy/helm/gdt/ci/) and `sets`, as
/// JSON documents.
fn render(values: &str, sets: &[(&str, String)]) -> Vec<Value> {
    let root = workspace();
    let helm = root.join(".tools/bin/helm");
    assert!(
        helm.exists(),
        "{} is missing: run make bootstrap",
        helm.display()
    );
    let chart = root.join("deploy/helm/gdt");
    let mut cmd = Command::new(&helm);
    cmd.args(["template", "gdt"])
        .arg(&chart)
        .arg("-f")
        .arg(chart.join("ci").join(values));
    for (key, value) in sets {
        cmd.arg("--set-string").arg(format!("{key}={value}"));
    }
    let out = cmd.output().expect("run helm");
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("helm output is UTF-8");
    serde_norway::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("rendered YAML"))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("the chart rendered no {kind} {name}"))
}

/// One container of a rendered Deployment, set up on disk as Kubernetes would.
struct Container {
    /// The Deployment's `args` (the image's entrypoint is `gdt`).
    args: Vec<String>,
    /// Its environment, `secretKeyRef`s resolved from the test's Secret values.
    env: Vec<(String, String)>,
    /// `mountPath` -> where it lives under the scratch root.
    mounts: Vec<(String, String)>,
}

impl Container {
    /// Lays out the `gdt` container of Deployment `name`: its volumes' files under `root`.
    /// `secret(name, key)` is what Secret `name` holds under `key` (`vault` stands for the
    /// Vault agent injector's files).
    fn materialise(
        docs: &[Value],
        name: &str,
        secret: &dyn Fn(&str, &str) -> String,
        root: &Path,
    ) -> Container {
        let deployment = find(docs, "Deployment", name);
        let pod = &deployment["spec"]["template"]["spec"];
        let container = pod["containers"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] == "gdt"))
            .unwrap_or_else(|| panic!("{name} has no container gdt"));
        let mut mounts = Vec::new();
        // The Vault agent injector writes one file per agent-inject-secret-<file> annotation
        // to /vault/secrets/ in every container.
        let annotations = &deployment["spec"]["template"]["metadata"]["annotations"];
        if annotations["vault.hashicorp.com/agent-inject"] == "true" {
            let dir = root.join("vault/secrets");
            std::fs::create_dir_all(&dir).expect("vault dir");
            for key in annotations.as_object().expect("annotations").keys() {
                if let Some(file) = key.strip_prefix("vault.hashicorp.com/agent-inject-secret-") {
                    std::fs::write(dir.join(file), secret("vault", file)).expect("write");
                }
            }
            mounts.push(("/vault/secrets".to_owned(), dir.display().to_string()));
        }
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let path = mount["mountPath"].as_str().expect("mountPath").to_owned();
            let dir = root.join(path.trim_start_matches('/'));
            std::fs::create_dir_all(&dir).expect("mount dir");
            let volume = pod["volumes"]
                .as_array()
                .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]))
                .unwrap_or_else(|| panic!("{name}: no volume {}", mount["name"]));
            if let Some(config_map) = volume.get("configMap") {
                let data = &find(
                    docs,
                    "ConfigMap",
                    config_map["name"].as_str().expect("name"),
                )["data"];
                for (key, text) in data.as_object().expect("data") {
                    std::fs::write(dir.join(key), text.as_str().expect("text")).expect("write");
                }
            } else if let Some(secret_volume) = volume.get("secret") {
                let secret_name = secret_volume["secretName"].as_str().expect("secretName");
                let items = secret_volume["items"]
                    .as_array()
                    .unwrap_or_else(|| panic!("{name}: Secret volume without items"));
                for item in items {
                    let key = item["key"].as_str().expect("key");
                    let file = item["path"].as_str().expect("path");
                    std::fs::write(dir.join(file), secret(secret_name, key)).expect("write");
                }
            } else {
                panic!("{name}: the test cannot emulate volume {volume}");
            }
            mounts.push((path, dir.display().to_string()));
        }

        let mut env = Vec::new();
        for var in container["env"].as_array().into_iter().flatten() {
            let key = var["name"].as_str().expect("name").to_owned();
            let value = if let Some(value) = var["value"].as_str() {
                value.to_owned()
            } else if let Some(from) = var["valueFrom"].get("secretKeyRef") {
                secret(
                    from["name"].as_str().expect("name"),
                    from["key"].as_str().expect("key"),
                )
            } else {
                panic!("{name}: the test cannot resolve env {var}");
            };
            env.push((key, value));
        }
        let args = container["args"]
            .as_array()
            .expect("args")
            .iter()
            .map(|a| a.as_str().expect("arg").to_owned())
            .collect();
        let container = Container { args, env, mounts };
        let env = container
            .env
            .iter()
            .map(|(k, v)| (k.clone(), container.moved(v)))
            .collect();
        // config.yaml names the mounted files: move its paths like the environment's.
        for (_, dir) in &container.mounts {
            let file = Path::new(dir).join("config.yaml");
            if let Ok(text) = std::fs::read_to_string(&file) {
                std::fs::write(&file, container.moved(&text)).expect("rewrite config.yaml");
            }
        }
        Container { env, ..container }
    }

    /// `text` with every mount path moved under the scratch root.
    fn moved(&self, text: &str) -> String {
        self.mounts
            .iter()
            .fold(text.to_owned(), |t, (from, to)| t.replace(from, to))
    }
}

/// Polls `{base}/ready` until it answers 200, for at most a minute.
async fn wait_ready(base: &str, what: &str, logs: impl Fn() -> String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = reqwest::get(format!("{base}/ready")).await;
        if answer.as_ref().is_ok_and(|r| r.status() == StatusCode::OK) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{what} never became ready: {answer:?}\n{}",
            logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configuration_the_chart_renders_runs_the_worker_and_the_api() {
    let github = GitHub::start().await;
    let task_queue = queue("chart");
    let docs = render(
        "e2e-test.yaml",
        &[
            ("config.temporal.host_port", temporal_address().to_owned()),
            ("config.temporal.task_queue", task_queue.clone()),
            ("config.pr_checks.task_queue", format!("{task_queue}-pr")),
            ("config.github.base_url", github.url().to_owned()),
        ],
    );

    // What the Secret gdt-e2e would hold.
    let key = std::fs::read_to_string(&github.key_path).expect("sandbox App key");
    let secrets: BTreeMap<(&str, &str), String> = BTreeMap::from([
        ((SECRET, "github-app-private-key.pem"), key),
        (
            (SECRET, "api-tokens"),
            format!("# rotated monthly\n{CHART_API_TOKEN}\n"),
        ),
        (
            (SECRET, "webhook-secrets"),
            "chart-e2e-webhook-secret\n".to_owned(),
        ),
        (
            (SECRET, "viewer-tokens"),
            format!("# the board's readers\n{CHART_VIEWER_TOKEN}\n"),
        ),
    ]);

    let dir = tempfile::tempdir().expect("tempdir");
    let secret = |name: &str, key: &str| -> String {
        secrets
            .get(&(name, key))
            .unwrap_or_else(|| panic!("the test has no value for Secret {name} key {key}"))
            .clone()
    };
    let worker = Container::materialise(&docs, "gdt-worker", &secret, &dir.path().join("worker"));
    let api = Container::materialise(&docs, "gdt-api", &secret, &dir.path().join("api"));
    assert_eq!(worker.args, ["worker"]);
    assert_eq!(api.args, ["serve"]);
    assert!(
        worker.env.iter().any(|(k, _)| k == "GDT_CONFIG"),
        "the worker is not pointed at config.yaml: {:?}",
        worker.env
    );

    // `gdt config check` accepts what each container gets: the file, the variables, the
    // mounted key, tokens and secrets.
    for (name, container) in [("worker", &worker), ("api", &api)] {
        let out = gdt(&container.env, dir.path(), &["config", "check"]);
        assert!(
            out.status.success(),
            "gdt config check with the chart's {name} configuration failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // The processes the containers would run, with that configuration (on free probe ports).
    let worker_process = WorkerProcess::start(&worker.env, dir.path());
    let server = ServerProcess::start(&api.env, dir.path());
    wait_ready(&worker_process.health, "the chart's worker", || {
        worker_process.logs()
    })
    .await;
    wait_ready(&server.health, "the chart's API", || server.logs()).await;

    // A pipeline's deployment through the API, with the token from the mounted file, reaches
    // GitHub through the worker.
    let workflow_id = format!("chart-{}", std::process::id());
    let request = json!({
        "workflow_id": workflow_id,
        "repo_owner": "acme",
        "repo_name": "api",
        "commit_sha": "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d",
        "branch_name": "main",
        "environment": "staging",
        "status": "queued"
    });
    let client = reqwest::Client::new();
    let post = |token: &str| {
        client
            .post(format!("{}/api/v1/deployments", server.api))
            .bearer_auth(token)
            .json(&request)
            .send()
    };
    let answer = post(CHART_API_TOKEN)
        .await
        .expect("POST /api/v1/deployments");
    let status = answer.status();
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{body}\nserver: {}\nworker: {}",
        server.logs(),
        worker_process.logs()
    );
    assert!(
        body["deployment_id"].as_u64().is_some(),
        "no GitHub deployment id: {body}\nworker: {}",
        worker_process.logs()
    );
    assert_eq!(github.count("POST", "/repos/acme/api/deployments").await, 1);

    // The viewer token from the mounted viewer-tokens file reads, and may not write.
    let read = client
        .get(format!("{}/api/v1/deployments/{workflow_id}", server.api))
        .bearer_auth(CHART_VIEWER_TOKEN)
        .send()
        .await
        .expect("GET /api/v1/deployments/{id}");
    assert_eq!(read.status(), StatusCode::OK, "{}", server.logs());
    let write = post(CHART_VIEWER_TOKEN)
        .await
        .expect("POST /api/v1/deployments");
    assert_eq!(write.status(), StatusCode::FORBIDDEN, "{}", server.logs());
}

/// What a Secret would hold under `key`, for the values files in ci/ whose Secrets the test
/// does not know by name: a real RSA key where a PEM private key goes, a PEM-shaped certificate,
/// a line of text elsewhere.
fn any_secret(github_key: &str, key: &str) -> String {
    if key.ends_with("private-key.pem") || key == "tls.key" {
        github_key.to_owned()
    } else if key.ends_with(".crt") {
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_owned()
    } else {
        format!("value-of-{key}\n")
    }
}

/// Every values file in ci/ renders a configuration `gdt config check` accepts, in both
/// containers, with the files its volumes (or the Vault injector) provide; and each says what
/// the file is for.
#[tokio::test]
async fn every_values_file_in_ci_renders_a_configuration_gdt_accepts() {
    let github = GitHub::start().await;
    let key = std::fs::read_to_string(&github.key_path).expect("sandbox App key");
    let ci = workspace().join("deploy/helm/gdt/ci");
    let mut files: Vec<String> = std::fs::read_dir(&ci)
        .expect("ci/")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "values files in ci/: {files:?}");

    // What each values file is for, as `gdt config check --output json` shows it.
    let expectations: &[(&str, &str, Value)] = &[
        (
            "ghes.yaml",
            "/github/enterprise_host",
            json!("github.company.com"),
        ),
        ("ghes.yaml", "/github/enterprise", json!(true)),
        ("mtls.yaml", "/temporal/tls/enabled", json!(true)),
        (
            "temporal-cloud.yaml",
            "/temporal/api_key",
            json!("<redacted>"),
        ),
        ("temporal-cloud.yaml", "/temporal/tls/enabled", json!(true)),
        ("production.yaml", "/github/app_id", json!(123456)),
        ("dev.yaml", "/github/token", json!("<redacted>")),
    ];

    for file in &files {
        let docs = render(file, &[]);
        // A Secret the chart made (mode dev) holds its own values.
        let made = |name: &str, key: &str| -> Option<String> {
            docs.iter()
                .find(|d| d["kind"] == "Secret" && d["metadata"]["name"] == name)
                .and_then(|d| d["stringData"][key].as_str().map(str::to_owned))
        };
        let secret = |name: &str, k: &str| made(name, k).unwrap_or_else(|| any_secret(&key, k));
        let dir = tempfile::tempdir().expect("tempdir");
        for deployment in ["gdt-worker", "gdt-api"] {
            let root = dir.path().join(deployment);
            let container = Container::materialise(&docs, deployment, &secret, &root);
            let out = gdt(
                &container.env,
                dir.path(),
                &["config", "check", "--output", "json"],
            );
            assert!(
                out.status.success(),
                "ci/{file}: gdt config check in {deployment} failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stderr),
                String::from_utf8_lossy(&out.stdout)
            );
            let checked: Value = serde_json::from_slice(&out.stdout).expect("config check JSON");
            for (_, pointer, want) in expectations.iter().filter(|(f, ..)| f == file) {
                assert_eq!(
                    checked["config"].pointer(pointer),
                    Some(want),
                    "ci/{file}: {pointer} in {deployment}"
                );
            }
        }
    }
}
