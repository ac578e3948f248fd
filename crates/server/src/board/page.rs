//! The board's page routes: `GET /board`, the sign-in form and its `POST`, `POST
//! /board/sign-out`.
//!
//! Signing in exchanges a token (an API token or a viewer token) for the session cookie of
//! [`super::session`]; the page then reads the API with that cookie. The form works without
//! JavaScript. Both `POST`s are refused unless they come from the board's own origin, and
//! failed sign-ins are throttled per process, so the form is no faster an oracle for guessing
//! tokens than the API itself.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use gdt_metrics::labels::SignIn;
use gdt_metrics::metrics;

use super::assets;
use super::session;
use crate::auth;
use crate::problem::ApiError;
use crate::AppState;

/// How the page's routes behave (`board.*`).
#[derive(Debug, Clone)]
pub struct BoardPageSettings {
    /// `board.enabled`: when off, every `/board` route answers `404`.
    pub enabled: bool,
    /// `board.session_ttl`: how long a sign-in lasts.
    pub session_ttl: Duration,
    /// `board.cookie_secure`.
    pub cookie_secure: CookieSecure,
}

impl Default for BoardPageSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            session_ttl: Duration::from_secs(12 * 3600),
            cookie_secure: CookieSecure::Auto,
        }
    }
}

/// Whether the session cookie is marked `Secure` (sent over HTTPS only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    /// Unless the request's `Host` is a loopback address (`gdt dev`, plain HTTP on one's own
    /// machine), where a browser would otherwise keep it but could never send it back.
    Auto,
    /// Always.
    Always,
    /// Never (plain HTTP behind a private network; not recommended).
    Never,
}

/// A `board.cookie_secure` that is not one of its three words.
#[derive(Debug, thiserror::Error)]
#[error(
    "board.cookie_secure (GDT_BOARD_COOKIE_SECURE) must be `auto`, `true` or `false`, not {0:?}"
)]
pub struct InvalidCookieSecure(String);

impl std::str::FromStr for CookieSecure {
    type Err = InvalidCookieSecure;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "true" => Ok(Self::Always),
            "false" => Ok(Self::Never),
            _ => Err(InvalidCookieSecure(s.to_owned())),
        }
    }
}

impl CookieSecure {
    /// Whether a cookie set in answer to a request with these headers is marked `Secure`.
    fn applies(self, headers: &HeaderMap) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => !host_is_loopback(headers),
        }
    }
}

/// The page's settings and the sign-in throttle, shared by the handlers.
#[derive(Debug)]
pub struct BoardPage {
    pub(crate) settings: BoardPageSettings,
    throttle: Throttle,
}

impl BoardPage {
    /// The page with these settings, allowing [`FAILED_SIGN_INS_PER_MINUTE`].
    pub fn new(settings: BoardPageSettings) -> Self {
        Self {
            settings,
            throttle: Throttle::new(FAILED_SIGN_INS_PER_MINUTE, Duration::from_secs(60)),
        }
    }
}

/// Failed sign-ins a process accepts in a minute; beyond, every sign-in gets `429` until the
/// oldest failure is a minute old.
pub const FAILED_SIGN_INS_PER_MINUTE: usize = 10;

/// `GET /board`: the page for a signed-in browser, else a redirect to the form.
pub(crate) async fn board(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.board_page.settings.enabled {
        return disabled();
    }
    if auth::has_session(&state, &headers) {
        html(StatusCode::OK, assets::INDEX_HTML.to_owned())
    } else {
        Redirect::to("/board/sign-in").into_response()
    }
}

/// `GET /board/sign-in`: the form, or the board for a browser already signed in.
pub(crate) async fn sign_in_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.board_page.settings.enabled {
        return disabled();
    }
    if auth::has_session(&state, &headers) {
        return Redirect::to("/board").into_response();
    }
    sign_in_page(StatusCode::OK, None)
}

/// `POST /board/sign-in` (form field `token`): the session cookie and a redirect to the
/// board, or the form again with what was wrong.
pub(crate) async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let page = &state.board_page;
    if !page.settings.enabled {
        return disabled();
    }
    if !same_origin(&headers) {
        metrics().board_sign_in(SignIn::CrossOrigin);
        return cross_origin();
    }
    if let Err(wait) = page.throttle.check(Instant::now()) {
        metrics().board_sign_in(SignIn::Throttled);
        let mut response = sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            Some("Too many failed sign-ins on this server in the last minute. Wait a minute and try again."),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(wait.as_secs().max(1)),
        );
        return response;
    }
    let token = url::form_urlencoded::parse(&body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_default();
    let accepted =
        !token.is_empty() && (state.tokens.accepts(&token) || state.viewer_tokens.accepts(&token));
    if !accepted {
        metrics().board_sign_in(SignIn::Refused);
        page.throttle.failed(Instant::now());
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            Some("That token is not valid for this server. Use an API token or a viewer token."),
        );
    }
    metrics().board_sign_in(SignIn::Accepted);
    let ttl = page.settings.session_ttl;
    let value = session::issue(&auth::digest(&token), super::unix_now() + ttl.as_secs());
    let cookie = set_cookie(
        &value,
        ttl.as_secs(),
        page.settings.cookie_secure.applies(&headers),
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/board")).into_response()
}

