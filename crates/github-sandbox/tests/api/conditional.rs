//! Conditional requests as GitHub documents them: an `ETag` on every `GET` the tracker and
//! the pull request checks make, a `Last-Modified` on single objects, `304 Not Modified` when
//! the client already has the answer, and no quota used by a `304` to an authorized request.

use serde_json::{json, Value};

use crate::helpers::{
    app_claims, config, jwt, spawn_app, spawn_with, Answer, TestApp, APP_ID, APP_KEY, TOKEN,
};

const HEAD: &str = "e7a9e7a9e7a9e7a9e7a9e7a9e7a9e7a9e7a9e7a9";
const REPO: &str = "acme/shop";

/// A pull request #3 with a file, a deployment with a status, a comment and a check run;
/// returns the deployment id.
async fn setup(app: &TestApp) -> u64 {
    app.create_pull(
        REPO,
        json!({"number": 3, "base_ref": "main", "head_ref": "bump", "head_sha": HEAD,
               "files": [{"filename": "VERSION", "status": "modified", "content": "1.2.3\n"}]}),
    )
    .await;
    let id = app
        .deploy(REPO, json!({"ref": HEAD, "environment": "pr-3"}))
        .await["id"]
        .as_u64()
        .expect("id");
    app.set_status(REPO, id, json!({"state": "in_progress"}))
        .await;
    let comment = app
        .post(
            &format!("/repos/{REPO}/issues/3/comments"),
            &json!({"body": "plan"}),
        )
        .await;
    assert_eq!(comment.status, 201, "{}", comment.text);
    let token = app.installation_token().await;
    let run = app
        .post_as(
            &format!("/repos/{REPO}/check-runs"),
            &token,
            &json!({"name": "plugin", "head_sha": HEAD}),
        )
        .await;
    assert_eq!(run.status, 201, "{}", run.text);
    id
}

/// A GET with the plain token and extra headers.
async fn get_with(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = app.client.get(app.url(path)).bearer_auth(TOKEN);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    app.send(request).await
}

fn etag(answer: &Answer) -> String {
    answer
        .header("etag")
        .unwrap_or_else(|| panic!("no ETag on {} {}", answer.status, answer.text))
        .to_owned()
}

/// Asserts a `304` without a body, with `etag` and the quota `before` left it.
fn assert_not_modified(answer: &Answer, etag: &str, before: &Answer, what: &str) {
    assert_eq!(answer.status, 304, "{what}: {}", answer.text);
    assert_eq!(answer.text, "", "{what}: a 304 has no body");
    assert_eq!(answer.header("etag"), Some(etag), "{what}");
    for name in [
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "x-ratelimit-limit",
    ] {
        assert_eq!(
            answer.header(name),
            before.header(name),
            "{what}: {name} unchanged"
        );
    }
}

#[tokio::test]
async fn every_read_the_tracker_makes_answers_304_to_its_own_etag_for_free() {
    let app = spawn_app().await;
    let id = setup(&app).await;
    let reads = [
        format!("/repos/{REPO}/deployments?environment=pr-3"),
        format!("/repos/{REPO}/deployments/{id}"),
        format!("/repos/{REPO}/deployments/{id}/statuses?per_page=100"),
        format!("/repos/{REPO}/pulls/3"),
        format!("/repos/{REPO}/pulls/3/files?per_page=100"),
        format!("/repos/{REPO}/contents/VERSION?ref={HEAD}"),
        format!("/repos/{REPO}/issues/3/comments?per_page=100"),
        format!("/repos/{REPO}/commits/{HEAD}/check-runs"),
        format!("/repos/{REPO}/check-runs/1"),
    ];
    for path in &reads {
        let first = app.get(path).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text);
        let tag = etag(&first);
        assert!(
            tag.starts_with('"') && tag.len() == 66,
            "{path}: a strong tag without Accept-Encoding: {tag}"
        );
        assert_eq!(
            first.header("cache-control"),
            Some("private, max-age=60, s-maxage=60")
        );
        let again = get_with(&app, path, &[("if-none-match", &tag)]).await;
        assert_not_modified(&again, &tag, &first, path);
        assert!(again.header("x-github-request-id").is_some(), "{path}");
    }

    // Lists carry no Last-Modified; single objects with `updated_at` do, and so do contents
    // (GitHub dates them by a commit; the sandbox by when the head's files were given).
    for (path, dated) in [
        (reads[0].as_str(), false),
        (reads[1].as_str(), true),
        (reads[3].as_str(), true),
        (reads[5].as_str(), true),
        (reads[6].as_str(), false),
        (reads[8].as_str(), false),
    ] {
        let answer = app.get(path).await;
        assert_eq!(answer.header("last-modified").is_some(), dated, "{path}");
    }

    // The App, read with its JWT: the tag belongs to that JWT.
    let signed = jwt(&APP_KEY.1, &app_claims(&json!(APP_ID)));
    let first = app.get_as("/app", &signed).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let tag = etag(&first);
    assert!(first.header("last-modified").is_some());
    let again = app
        .send(
            app.client
                .get(app.url("/app"))
                .bearer_auth(&signed)
                .header("if-none-match", &tag),
        )
        .await;
    assert_not_modified(&again, &tag, &first, "/app");

    // The journal says which requests were counted: the 304s were not.
    let journal = app.journal().await;
    let free: Vec<&Value> = journal.iter().filter(|e| e["counted"] == false).collect();
    assert_eq!(free.len(), reads.len() + 1, "{free:#?}");
    assert!(
        free.iter()
            .all(|e| e["status"] == 304 && e["method"] == "GET"),
        "{free:#?}"
    );
    let counted = journal.iter().filter(|e| e["counted"] == true).count();
    assert_eq!(app.server.sandbox().counted_requests(), counted);
    assert_eq!(counted + free.len(), journal.len());
}

