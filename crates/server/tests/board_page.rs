//! The board page's access control, driven through the router with `oneshot`: sign-in and
//! its refusals, the cookie's flags, what a cookie and a viewer token may do, the headers of
//! every answer, and `board.enabled: false`.

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use gdt_server::{api_router, ApiTokens, AppState, BoardPageSettings, CookieSecure};
use secrecy::SecretString;
use tower::ServiceExt as _;

const API_TOKEN: &str = "api-token-0123456789abcdef";
const VIEWER_TOKEN: &str = "viewer-token-0123456789abcdef";
const HOST: &str = "127.0.0.1:3000";
const ORIGIN: &str = "http://127.0.0.1:3000";

fn state(page: BoardPageSettings) -> AppState {
    support::state(
        support::unreachable(),
        API_TOKEN,
        "webhook-secret",
        1024,
        Duration::from_secs(30),
    )
    .with_board(page, ApiTokens::new(&[SecretString::from(VIEWER_TOKEN)]))
}

async fn send(state: &AppState, request: Request<Body>) -> Response {
    api_router(state.clone())
        .oneshot(request)
        .await
        .expect("infallible")
}

fn sign_in(host: &str, origin: Option<&str>, token: &str) -> Request<Body> {
    let mut request = Request::post("/board/sign-in")
        .header(header::HOST, host)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", token)
        .finish();
    request.body(Body::from(body)).unwrap()
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path).header(header::HOST, HOST);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).unwrap()
}

fn header_of(response: &Response, name: header::HeaderName) -> &str {
    response
        .headers()
        .get(name)
        .map_or("", |v| v.to_str().unwrap_or_default())
}

