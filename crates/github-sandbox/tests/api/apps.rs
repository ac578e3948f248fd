use serde_json::json;

use crate::helpers::{
    app_claims, assert_valid, jwt, spawn_app, APP_ID, APP_KEY, APP_SCHEMA, DEPLOYMENT_SCHEMA,
    INSTALLATION_ID, OTHER_KEY, STATUS_SCHEMA,
};

fn token_path(installation: u64) -> String {
    format!("/app/installations/{installation}/access_tokens")
}

#[tokio::test]
async fn jwt_exchange_mints_a_working_installation_token() {
    let app = spawn_app().await;
    let signed = jwt(&APP_KEY.1, &app_claims(&json!(APP_ID.to_string())));
    let answer = app
        .post_as(&token_path(INSTALLATION_ID), &signed, &json!({}))
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let token = answer.body["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("ghs_") && token.len() == 40, "{token}");
    assert!(token[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    let expires = answer.body["expires_at"].as_str().expect("expires_at");
    let expires = chrono::NaiveDateTime::parse_from_str(expires, "%Y-%m-%dT%H:%M:%SZ")
        .expect("seconds precision, Z")
        .and_utc();
    let in_an_hour = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!((expires - in_an_hour).num_seconds().abs() <= 5);
    assert_eq!(answer.body["permissions"]["deployments"], "write");
    assert_eq!(answer.body["repository_selection"], "all");

    // A numeric `iss` works as well.
    let numeric = jwt(&APP_KEY.1, &app_claims(&json!(APP_ID)));
    let app_object = app.get_as("/app", &numeric).await;
    assert_eq!(app_object.status, 200, "{}", app_object.text);
    assert_valid(&APP_SCHEMA, &app_object.body);
    assert_eq!(app_object.body["id"], APP_ID);

    // The token works on /repos and the App shows as the actor.
    let created = app
        .post_as(
            "/repos/acme/shop/deployments",
            &token,
            &json!({"ref": "main"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_valid(&DEPLOYMENT_SCHEMA, &created.body);
    assert_eq!(created.body["creator"]["login"], "gdt-sandbox[bot]");
    assert_eq!(created.body["performed_via_github_app"]["id"], APP_ID);
    let status = app
        .post_as(
            &format!(
                "/repos/acme/shop/deployments/{}/statuses",
                created.body["id"]
            ),
            &token,
            &json!({"state": "success"}),
        )
        .await;
    assert_eq!(status.status, 201);
    assert_valid(&STATUS_SCHEMA, &status.body);

    // The JWT itself is not a token for /repos, and the token is not a JWT.
    assert_eq!(
        app.get_as("/repos/acme/shop/deployments", &signed)
            .await
            .status,
        401
    );
    assert_eq!(app.get_as("/app", &token).await.status, 401);
}

#[tokio::test]
async fn foreign_installation_is_404() {
    let app = spawn_app().await;
    let signed = jwt(&APP_KEY.1, &app_claims(&json!(APP_ID)));
    let answer = app
        .post_as(&token_path(INSTALLATION_ID + 1), &signed, &json!({}))
        .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body["message"], "Not Found");
}

#[tokio::test]
async fn bad_jwts_are_401_with_githubs_messages() {
    let app = spawn_app().await;
    let path = token_path(INSTALLATION_ID);
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            "signed by another key",
            jwt(&OTHER_KEY.1, &app_claims(&json!(APP_ID))),
            "A JSON web token could not be decoded",
        ),
        (
            "exp 20 minutes ahead",
            jwt(&APP_KEY.1, &json!({"iat": now, "exp": now + 1200, "iss": APP_ID})),
            "'Expiration time' claim ('exp') is too far in the future",
        ),
        (
            "expired",
            jwt(&APP_KEY.1, &json!({"iat": now - 700, "exp": now - 100, "iss": APP_ID})),
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        ),
        (
            "issued in the future",
            jwt(&APP_KEY.1, &json!({"iat": now + 300, "exp": now + 600, "iss": APP_ID})),
            "'Issued at' claim ('iat') must be an Integer representing a time in the past",
        ),
        (
            "unknown app",
            jwt(&APP_KEY.1, &app_claims(&json!(999))),
            "Integration not found",
        ),
        ("garbage", "not.a.jwt".to_owned(), "A JSON web token could not be decoded"),
    ];
    for (case, token, message) in cases {
        let answer = app.post_as(&path, &token, &json!({})).await;
        assert_eq!(answer.status, 401, "{case}: {}", answer.text);
        assert_eq!(answer.body["message"], message, "{case}");
        assert_eq!(answer.body["status"], "401", "{case}");
    }
}
