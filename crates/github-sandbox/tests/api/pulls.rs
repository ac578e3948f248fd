use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use crate::helpers::{assert_valid, spawn_app, TestApp, PULL_REQUEST_SCHEMA};

const HEAD: &str = "1111111111111111111111111111111111111111";
const NEXT_HEAD: &str = "2222222222222222222222222222222222222222";
const THIRD_HEAD: &str = "3333333333333333333333333333333333333333";

/// `count` added files named `file-0000`... with one line each.
fn added_files(count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| json!({"filename": format!("file-{i:04}"), "status": "added", "content": format!("line {i}\n")}))
        .collect()
}

/// Decodes a contents answer's `content`, checking GitHub's 60-character
/// lines on the way.
fn decoded(contents: &Value) -> String {
    let content = contents["content"].as_str().expect("content");
    assert!(content.ends_with('\n'), "{content:?}");
    let lines: Vec<&str> = content.trim_end_matches('\n').split('\n').collect();
    let (last, full) = lines.split_last().expect("at least one line");
    assert!(full.iter().all(|line| line.len() == 60), "{content:?}");
    assert!(!last.is_empty() && last.len() <= 60, "{content:?}");
    let bytes = STANDARD.decode(lines.concat()).expect("base64");
    String::from_utf8(bytes).expect("utf-8")
}

async fn create_example(app: &TestApp) -> Value {
    app.create_pull(
        "acme/shop",
        json!({
            "number": 7,
            "base_ref": "main",
            "head_ref": "feature/x",
            "head_sha": HEAD,
            "title": "Bump the plugin",
            "files": [
                {"filename": "src/lib.rs", "status": "added", "content": LIB_RS},
                {"filename": "README.md", "status": "modified", "content": "# Shop\n", "additions": 1, "deletions": 2},
                {"filename": "old.txt", "status": "removed"},
                {"filename": "new/name.txt", "status": "renamed", "previous_filename": "old/name.txt", "content": "moved\n"},
            ],
        }),
    )
    .await
}

/// Long enough for several base64 lines, with multi-byte characters.
const LIB_RS: &str = "//! Ünïcödé crate docs.\npub fn answer() -> u32 {\n    42\n}\n\npub const NAME: &str = \"shop\";\n";

#[tokio::test]
async fn created_pull_request_is_a_schema_valid_pull_request() {
    let app = spawn_app().await;
    let main_sha = app.deploy("acme/shop", json!({"ref": "main"})).await["sha"].clone();
    let created = create_example(&app).await;
    let answer = app.get("/repos/acme/shop/pulls/7").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.header("x-ratelimit-remaining").is_some());
    let pull = &answer.body;
    assert_valid(&PULL_REQUEST_SCHEMA, pull);
    assert_eq!(pull, &created, "creating answers with the pull request");
    // The schemas are closed down to the nested repository and users, so a
    // stray field anywhere would fail the check above.
    for pointer in ["", "/head/repo", "/base/repo/owner", "/_links/self"] {
        let mut stray = pull.clone();
        if let Some(object) = stray.pointer_mut(pointer).and_then(Value::as_object_mut) {
            object.insert("stray".to_owned(), json!(1));
        }
        assert!(!PULL_REQUEST_SCHEMA.is_valid(&stray), "{pointer}");
    }

    let base = &app.server.base_url;
    assert_eq!(pull["number"], 7);
    assert_eq!(pull["state"], "open");
    assert_eq!(pull["title"], "Bump the plugin");
    assert_eq!(pull["draft"], false);
    assert_eq!(pull["merged"], false);
    assert_eq!(
        pull["url"],
        json!(format!("{base}/repos/acme/shop/pulls/7"))
    );
    assert_eq!(pull["html_url"], json!(format!("{base}/acme/shop/pull/7")));
    assert_eq!(
        pull["diff_url"],
        json!(format!("{base}/acme/shop/pull/7.diff"))
    );
    assert_eq!(pull["head"]["ref"], "feature/x");
    assert_eq!(pull["head"]["sha"], HEAD);
    assert_eq!(pull["head"]["label"], "acme:feature/x");
    assert_eq!(pull["head"]["repo"]["full_name"], "acme/shop");
    assert_eq!(pull["head"]["repo"]["default_branch"], "main");
    assert_eq!(pull["base"]["ref"], "main");
    // The base is the same `main` deployments resolve.
    assert_eq!(pull["base"]["sha"], main_sha);
    assert_eq!(pull["user"]["login"], "acme");
    assert_eq!(pull["changed_files"], 4);
    // LIB_RS has 6 lines, README.md counts what was given, moved\n is 0:
    // only added files count their lines by default.
    assert_eq!(pull["additions"], 7);
    assert_eq!(pull["deletions"], 2);
    assert_eq!(pull["commits"], 1);
    assert_eq!(pull["comments"], 0);
}