async fn text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Signs in with `token` and returns the `name=value` part of the cookie set.
async fn session(state: &AppState, token: &str) -> String {
    let response = send(state, sign_in(HOST, Some(ORIGIN), token)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    header_of(&response, header::SET_COOKIE)
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn signing_in_sets_a_read_only_http_only_cookie_that_holds_no_token() {
    let state = state(BoardPageSettings::default());

    let response = send(&state, get("/board", None)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_of(&response, header::LOCATION), "/board/sign-in");

    let response = send(&state, sign_in(HOST, Some(ORIGIN), API_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(header_of(&response, header::LOCATION), "/board");
    let set = header_of(&response, header::SET_COOKIE);
    assert!(set.starts_with("gdt_board=v1."), "{set}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(flag), "{flag} missing: {set}");
    }
    assert!(!set.contains("Secure"), "loopback: not Secure: {set}");
    assert!(
        !set.contains(API_TOKEN) && !set.contains("api-token"),
        "{set}"
    );

    for token in [API_TOKEN, VIEWER_TOKEN] {
        let cookie = session(&state, token).await;
        let form = send(&state, get("/board/sign-in", Some(&cookie))).await;
        assert_eq!(
            header_of(&form, header::LOCATION),
            "/board",
            "signed in already"
        );
        let page = send(&state, get("/board", Some(&cookie))).await;
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(header_of(&page, header::CACHE_CONTROL), "no-store");
        assert!(
            header_of(&page, header::CONTENT_SECURITY_POLICY).contains("frame-ancestors 'none'")
        );
        assert_eq!(header_of(&page, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header_of(&page, header::REFERRER_POLICY), "no-referrer");
        assert!(!text(page).await.contains(token));

        // The cookie reads (Temporal is down here: 503, past the authorisation)...
        let read = send(&state, get("/api/v1/deployments/x", Some(&cookie))).await;
        assert_eq!(read.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header_of(&read, header::CACHE_CONTROL), "no-store");
        // ...and never writes.
        let write = Request::post("/api/v1/deployments/x/status")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"status":"success"}"#))
            .unwrap();
        assert_eq!(send(&state, write).await.status(), StatusCode::UNAUTHORIZED);
    }

    // A cookie dies with its token (here the viewer token, removed), and a forged one, or
    // the token itself as a cookie, is worth nothing.
    let viewer = session(&state, VIEWER_TOKEN).await;
    let removed = state
        .clone()
        .with_board(BoardPageSettings::default(), ApiTokens::new(&[]));
    assert_eq!(
        send(&removed, get("/board", Some(&viewer))).await.status(),
        StatusCode::SEE_OTHER
    );
    let last = if viewer.ends_with('0') { "1" } else { "0" };
    let forged = format!("{}{last}", &viewer[..viewer.len() - 1]);
    let token_as_cookie = format!("gdt_board={API_TOKEN}");
    for (state, cookie) in [
        (&removed, viewer.as_str()),
        (&state, forged.as_str()),
        (&state, token_as_cookie.as_str()),
        (&state, "gdt_board=v1.99999999999.00"),
    ] {
        let response = send(state, get("/api/v1/deployments/x", Some(cookie))).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{cookie}");
    }

    // Sign-out clears it.
    let out = Request::post("/board/sign-out")
        .header(header::HOST, HOST)
        .header(header::ORIGIN, ORIGIN)
        .body(Body::empty())
        .unwrap();
    let response = send(&state, out).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(header_of(&response, header::SET_COOKIE).starts_with("gdt_board=; "));
    assert!(header_of(&response, header::SET_COOKIE).contains("Max-Age=0"));
}

#[tokio::test]
async fn viewer_tokens_read_but_never_write() {
    let state = state(BoardPageSettings::default());
    let read = Request::get("/api/v1/deployments/x")
        .header(header::AUTHORIZATION, format!("Bearer {VIEWER_TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&state, read).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    let write = Request::post("/api/v1/deployments/x/status")
        .header(header::AUTHORIZATION, format!("Bearer {VIEWER_TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"status":"success"}"#))
        .unwrap();
    let response = send(&state, write).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "application/problem+json"
    );
    let problem: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
    assert_eq!(problem["code"], "forbidden");
    assert!(problem["detail"].as_str().unwrap().contains("API token"));
}

#[tokio::test]
async fn wrong_tokens_and_other_origins_get_no_cookie_and_failures_are_throttled() {
    let state = state(BoardPageSettings {
        cookie_secure: CookieSecure::Auto,
        ..BoardPageSettings::default()
    });
    let before = sign_ins();
    let cases = [
        (
            sign_in(HOST, Some("https://evil.example"), API_TOKEN),
            StatusCode::FORBIDDEN,
        ),
        (sign_in(HOST, None, API_TOKEN), StatusCode::FORBIDDEN),
        (
            sign_in(HOST, Some(ORIGIN), "not-a-token"),
            StatusCode::UNAUTHORIZED,
        ),
        (sign_in(HOST, Some(ORIGIN), ""), StatusCode::UNAUTHORIZED),
    ];
    for (request, want) in cases {
        let response = send(&state, request).await;
        assert_eq!(response.status(), want);
        assert!(response.headers().get(header::SET_COOKIE).is_none());
        assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"));
        let page = text(response).await;
        assert!(page.contains(r#"role="alert""#), "{page}");
        assert!(
            !page.contains("not-a-token") && !page.contains("evil"),
            "{page}"
        );
    }
    // Two failures so far; eight more fill the minute, then even the right token waits.
    for _ in 0..8 {
        send(&state, sign_in(HOST, Some(ORIGIN), "not-a-token")).await;
    }
    let response = send(&state, sign_in(HOST, Some(ORIGIN), API_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // Each ending counted (other tests in this binary only add to the counts).
    let after = sign_ins();
    for (outcome, at_least) in [("cross_origin", 2), ("refused", 10), ("throttled", 1)] {
        assert!(
            after[outcome] - before[outcome] >= at_least,
            "{outcome}: {before:?} -> {after:?}"
        );
    }
    assert!(
        header_of(&response, header::RETRY_AFTER)
            .parse::<u64>()
            .unwrap()
            > 0
    );

    // Not on a loopback host: the cookie is Secure.
    let fresh = self::state(BoardPageSettings::default());
    let response = send(
        &fresh,
        sign_in("board.example", Some("https://board.example"), API_TOKEN),
    )
    .await;
    assert!(header_of(&response, header::SET_COOKIE).ends_with("; Secure"));
}

#[tokio::test]
async fn the_assets_are_public_and_a_turned_off_board_is_not_there() {
    let state = state(BoardPageSettings::default());
    let response = send(&state, get("/board/assets/board.js", None)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_of(&response, header::CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        header_of(&response, header::CACHE_CONTROL),
        "public, max-age=300"
    );
    assert_eq!(
        send(&state, get("/board/assets/nope.js", None))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let off = self::state(BoardPageSettings {
        enabled: false,
        ..BoardPageSettings::default()
    });
    for path in ["/board", "/board/sign-in", "/board/assets/board.css"] {
        assert_eq!(
            send(&off, get(path, None)).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let response = send(&off, sign_in(HOST, Some(ORIGIN), API_TOKEN)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

/// `gdt_board_sign_ins_total` by outcome, as /metrics shows it.
fn sign_ins() -> std::collections::HashMap<&'static str, u64> {
    let text = gdt_metrics::metrics().encode();
    ["accepted", "refused", "throttled", "cross_origin"]
        .into_iter()
        .map(|outcome| {
            let prefix = format!("gdt_board_sign_ins_total{{outcome=\"{outcome}\"}} ");
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .unwrap_or_else(|| panic!("no {prefix} in /metrics"));
            (outcome, value.parse().expect("a count"))
        })
        .collect()
}
