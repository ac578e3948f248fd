use serde_json::{json, Value};

use crate::helpers::{assert_valid, config, spawn_app, spawn_with, DEPLOYMENT_SCHEMA, TOKEN};

#[tokio::test]
async fn create_returns_201_and_a_schema_valid_deployment() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/repos/acme/shop/deployments",
            &json!({"ref": "main", "payload": {"version": "1.2.3"}, "description": "first"}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(
        answer.header("x-github-api-version-selected"),
        Some("2022-11-28")
    );
    assert!(answer.header("x-github-request-id").is_some());
    let d = &answer.body;
    assert_valid(&DEPLOYMENT_SCHEMA, d);
    let id = d["id"].as_u64().expect("id");
    let base = &app.server.base_url;
    assert_eq!(
        d["url"],
        json!(format!("{base}/repos/acme/shop/deployments/{id}"))
    );
    assert_eq!(
        d["statuses_url"],
        json!(format!("{base}/repos/acme/shop/deployments/{id}/statuses"))
    );
    assert_eq!(
        d["repository_url"],
        json!(format!("{base}/repos/acme/shop"))
    );
    assert_eq!(d["ref"], "main");
    assert_eq!(d["task"], "deploy");
    assert_eq!(d["environment"], "production");
    assert_eq!(d["original_environment"], "production");
    assert_eq!(d["production_environment"], true);
    assert_eq!(d["transient_environment"], false);
    assert_eq!(d["payload"], json!({"version": "1.2.3"}));
    assert_eq!(d["description"], "first");
    assert_eq!(d["creator"]["login"], "gdt-sandbox[bot]");
    assert_eq!(d["creator"]["type"], "Bot");
    assert_eq!(d["performed_via_github_app"], Value::Null);
    let sha = d["sha"].as_str().expect("sha");
    assert!(
        sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{sha}"
    );
    let created = d["created_at"].as_str().expect("created_at");
    assert!(
        chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%SZ").is_ok(),
        "{created}"
    );

    // The same branch resolves to the same head; ids grow; a string payload is decoded.
    let again = app
        .deploy(
            "acme/shop",
            json!({"ref": "main", "environment": "staging", "payload": "{\"a\":1}", "task": "deploy:migrate"}),
        )
        .await;
    assert_valid(&DEPLOYMENT_SCHEMA, &again);
    assert_eq!(again["sha"], d["sha"]);
    assert!(again["id"].as_u64().expect("id") > id);
    assert_eq!(again["payload"], json!({"a": 1}));
    assert_eq!(again["production_environment"], false);
    assert_eq!(again["task"], "deploy:migrate");

    let fetched = app.get(&format!("/repos/acme/shop/deployments/{id}")).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(&fetched.body, d);
}

#[tokio::test]
async fn refs_resolve_like_a_repository_with_main_and_develop() {
    let app = spawn_app().await;
    let full = "0123456789abcdef0123456789abcdef01234567";
    let d = app.deploy("o/r", json!({"ref": full})).await;
    assert_eq!(d["sha"], full);
    let short = app.deploy("o/r", json!({"ref": "abcdef1"})).await;
    let sha = short["sha"].as_str().expect("sha");
    assert!(sha.starts_with("abcdef1") && sha.len() == 40);
    assert_eq!(short["ref"], "abcdef1");
    let develop = app.deploy("o/r", json!({"ref": "develop"})).await;
    let main = app.deploy("o/r", json!({"ref": "main"})).await;
    assert_ne!(develop["sha"], main["sha"]);
}

#[tokio::test]
async fn unknown_ref_is_422_with_githubs_body() {
    let app = spawn_app().await;
    let answer = app
        .post("/repos/o/r/deployments", &json!({"ref": "feature/nope"}))
        .await;
    assert_eq!(answer.status, 422);
    assert_eq!(
        answer.body,
        json!({
            "message": "No ref found for: feature/nope",
            "documentation_url": "https://docs.github.com/rest/deployments/deployments#create-a-deployment",
            "status": "422"
        })
    );
}