#[tokio::test]
async fn unknown_pull_requests_are_404() {
    let app = spawn_app().await;
    create_example(&app).await;
    for path in [
        "/repos/acme/shop/pulls/8",
        "/repos/acme/shop/pulls/abc",
        "/repos/acme/other/pulls/7",
        "/repos/acme/shop/pulls/8/files",
    ] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(
            answer.body,
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
            "{path}"
        );
    }
}

#[tokio::test]
async fn files_paginate_with_link_headers() {
    let app = spawn_app().await;
    let mut files = added_files(249);
    files.push(json!({"filename": "b.txt", "status": "renamed", "previous_filename": "a.txt", "content": "x", "patch": "@@ -1 +1 @@"}));
    app.create_pull(
        "acme/big",
        json!({"number": 1, "base_ref": "main", "head_ref": "many", "head_sha": HEAD, "files": files}),
    )
    .await;
    let url = format!("{}/repos/acme/big/pulls/1/files", app.server.base_url);

    let page1 = app.get("/repos/acme/big/pulls/1/files?per_page=100").await;
    assert_eq!(page1.status, 200, "{}", page1.text);
    let items = page1.body.as_array().expect("array");
    assert_eq!(items.len(), 100);
    assert_eq!(
        page1.header("link"),
        Some(
            format!(
                "<{url}?per_page=100&page=2>; rel=\"next\", <{url}?per_page=100&page=3>; rel=\"last\""
            )
            .as_str()
        )
    );
    let first = &items[0];
    let base = &app.server.base_url;
    assert_eq!(first["filename"], "file-0000");
    assert_eq!(first["status"], "added");
    assert_eq!(
        (first["additions"].as_u64(), first["deletions"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(first["changes"], 1);
    assert_eq!(first["patch"], "@@ -0,0 +1,1 @@\n+line 0");
    assert_eq!(
        first["blob_url"],
        json!(format!("{base}/acme/big/blob/{HEAD}/file-0000"))
    );
    assert_eq!(
        first["raw_url"],
        json!(format!("{base}/acme/big/raw/{HEAD}/file-0000"))
    );
    assert_eq!(
        first["contents_url"],
        json!(format!(
            "{base}/repos/acme/big/contents/file-0000?ref={HEAD}"
        ))
    );
    let sha = first["sha"].as_str().expect("sha");
    assert!(sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(first.get("previous_filename").is_none());

    let page2 = app
        .get("/repos/acme/big/pulls/1/files?per_page=100&page=2")
        .await;
    assert_eq!(page2.body.as_array().map(Vec::len), Some(100));
    assert_eq!(
        page2.header("link"),
        Some(
            format!(
                "<{url}?per_page=100&page=1>; rel=\"prev\", <{url}?per_page=100&page=3>; rel=\"next\", \
                 <{url}?per_page=100&page=3>; rel=\"last\", <{url}?per_page=100&page=1>; rel=\"first\""
            )
            .as_str()
        )
    );

    let page3 = app
        .get("/repos/acme/big/pulls/1/files?per_page=100&page=3")
        .await;
    let items = page3.body.as_array().expect("array");
    assert_eq!(items.len(), 50);
    let renamed = &items[49];
    assert_eq!(renamed["filename"], "b.txt");
    assert_eq!(renamed["previous_filename"], "a.txt");
    assert_eq!(renamed["patch"], "@@ -1 +1 @@");
    assert_eq!(
        page3.header("link"),
        Some(
            format!(
                "<{url}?per_page=100&page=2>; rel=\"prev\", <{url}?per_page=100&page=1>; rel=\"first\""
            )
            .as_str()
        )
    );

    // Default page size 30; per_page is capped at 100.
    let default = app.get("/repos/acme/big/pulls/1/files").await;
    assert_eq!(default.body.as_array().map(Vec::len), Some(30));
    assert!(default
        .header("link")
        .is_some_and(|l| l.ends_with(&format!("<{url}?page=9>; rel=\"last\""))));
    let capped = app.get("/repos/acme/big/pulls/1/files?per_page=500").await;
    assert_eq!(capped.body.as_array().map(Vec::len), Some(100));
}

#[tokio::test]
async fn no_page_lists_files_beyond_3000() {
    let app = spawn_app().await;
    app.create_pull(
        "acme/huge",
        json!({"number": 2, "base_ref": "main", "head_ref": "huge", "head_sha": HEAD, "files": added_files(3100)}),
    )
    .await;
    let first = app.get("/repos/acme/huge/pulls/2/files?per_page=100").await;
    assert!(first
        .header("link")
        .is_some_and(|l| l.ends_with("per_page=100&page=30>; rel=\"last\"")));
    let last = app
        .get("/repos/acme/huge/pulls/2/files?per_page=100&page=30")
        .await;
    let items = last.body.as_array().expect("array");
    assert_eq!(items.len(), 100);
    assert_eq!(items[99]["filename"], "file-2999");
    assert!(!last
        .header("link")
        .unwrap_or_default()
        .contains("rel=\"next\""));
    let beyond = app
        .get("/repos/acme/huge/pulls/2/files?per_page=100&page=31")
        .await;
    assert_eq!((beyond.status, beyond.body), (200, json!([])));
    // The pull request itself still counts every file.
    let pull = app.get("/repos/acme/huge/pulls/2").await;
    assert_eq!(pull.body["changed_files"], 3100);
}

#[tokio::test]
async fn contents_round_trip_at_the_head_sha_its_prefix_and_branch() {
    let app = spawn_app().await;
    create_example(&app).await;
    let files = app.get("/repos/acme/shop/pulls/7/files").await;
    let blob_sha = files.body[0]["sha"].clone();
    let base = &app.server.base_url;

    let at_sha = app
        .get(&format!("/repos/acme/shop/contents/src/lib.rs?ref={HEAD}"))
        .await;
    assert_eq!(at_sha.status, 200, "{}", at_sha.text);
    let c = &at_sha.body;
    assert_eq!(decoded(c), LIB_RS);
    assert_eq!(c["type"], "file");
    assert_eq!(c["encoding"], "base64");
    assert_eq!(c["size"], LIB_RS.len());
    assert_eq!(c["name"], "lib.rs");
    assert_eq!(c["path"], "src/lib.rs");
    assert_eq!(c["sha"], blob_sha);
    let url = format!("{base}/repos/acme/shop/contents/src/lib.rs?ref={HEAD}");
    assert_eq!(c["url"], json!(url));
    assert_eq!(c["_links"]["self"], json!(url));
    let git_url = format!(
        "{base}/repos/acme/shop/git/blobs/{}",
        blob_sha.as_str().unwrap_or_default()
    );
    assert_eq!(c["git_url"], json!(git_url));
    assert_eq!(c["_links"]["git"], json!(git_url));
    assert_eq!(
        c["html_url"],
        json!(format!("{base}/acme/shop/blob/{HEAD}/src/lib.rs"))
    );
    assert_eq!(c["_links"]["html"], c["html_url"]);
    assert_eq!(
        c["download_url"],
        json!(format!("{base}/acme/shop/raw/{HEAD}/src/lib.rs"))
    );

    // The same file by abbreviated SHA, by branch (plain and qualified) and
    // without a ref (the latest created or updated head).
    for git_ref in [&HEAD[..7], "feature/x", "refs/heads/feature/x"] {
        let answer = app
            .get(&format!(
                "/repos/acme/shop/contents/src/lib.rs?ref={git_ref}"
            ))
            .await;
        assert_eq!(answer.status, 200, "{git_ref}: {}", answer.text);
        assert_eq!(decoded(&answer.body), LIB_RS, "{git_ref}");
        assert_eq!(answer.body["sha"], blob_sha, "{git_ref}");
    }
    let by_branch = app
        .get("/repos/acme/shop/contents/src/lib.rs?ref=feature/x")
        .await;
    assert_eq!(
        by_branch.body["url"],
        json!(format!(
            "{base}/repos/acme/shop/contents/src/lib.rs?ref=feature%2Fx"
        ))
    );
    let no_ref = app.get("/repos/acme/shop/contents/src/lib.rs").await;
    assert_eq!(decoded(&no_ref.body), LIB_RS);
    let renamed = app
        .get("/repos/acme/shop/contents/new/name.txt?ref=feature/x")
        .await;
    assert_eq!(decoded(&renamed.body), "moved\n");
}

#[tokio::test]
async fn removed_missing_and_unknown_refs_are_404() {
    let app = spawn_app().await;
    create_example(&app).await;
    let not_found = json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"});
    for path in [
        format!("/repos/acme/shop/contents/old.txt?ref={HEAD}"),
        format!("/repos/acme/shop/contents/old/name.txt?ref={HEAD}"),
        format!("/repos/acme/shop/contents/missing.txt?ref={HEAD}"),
        "/repos/acme/shop/contents/old.txt".to_owned(),
        // `main` exists, but no file was given on it.
        "/repos/acme/shop/contents/src/lib.rs?ref=main".to_owned(),
        // No pull request was created in this repository.
        "/repos/acme/empty/contents/src/lib.rs".to_owned(),
        // A directory.
        format!("/repos/acme/shop/contents/src?ref={HEAD}"),
    ] {
        let answer = app.get(&path).await;
        assert_eq!((answer.status, &answer.body), (404, &not_found), "{path}");
    }
    let unknown = app
        .get("/repos/acme/shop/contents/src/lib.rs?ref=no/such-branch")
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.body,
        json!({
            "message": "No commit found for the ref no/such-branch",
            "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content",
            "status": "404"
        })
    );
}

#[tokio::test]
async fn moving_the_head_keeps_old_contents_readable_by_sha() {
    let app = spawn_app().await;
    let first = app
        .create_pull(
            "o/r",
            json!({"number": 3, "base_ref": "main", "head_ref": "topic", "head_sha": HEAD,
                   "files": [{"filename": "a.txt", "status": "added", "content": "v1\n"}]}),
        )
        .await;
    let moved = app
        .move_pull(
            "o/r",
            3,
            &json!({"head_sha": NEXT_HEAD, "files": [
                {"filename": "a.txt", "status": "added", "content": "v2\n"},
                {"filename": "b.txt", "status": "added", "content": "new\n"},
            ]}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    assert_valid(&PULL_REQUEST_SCHEMA, &moved.body);
    assert_eq!(moved.body["head"]["sha"], NEXT_HEAD);
    assert_eq!(moved.body["id"], first["id"]);
    assert_eq!(moved.body["commits"], 2);
    assert_eq!(moved.body["changed_files"], 2);
    assert_eq!(app.get("/repos/o/r/pulls/3").await.body, moved.body);

    let names: Vec<Value> = app
        .get("/repos/o/r/pulls/3/files")
        .await
        .body
        .as_array()
        .expect("array")
        .iter()
        .map(|f| f["filename"].clone())
        .collect();
    assert_eq!(names, [json!("a.txt"), json!("b.txt")]);

    let app = &app;
    let read = |git_ref: &str, path: &str| {
        let query = if git_ref.is_empty() {
            String::new()
        } else {
            format!("?ref={git_ref}")
        };
        let path = format!("/repos/o/r/contents/{path}{query}");
        async move { app.get(&path).await }
    };
    assert_eq!(decoded(&read(HEAD, "a.txt").await.body), "v1\n");
    assert_eq!(decoded(&read(NEXT_HEAD, "a.txt").await.body), "v2\n");
    assert_eq!(decoded(&read("topic", "a.txt").await.body), "v2\n");
    assert_eq!(decoded(&read("", "a.txt").await.body), "v2\n");
    assert_eq!(read(HEAD, "b.txt").await.status, 404);

    // Deployments resolve the branch to the moved head too.
    let deployment = app.deploy("o/r", json!({"ref": "topic"})).await;
    assert_eq!(deployment["sha"], NEXT_HEAD);

    // A title alone leaves the head and files; a head alone carries the files over.
    let titled = app.move_pull("o/r", 3, &json!({"title": "Renamed"})).await;
    assert_eq!(titled.status, 200);
    assert_eq!(
        (
            titled.body["title"].clone(),
            titled.body["head"]["sha"].clone()
        ),
        (json!("Renamed"), json!(NEXT_HEAD))
    );
    let carried = app
        .move_pull("o/r", 3, &json!({"head_sha": THIRD_HEAD}))
        .await;
    assert_eq!(carried.body["changed_files"], 2);
    assert_eq!(decoded(&read(THIRD_HEAD, "b.txt").await.body), "new\n");
    assert_eq!(decoded(&read(NEXT_HEAD, "b.txt").await.body), "new\n");

    // Moving back to an earlier head finds that head's files again.
    let back = app.move_pull("o/r", 3, &json!({"head_sha": HEAD})).await;
    assert_eq!(back.body["changed_files"], 1);
    assert_eq!(decoded(&read("topic", "a.txt").await.body), "v1\n");
    assert_eq!(read("", "b.txt").await.status, 404);

    // Creating the number again replaces the pull request but keeps its id.
    let replaced = app
        .create_pull(
            "o/r",
            json!({"number": 3, "base_ref": "develop", "head_ref": "other", "head_sha": HEAD}),
        )
        .await;
    assert_eq!(replaced["id"], first["id"]);
    assert_eq!(replaced["base"]["ref"], "develop");
    assert_eq!(replaced["changed_files"], 0);
    assert_eq!(replaced["commits"], 1);
}

#[tokio::test]
async fn invalid_pull_requests_are_400_and_updates_of_unknown_ones_404() {
    let app = spawn_app().await;
    let valid = json!({"number": 1, "base_ref": "main", "head_ref": "x", "head_sha": HEAD});
    let with = |key: &str, value: Value| {
        let mut body = valid.clone();
        body[key] = value;
        body
    };
    for body in [
        with("head_sha", json!("abc1234")),
        with("number", json!(0)),
        with("head_ref", json!("")),
        with("colour", json!("red")),
        with(
            "files",
            json!([{"filename": "a", "status": "added"}, {"filename": "a", "status": "added"}]),
        ),
        with(
            "files",
            json!([{"filename": "a", "status": "removed", "content": "x"}]),
        ),
        with("files", json!([{"filename": "a", "status": "renamed"}])),
        with("files", json!([{"filename": "a", "status": "deleted"}])),
        with("files", json!([{"filename": "/a", "status": "added"}])),
        json!({"number": 1, "base_ref": "main", "head_sha": HEAD}),
    ] {
        let answer = app.create_pull_answer("o/r", &body).await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.text);
        assert!(answer.body["message"].is_string(), "{}", answer.text);
    }
    assert_eq!(app.get("/repos/o/r/pulls/1").await.status, 404);

    assert_eq!(
        app.move_pull("o/r", 1, &json!({"title": "t"})).await.status,
        404
    );
    app.create_pull("o/r", valid).await;
    let mismatch = app.move_pull("o/r", 1, &json!({"number": 2})).await;
    assert_eq!(mismatch.status, 400, "{}", mismatch.text);
    let bad_sha = app.move_pull("o/r", 1, &json!({"head_sha": "main"})).await;
    assert_eq!(bad_sha.status, 400, "{}", bad_sha.text);
}

#[tokio::test]
async fn new_routes_go_through_faults_quota_and_journal() {
    let app = spawn_app().await;
    create_example(&app).await;
    app.add_fault(json!({"method": "GET", "path": "/repos/*/*/pulls/*/files", "kind": "500"}))
        .await;
    let faulted = app.get("/repos/acme/shop/pulls/7/files").await;
    assert_eq!(faulted.status, 500);
    let ok = app.get("/repos/acme/shop/pulls/7/files").await;
    assert_eq!(ok.status, 200);
    let contents = app.get("/repos/acme/shop/contents/README.md").await;
    assert_eq!(contents.status, 200);
    // Three answers so far, two of them counted (a fault fires before the count).
    assert_eq!(contents.header_u64("x-ratelimit-used"), 2);
    let unauthenticated = app
        .send(app.client.get(app.url("/repos/acme/shop/pulls/7")))
        .await;
    assert_eq!(unauthenticated.status, 401);

    let journal = app.journal().await;
    let summary: Vec<(String, u64)> = journal
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    // The pull request went through the controls and is not journaled.
    assert_eq!(
        summary,
        [
            ("/repos/acme/shop/pulls/7/files".to_owned(), 500),
            ("/repos/acme/shop/pulls/7/files".to_owned(), 200),
            ("/repos/acme/shop/contents/README.md".to_owned(), 200),
            ("/repos/acme/shop/pulls/7".to_owned(), 401),
        ]
    );
    assert_eq!(journal[0]["fault"], "500");
}