#[tokio::test]
async fn a_change_makes_a_new_etag_and_an_old_or_foreign_tag_costs_a_full_answer() {
    let app = spawn_app().await;
    let id = setup(&app).await;
    let comments = format!("/repos/{REPO}/issues/3/comments");
    let statuses = format!("/repos/{REPO}/deployments/{id}/statuses");
    for (path, change) in [(&comments, "comment"), (&statuses, "status")] {
        let first = app.get(path).await;
        let old = etag(&first);
        match change {
            "comment" => {
                let added = app.post(path, &json!({"body": "applied"})).await;
                assert_eq!(added.status, 201, "{}", added.text);
            }
            _ => {
                app.set_status(REPO, id, json!({"state": "success"})).await;
            }
        }
        let before = app.get("/rate_limit").await.body["rate"]["used"]
            .as_u64()
            .unwrap();
        let changed = get_with(&app, path, &[("if-none-match", &old)]).await;
        assert_eq!(changed.status, 200, "{path}: {}", changed.text);
        let new = etag(&changed);
        assert_ne!(new, old, "{path}: a new {change} changes the tag");
        assert_eq!(
            changed.header_u64("x-ratelimit-used"),
            before + 1,
            "{path}: counted (`/rate_limit` reports a quota that includes its own request)"
        );
        let unchanged = get_with(&app, path, &[("if-none-match", &new)]).await;
        assert_not_modified(&unchanged, &new, &changed, path);
    }

    // A tag that matches nothing is a full, counted answer.
    let first = app.get(&comments).await;
    let other = get_with(&app, &comments, &[("if-none-match", "\"0000\"")]).await;
    assert_eq!(other.status, 200);
    assert_eq!(etag(&other), etag(&first));
    assert_eq!(
        other.header_u64("x-ratelimit-remaining"),
        first.header_u64("x-ratelimit-remaining") - 1
    );
    assert_eq!(app.journal().await.last().unwrap()["counted"], true);

    // Tags belong to the credential: the plain token's tag does not match under an
    // installation token (GitHub's ETags are per token), which gets its own.
    let token = app.installation_token().await;
    let foreign = app
        .send(
            app.client
                .get(app.url(&comments))
                .bearer_auth(&token)
                .header("if-none-match", etag(&first)),
        )
        .await;
    assert_eq!(foreign.status, 200, "{}", foreign.text);
    assert_ne!(etag(&foreign), etag(&first));
}