#[tokio::test]
async fn invalid_bodies_are_rejected_like_github() {
    let app = spawn_app().await;
    let missing = app
        .post("/repos/o/r/deployments", &json!({"task": "deploy"}))
        .await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.body["message"],
        "Invalid request.\n\n\"ref\" wasn't supplied."
    );
    assert_eq!(missing.body["status"], "422");

    let wrong_type = app
        .post(
            "/repos/o/r/deployments",
            &json!({"ref": "main", "transient_environment": "yes"}),
        )
        .await;
    assert_eq!(wrong_type.status, 422);
    assert!(
        wrong_type.body["message"].as_str().is_some_and(
            |m| m.starts_with("Invalid request.") && m.contains("transient_environment")
        ),
        "{}",
        wrong_type.text
    );

    let malformed = app
        .send(
            app.client
                .post(app.url("/repos/o/r/deployments"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body("{\"ref\": "),
        )
        .await;
    assert_eq!(malformed.status, 400);
    assert_eq!(malformed.body["message"], "Problems parsing JSON");
}

#[tokio::test]
async fn unknown_deployment_and_routes_are_404() {
    let app = spawn_app().await;
    let missing = app.get("/repos/o/r/deployments/999999").await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"})
    );
    let d = app.deploy("o/r", json!({"ref": "main"})).await;
    let other_repo = app
        .get(&format!("/repos/o/other/deployments/{}", d["id"]))
        .await;
    assert_eq!(other_repo.status, 404);
    let not_a_number = app.get("/repos/o/r/deployments/abc").await;
    assert_eq!(not_a_number.status, 404);
    let unknown = app.get("/nothing/here").await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["message"], "Not Found");
    assert!(unknown.header("x-ratelimit-limit").is_some());
    let wrong_method = app
        .send(
            app.client
                .delete(app.url("/repos/o/r/deployments"))
                .bearer_auth(TOKEN),
        )
        .await;
    assert_eq!(wrong_method.status, 404);
}

#[tokio::test]
async fn credentials_are_checked() {
    let app = spawn_app().await;
    let bad = app.get_as("/repos/o/r/deployments", "nope").await;
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.body,
        json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"})
    );
    let none = app
        .send(app.client.get(app.url("/repos/o/r/deployments")))
        .await;
    assert_eq!(none.status, 401);
    assert_eq!(none.body["message"], "Requires authentication");
    let token_scheme = app
        .send(
            app.client
                .get(app.url("/repos/o/r/deployments"))
                .header("authorization", format!("token {TOKEN}")),
        )
        .await;
    assert_eq!(token_scheme.status, 200);
}

#[tokio::test]
async fn list_filters_and_paginates_with_link_headers() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..250u32 {
        let git_ref = if i % 2 == 0 { "main" } else { "develop" };
        let environment = if i % 5 == 0 { "staging" } else { "production" };
        let d = app
            .deploy(
                "acme/big",
                json!({"ref": git_ref, "environment": environment}),
            )
            .await;
        ids.push(d["id"].as_u64().expect("id"));
    }
    let main_sha = app.deploy("acme/other", json!({"ref": "main"})).await["sha"].clone();
    let base = format!("{}/repos/acme/big/deployments", app.server.base_url);

    let page1 = app.get("/repos/acme/big/deployments?per_page=100").await;
    assert_eq!(page1.status, 200);
    let items = page1.body.as_array().expect("array");
    assert_eq!(items.len(), 100);
    // Newest first.
    assert_eq!(items[0]["id"].as_u64(), ids.last().copied());
    assert_eq!(
        page1.header("link"),
        Some(
            format!(
                "<{base}?per_page=100&page=2>; rel=\"next\", <{base}?per_page=100&page=3>; rel=\"last\""
            )
            .as_str()
        )
    );

    let page2 = app
        .get("/repos/acme/big/deployments?per_page=100&page=2")
        .await;
    assert_eq!(page2.body.as_array().map(Vec::len), Some(100));
    assert_eq!(
        page2.header("link"),
        Some(
            format!(
                "<{base}?per_page=100&page=1>; rel=\"prev\", <{base}?per_page=100&page=3>; rel=\"next\", \
                 <{base}?per_page=100&page=3>; rel=\"last\", <{base}?per_page=100&page=1>; rel=\"first\""
            )
            .as_str()
        )
    );

    let page3 = app
        .get("/repos/acme/big/deployments?per_page=100&page=3")
        .await;
    let items = page3.body.as_array().expect("array");
    assert_eq!(items.len(), 50);
    assert_eq!(items[49]["id"].as_u64(), ids.first().copied());
    let link = page3.header("link").expect("link");
    assert!(
        link.contains("rel=\"prev\"") && link.contains("rel=\"first\""),
        "{link}"
    );
    assert!(!link.contains("rel=\"next\""), "{link}");

    // Default page size is 30.
    let default = app.get("/repos/acme/big/deployments").await;
    assert_eq!(default.body.as_array().map(Vec::len), Some(30));
    assert!(default
        .header("link")
        .is_some_and(|l| l.contains("page=9>; rel=\"last\"")));

    // Filters: `main` deployments of acme/big share a head SHA that differs per repository.
    let main_big = app
        .get("/repos/acme/big/deployments?ref=main&per_page=100")
        .await;
    let sha = main_big.body[0]["sha"].clone();
    assert_ne!(sha, main_sha);
    let by_sha = app
        .get(&format!(
            "/repos/acme/big/deployments?sha={}&per_page=100&page=2",
            sha.as_str().expect("sha")
        ))
        .await;
    let items = by_sha.body.as_array().expect("array");
    assert_eq!(items.len(), 25);
    assert!(items.iter().all(|d| d["sha"] == sha && d["ref"] == "main"));

    let staging = app
        .get("/repos/acme/big/deployments?environment=staging&per_page=100")
        .await;
    let items = staging.body.as_array().expect("array");
    assert_eq!(items.len(), 50);
    assert!(items.iter().all(|d| d["environment"] == "staging"));
    assert_eq!(staging.header("link"), None);

    let none = app.get("/repos/acme/big/deployments?task=other").await;
    assert_eq!(none.body, json!([]));
    let unused_repo = app.get("/repos/acme/never/deployments").await;
    assert_eq!((unused_repo.status, unused_repo.body), (200, json!([])));
}