/// `POST /board/sign-out`: clears the cookie.
pub(crate) async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !state.board_page.settings.enabled {
        return disabled();
    }
    if !same_origin(&headers) {
        return cross_origin();
    }
    let secure = state.board_page.settings.cookie_secure.applies(&headers);
    (
        [(header::SET_COOKIE, set_cookie("", 0, secure))],
        Redirect::to("/board/sign-in"),
    )
        .into_response()
}

fn set_cookie(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}",
        session::COOKIE
    )
}

pub(crate) fn disabled() -> Response {
    ApiError::not_found("the board is turned off on this server (board.enabled)").into_response()
}

fn cross_origin() -> Response {
    sign_in_page(
        StatusCode::FORBIDDEN,
        Some("This form only accepts submissions from the board's own page. Open the board's address and sign in there."),
    )
}

pub(crate) fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The form, with a fixed message (never anything from the request) when there is one.
fn sign_in_page(status: StatusCode, message: Option<&'static str>) -> Response {
    let error = message.map_or_else(String::new, |m| {
        format!(r#"<p class="error" id="error" role="alert">{m}</p>"#)
    });
    html(status, assets::SIGN_IN_HTML.replace("<!--error-->", &error))
}

/// A `POST` from the board's own origin: `Sec-Fetch-Site: same-origin`, or an `Origin` whose
/// host and port are the request's `Host`. Without either, refused: every browser sends
/// `Origin` with a form `POST`.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if get(header::HeaderName::from_static("sec-fetch-site")) == Some("same-origin") {
        return true;
    }
    let (Some(origin), Some(host)) = (get(header::ORIGIN), get(header::HOST)) else {
        return false;
    };
    origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .is_some_and(|origin_host| origin_host.eq_ignore_ascii_case(host))
}

/// Whether the request's `Host` names this machine (`localhost`, `127.0.0.0/8`, `[::1]`).
fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// At most `limit` failures in any `window`: a sliding window of the failures' instants.
#[derive(Debug)]
struct Throttle {
    limit: usize,
    window: Duration,
    failures: Mutex<VecDeque<Instant>>,
}

impl Throttle {
    fn new(limit: usize, window: Duration) -> Self {
        Self {
            limit,
            window,
            failures: Mutex::new(VecDeque::new()),
        }
    }

    /// `Err(how long to wait)` while `limit` failures lie within the window before `now`.
    fn check(&self, now: Instant) -> Result<(), Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        while failures
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            failures.pop_front();
        }
        match failures.front() {
            Some(oldest) if failures.len() >= self.limit => {
                Err(self.window - now.duration_since(*oldest))
            }
            _ => Ok(()),
        }
    }

    fn failed(&self, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.push_back(now);
        // Bounded whatever the callers do.
        while failures.len() > self.limit {
            failures.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn only_the_boards_own_origin_may_post() {
        let cases: [(&[(&str, &str)], bool); 8] = [
            (
                &[
                    ("origin", "http://127.0.0.1:3000"),
                    ("host", "127.0.0.1:3000"),
                ],
                true,
            ),
            (
                &[
                    ("origin", "https://board.example"),
                    ("host", "BOARD.example"),
                ],
                true,
            ),
            (&[("sec-fetch-site", "same-origin")], true),
            (
                &[("sec-fetch-site", "cross-site"), ("host", "a.example")],
                false,
            ),
            (
                &[
                    ("origin", "https://evil.example"),
                    ("host", "board.example"),
                ],
                false,
            ),
            (
                &[
                    ("origin", "https://board.example.evil"),
                    ("host", "board.example"),
                ],
                false,
            ),
            (&[("origin", "null"), ("host", "board.example")], false),
            (&[("host", "board.example")], false),
        ];
        for (pairs, want) in cases {
            assert_eq!(same_origin(&headers(pairs)), want, "{pairs:?}");
        }
    }

    #[test]
    fn loopback_hosts_are_recognised() {
        let cases = [
            ("127.0.0.1:3000", true),
            ("localhost", true),
            ("LOCALHOST:80", true),
            ("[::1]:3000", true),
            ("127.1.2.3", true),
            ("board.example", false),
            ("10.0.0.1:3000", false),
            ("[2001:db8::1]:443", false),
            ("localhost.example", false),
        ];
        for (host, want) in cases {
            let h: HeaderMap = [(header::HOST, HeaderValue::from_static(host))]
                .into_iter()
                .collect();
            assert_eq!(host_is_loopback(&h), want, "{host}");
        }
        assert!(!host_is_loopback(&HeaderMap::new()));
    }

    #[test]
    fn the_throttle_refuses_after_the_limit_until_the_oldest_failure_ages_out() {
        let throttle = Throttle::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(throttle.check(t0 + Duration::from_secs(i)).is_ok());
            throttle.failed(t0 + Duration::from_secs(i));
        }
        assert_eq!(
            throttle.check(t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(50))
        );
        assert!(throttle.check(t0 + Duration::from_secs(60)).is_ok());
    }

    #[test]
    fn cookie_secure_reads_its_three_words() {
        let cases = [
            ("auto", Some(CookieSecure::Auto)),
            ("TRUE", Some(CookieSecure::Always)),
            (" false ", Some(CookieSecure::Never)),
            ("yes", None),
        ];
        for (word, want) in cases {
            assert_eq!(word.parse::<CookieSecure>().ok(), want, "{word}");
        }
    }

    #[test]
    fn the_cookie_has_every_flag() {
        assert_eq!(
            set_cookie("v1.1.ab", 43_200, true),
            "gdt_board=v1.1.ab; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200; Secure"
        );
        assert!(!set_cookie("", 0, false).contains("Secure"));
    }
}