#[tokio::test]
async fn weak_tags_compare_weakly_and_lists_of_tags_and_star_match() {
    let app = spawn_app().await;
    setup(&app).await;
    let path = format!("/repos/{REPO}/pulls/3/files");
    let strong = etag(&app.get(&path).await);
    let compressed = get_with(&app, &path, &[("accept-encoding", "gzip")]).await;
    let weak = etag(&compressed);
    assert_eq!(
        weak,
        format!("W/{strong}"),
        "GitHub weakens the tag of a gzip answer"
    );
    let before = app.get(&path).await;
    for (header, hits) in [
        (weak.as_str(), true),
        (strong.as_str(), true),
        ("*", true),
        (&format!("\"nope\", {weak}"), true),
        ("\"nope\"", false),
        (&strong[1..strong.len() - 1], false),
    ] {
        let answer = get_with(&app, &path, &[("if-none-match", header)]).await;
        if hits {
            assert_not_modified(&answer, &strong, &before, header);
        } else {
            assert_eq!(answer.status, 200, "{header}");
        }
    }
    // Under gzip, a 304 repeats the weak form.
    let answer = get_with(
        &app,
        &path,
        &[("if-none-match", &strong), ("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(answer.status, 304);
    assert_eq!(answer.header("etag"), Some(weak.as_str()));
}

#[tokio::test]
async fn if_modified_since_is_honoured_where_there_is_a_last_modified() {
    let app = spawn_app().await;
    setup(&app).await;
    let pull = format!("/repos/{REPO}/pulls/3");
    let first = app.get(&pull).await;
    let modified = first
        .header("last-modified")
        .expect("a pull request is dated")
        .to_owned();
    let at = chrono::DateTime::parse_from_rfc2822(&modified).expect("an HTTP date");
    let earlier = (at - chrono::Duration::seconds(1))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();

    let same = get_with(&app, &pull, &[("if-modified-since", &modified)]).await;
    assert_not_modified(&same, &etag(&first), &first, "same date");
    assert_eq!(same.header("last-modified"), Some(modified.as_str()));
    let older = get_with(&app, &pull, &[("if-modified-since", &earlier)]).await;
    assert_eq!(older.status, 200, "modified since a second before");
    // Dates do not depend on the token (GitHub's tags do).
    let token = app.installation_token().await;
    let other = app
        .send(
            app.client
                .get(app.url(&pull))
                .bearer_auth(&token)
                .header("if-modified-since", &modified),
        )
        .await;
    assert_eq!(other.status, 304);
    // If-None-Match wins: a stale tag with a current date is a full answer.
    let both = get_with(
        &app,
        &pull,
        &[
            ("if-none-match", "\"stale\""),
            ("if-modified-since", &modified),
        ],
    )
    .await;
    assert_eq!(both.status, 200);
    // Garbage is ignored.
    let garbage = get_with(&app, &pull, &[("if-modified-since", "yesterday")]).await;
    assert_eq!(garbage.status, 200);
    // Contents are dated too.
    let contents = format!("/repos/{REPO}/contents/VERSION?ref=bump");
    let dated = app.get(&contents).await;
    let date = dated
        .header("last-modified")
        .expect("contents are dated")
        .to_owned();
    let same = get_with(&app, &contents, &[("if-modified-since", &date)]).await;
    assert_not_modified(&same, &etag(&dated), &dated, "contents");
    // Lists carry no Last-Modified, so a date does not make them 304.
    let list = format!("/repos/{REPO}/issues/3/comments");
    let far = "Fri, 01 Jan 2100 00:00:00 GMT";
    assert_eq!(
        get_with(&app, &list, &[("if-modified-since", far)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn no_free_answers_without_valid_credentials_or_quota() {
    let app = spawn_with(gdt_github_sandbox::SandboxConfig {
        rate_limit: 3,
        ..config()
    })
    .await;
    app.create_pull(
        REPO,
        json!({"number": 3, "base_ref": "main", "head_ref": "bump", "head_sha": HEAD}),
    )
    .await;
    let pull = format!("/repos/{REPO}/pulls/3");
    let first = app.get(&pull).await;
    let tag = etag(&first);

    for token in [None, Some("not-a-token")] {
        let mut request = app.client.get(app.url(&pull)).header("if-none-match", &tag);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = app.send(request).await;
        assert_eq!(answer.status, 401, "{token:?}: {}", answer.text);
        assert_eq!(answer.header("etag"), None);
    }

    // Free while there is quota, refused once it is used up.
    for _ in 0..3 {
        let again = get_with(&app, &pull, &[("if-none-match", &tag)]).await;
        assert_eq!(again.status, 304);
    }
    app.get(&pull).await;
    app.get(&pull).await;
    let exhausted = get_with(&app, &pull, &[("if-none-match", &tag)]).await;
    assert_eq!(exhausted.status, 403, "{}", exhausted.text);
    assert_eq!(exhausted.header_u64("x-ratelimit-remaining"), 0);
    let journal = app.journal().await;
    let statuses: Vec<String> = journal
        .iter()
        .map(|e| format!("{} {}", e["status"], e["counted"]))
        .collect();
    let expected = [
        "200 true",
        "401 true",
        "401 true",
        "304 false",
        "304 false",
        "304 false",
        "200 true",
        "200 true",
        "403 false",
    ];
    assert_eq!(statuses, expected);
}