#[tokio::test]
async fn rate_limit_headers_count_down_and_run_out() {
    let app = spawn_with(gdt_github_sandbox::SandboxConfig {
        rate_limit: 3,
        ..config()
    })
    .await;
    let first = app.get("/repos/o/r/deployments").await;
    assert_eq!(first.header_u64("x-ratelimit-limit"), 3);
    assert_eq!(first.header_u64("x-ratelimit-remaining"), 2);
    assert_eq!(first.header_u64("x-ratelimit-used"), 1);
    assert_eq!(first.header("x-ratelimit-resource"), Some("core"));
    let reset = first.header_u64("x-ratelimit-reset");
    let now = chrono::Utc::now().timestamp().unsigned_abs();
    assert!(reset > now && reset <= now + 3600, "{reset} vs {now}");

    let second = app.get("/repos/o/r/deployments").await;
    assert_eq!(second.header_u64("x-ratelimit-remaining"), 1);
    let third = app.get("/repos/o/r/deployments").await;
    assert_eq!(
        (third.status, third.header_u64("x-ratelimit-remaining")),
        (200, 0)
    );
    let limited = app.get("/repos/o/r/deployments").await;
    assert_eq!(limited.status, 403);
    assert_eq!(limited.header_u64("x-ratelimit-remaining"), 0);
    assert_eq!(limited.header_u64("x-ratelimit-reset"), reset);
    assert_eq!(
        limited.body["documentation_url"],
        "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"
    );
    assert!(
        limited.body["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("API rate limit exceeded for ")),
        "{}",
        limited.text
    );

    // Reset restores the quota.
    let reset = app.send(app.client.post(app.url("/_sandbox/reset"))).await;
    assert_eq!(reset.status, 204);
    assert_eq!(app.get("/repos/o/r/deployments").await.status, 200);
}

#[tokio::test]
async fn deleting_deployments_follows_githubs_rule() {
    let app = spawn_app().await;
    let repo = "acme/del";
    let id = |d: &Value| d["id"].as_u64().expect("id");
    let path = |id: u64| format!("/repos/{repo}/deployments/{id}");

    // The only deployment of a repository can be deleted whatever its state.
    let only = id(&app.deploy(repo, json!({"ref": "main"})).await);
    app.set_status(repo, only, json!({"state": "success"}))
        .await;
    let deleted = app.delete(&path(only)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert!(deleted.text.is_empty());
    assert_eq!(app.get(&path(only)).await.status, 404);
    assert_eq!(app.delete(&path(only)).await.status, 404);
    assert_eq!(
        app.delete(&format!("/repos/{repo}/deployments/x"))
            .await
            .status,
        404
    );

    // With more than one, only inactive ones can be.
    let first = id(&app.deploy(repo, json!({"ref": "main"})).await);
    let second = id(&app.deploy(repo, json!({"ref": "develop"})).await);
    let refused = app.delete(&path(first)).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "We cannot delete an active deployment unless it is the only deployment in a given environment."
    );
    assert_eq!(
        refused.body["documentation_url"],
        "https://docs.github.com/rest/deployments/deployments#delete-a-deployment"
    );
    app.set_status(repo, first, json!({"state": "inactive"}))
        .await;
    assert_eq!(app.delete(&path(first)).await.status, 204);
    let listed = app.get(&format!("/repos/{repo}/deployments")).await;
    let ids: Vec<u64> = listed
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(id)
        .collect();
    assert_eq!(ids, vec![second]);
    // Another repository's path does not reach it.
    assert_eq!(
        app.delete(&format!("/repos/acme/other/deployments/{second}"))
            .await
            .status,
        404
    );
}
