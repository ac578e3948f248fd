//! GitHub's conditional requests: validators (`ETag`, `Last-Modified`) on the `GET`s the
//! sandbox serves, and `304 Not Modified` when a request's `If-None-Match` or
//! `If-Modified-Since` shows the client already has the answer.
//!
//! # What GitHub documents
//! REST API, "Best practices", *Use conditional requests*
//! (<https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests>):
//! "Most endpoints return an `etag` header, and many endpoints return a `last-modified`
//! header. You can use the values of these headers to make conditional `GET` requests. If the
//! response has not changed, you will receive a `304 Not Modified` response. Making a
//! conditional request does not count against your primary rate limit if a `304` response is
//! returned and the request was made while correctly authorized with an `Authorization`
//! header." The same page: conditional requests for unsafe methods (`POST`, `PUT`, `PATCH`,
//! `DELETE`) "are not supported", and "a different page size, page number, or filter produces
//! a different response with a different `etag`".
//!
//! # What the sandbox infers, and from what
//! - **Which answers carry what.** Recorded api.github.com answers (the public
//!   `octokit/fixtures` repository, `scenarios/api.github.com/*/raw-fixture.json`) carry an
//!   `ETag` on every successful `GET` of a resource or list, and a `Last-Modified` on single
//!   objects (a repository, a label, a release, a file's contents) but not on lists (issues,
//!   labels, collaborators, a commit's statuses). The sandbox sends `Last-Modified` on a
//!   `200` whose body is one object with an `updated_at` (a pull request, a deployment, a
//!   comment, an environment, the App) or whose handler set one (a file's contents: GitHub
//!   dates them by the last commit that touched the file; the sandbox, which has no commits,
//!   by when the head's files were given), and only an `ETag` on lists and check runs (no
//!   `updated_at`; whether GitHub dates a check run is not known). `/rate_limit` gets no
//!   validators.
//! - **Strong or weak.** In those recordings, requests sent without `Accept-Encoding` got
//!   strong tags (`"<64 hex>"`) and the one sent with `Accept-Encoding: gzip` got a weak one
//!   (`W/"<64 hex>"`): GitHub weakens the tag when it compresses. The sandbox never
//!   compresses but follows the tag's form: weak when the request accepts `gzip`, `deflate` or
//!   `br`, strong otherwise. `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2), so
//!   either form of a tag matches.
//! - **Tags belong to a credential.** GitHub Support, quoted in
//!   <https://github.com/eclipse-csi/otterdog/issues/201>: "It's currently expected for ETags
//!   to be auth token specific" (also <https://github.com/github/docs/issues/34689>: a tag
//!   obtained with one installation token does not match under the next). The sandbox's tag is
//!   a SHA-256 of the credential and the exact body, so a new installation token reads every
//!   resource once in full. `If-Modified-Since` does not depend on the token.
//! - **Precedence.** RFC 9110 §13.2.2: `If-Modified-Since` is evaluated only when there is no
//!   `If-None-Match`, and only against a `Last-Modified`; an unparsable date is ignored. Dates
//!   have one-second resolution, as on GitHub, so a change within the second of the
//!   `Last-Modified` a client holds is not seen by `If-Modified-Since` (an `ETag` sees it).
//! - **Quota.** A `304` to an authenticated request uses no quota; one without valid
//!   credentials is refused (401) before any validator is looked at. A caller whose quota is
//!   exhausted is refused as before even when the answer would be `304` (not documented
//!   either way; the refusal is the conservative reading).

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::auth::{credential, Credential};

/// GitHub's `Cache-Control` on answers to authenticated requests.
const CACHE_CONTROL: &str = "private, max-age=60, s-maxage=60";
/// GitHub's `Vary` on API answers.
const VARY: &str = "Accept, Authorization, Cookie, X-GitHub-OTP, Accept-Encoding";

/// A `GET` (or `HEAD`) the sandbox answers with validators, with what the request said
/// about the representation it already has.
#[derive(Debug)]
pub(crate) struct Read {
    /// The `Authorization` token, only hashed into the tag (never shown).
    credential: Option<String>,
    weak: bool,
    if_none_match: Option<String>,
    if_modified_since: Option<String>,
}

/// What [`Read::answer`] made of the handler's response.
#[derive(Debug)]
pub(crate) struct Answered {
    pub(crate) response: Response,
    /// `true` when the answer is `304 Not Modified`.
    pub(crate) not_modified: bool,
}

impl Read {
    /// The read a request is, or `None` when its answer carries no validators (other
    /// methods, `/rate_limit`).
    pub(crate) fn of(method: &Method, path: &str, headers: &HeaderMap) -> Option<Self> {
        if (method != Method::GET && method != Method::HEAD) || path == "/rate_limit" {
            return None;
        }
        let joined = |name: header::HeaderName| {
            let values: Vec<&str> = headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| values.join(", "))
        };
        Some(Self {
            credential: match credential(headers) {
                Some(Credential::Token(token)) => Some(token.to_owned()),
                _ => None,
            },
            weak: joined(header::ACCEPT_ENCODING).is_some_and(|v| accepts_compression(&v)),
            if_none_match: joined(header::IF_NONE_MATCH),
            if_modified_since: joined(header::IF_MODIFIED_SINCE),
        })
    }

    /// Whether the request names a representation it has (and so may be answered `304`).
    pub(crate) fn is_conditional(&self) -> bool {
        self.if_none_match.is_some() || self.if_modified_since.is_some()
    }

    /// Puts validators on a `200` and, when `evaluate` and the request's conditions show the
    /// client has this representation, turns it into a `304` without a body. Other answers
    /// pass through untouched.
    pub(crate) async fn answer(&self, response: Response, evaluate: bool) -> Answered {
        let pass = |response| Answered {
            response,
            not_modified: false,
        };
        if response.status() != StatusCode::OK {
            return pass(response);
        }
        let (parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            let error = serde_json::json!({"message": "Server Error"});
            return pass(crate::error::json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                &error,
            ));
        };
        let etag = entity_tag(self.credential.as_deref(), &bytes, self.weak);
        let last_modified = parts
            .headers
            .get(header::LAST_MODIFIED)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date)
            .or_else(|| last_modified(&bytes));
        let not_modified = evaluate
            && not_modified(
                self.if_none_match.as_deref(),
                self.if_modified_since.as_deref(),
                &etag,
                last_modified,
            );
        // A 304 carries the validators and caching headers of the 200 it stands for, and
        // nothing about a body.
        let mut response = if not_modified {
            StatusCode::NOT_MODIFIED.into_response()
        } else {
            Response::from_parts(parts, Body::from(bytes))
        };
        let headers = response.headers_mut();
        set(headers, header::ETAG, &etag);
        if let Some(time) = last_modified {
            set(headers, header::LAST_MODIFIED, &http_date(time));
        }
        set(headers, header::CACHE_CONTROL, CACHE_CONTROL);
        set(headers, header::VARY, VARY);
        Answered {
            response,
            not_modified,
        }
    }
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    // Every value here is ASCII the sandbox made.
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// The tag of `body` as served to `credential`: a SHA-256 of both, quoted, `W/` when weak.
pub(crate) fn entity_tag(credential: Option<&str>, body: &[u8], weak: bool) -> String {
    let mut hasher = Sha256::new();
    hasher.update(credential.unwrap_or_default().as_bytes());
    hasher.update([0]);
    hasher.update(body);
    let digest = hex::encode(hasher.finalize());
    format!("{}\"{digest}\"", if weak { "W/" } else { "" })
}

/// Whether an `Accept-Encoding` value accepts a compression GitHub applies (a coding with
/// `q=0` is refused, not accepted).
fn accepts_compression(value: &str) -> bool {
    value.split(',').any(|item| {
        let mut parts = item.split(';').map(str::trim);
        let coding = parts.next().unwrap_or_default();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q == 0.0))
        });
        ["gzip", "deflate", "br"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(coding))
            && !refused
    })
}

/// The `Last-Modified` of a body: the `updated_at` of a single object, none for a list.
fn last_modified(body: &[u8]) -> Option<DateTime<Utc>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let updated_at = value.as_object()?.get("updated_at")?.as_str()?;
    DateTime::parse_from_rfc3339(updated_at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// An HTTP-date (IMF-fixdate), e.g. `Wed, 25 Oct 2023 19:17:59 GMT`.
pub(crate) fn http_date(time: DateTime<Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parses an IMF-fixdate (the form GitHub sends and clients echo). The obsolete RFC 850 and
/// asctime forms are not read: the header is then ignored, which only costs a full answer.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Whether the client's conditions hold for a representation with `etag` and
/// `last_modified`, i.e. whether the answer is `304`.
fn not_modified(
    if_none_match: Option<&str>,
    if_modified_since: Option<&str>,
    etag: &str,
    last_modified: Option<DateTime<Utc>>,
) -> bool {
    if let Some(tags) = if_none_match {
        return none_match_hits(tags, etag);
    }
    match (if_modified_since.and_then(parse_http_date), last_modified) {
        (Some(since), Some(modified)) => modified <= since,
        _ => false,
    }
}

/// `If-None-Match` with the weak comparison: `*`, or any listed tag whose opaque part equals
/// `etag`'s. A malformed list matches nothing.
fn none_match_hits(list: &str, etag: &str) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let Some(ours) = opaque(etag) else {
        return false;
    };
    entity_tags(list).is_some_and(|tags| tags.contains(&ours))
}

/// The quoted part of one entity tag (`W/"x"` or `"x"` → `"x"`).
fn opaque(tag: &str) -> Option<&str> {
    match entity_tags(tag)?.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// The opaque tags (with their quotes) of a comma-separated list of entity tags, or `None`
/// when the list is malformed. Commas may appear inside a tag, so the list is scanned rather
/// than split.
fn entity_tags(list: &str) -> Option<Vec<&str>> {
    let mut tags = Vec::new();
    let mut rest = list;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            return (!tags.is_empty()).then_some(tags);
        }
        rest = rest.strip_prefix("W/").unwrap_or(rest);
        let inner = rest.strip_prefix('"')?;
        let end = inner.find('"')?;
        tags.push(&rest[..end + 2]);
        rest = &inner[end + 1..];
        // After a tag, only whitespace or a comma may follow.
        if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_reads_lists() {
        let strong = "\"abc\"";
        for (header, etag, hits) in [
            ("\"abc\"", strong, true),
            ("W/\"abc\"", strong, true),
            ("\"abc\"", "W/\"abc\"", true),
            ("W/\"abc\"", "W/\"abc\"", true),
            ("\"x\", \"abc\"", strong, true),
            ("\"x\",W/\"abc\"", strong, true),
            ("\"a,b\", \"abc\"", strong, true),
            ("*", strong, true),
            (" * ", "W/\"abc\"", true),
            ("\"abd\"", strong, false),
            ("abc", strong, false),
            ("\"ABC\"", strong, false),
            ("\"abc", strong, false),
            ("\"abc\"x", strong, false),
            ("", strong, false),
            ("w/\"abc\"", strong, false),
        ] {
            assert_eq!(none_match_hits(header, etag), hits, "{header:?} vs {etag}");
        }
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let at = DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let same = "Thu, 26 Nov 2026 10:00:00 GMT";
        let earlier = "Thu, 26 Nov 2026 09:59:59 GMT";
        let later = "Thu, 26 Nov 2026 10:00:01 GMT";
        let tag = "\"t\"";
        for (inm, ims, modified, expected) in [
            (Some("\"t\""), None, Some(at), true),
            (Some("\"u\""), Some(same), Some(at), false),
            (Some("\"t\""), Some(earlier), Some(at), true),
            (None, Some(same), Some(at), true),
            (None, Some(later), Some(at), true),
            (None, Some(earlier), Some(at), false),
            (None, Some(same), None, false),
            (None, Some("yesterday"), Some(at), false),
            (None, None, Some(at), false),
        ] {
            assert_eq!(
                not_modified(inm, ims, tag, modified),
                expected,
                "{inm:?} {ims:?} {modified:?}"
            );
        }
    }

    #[test]
    fn tags_are_per_credential_and_body_and_weak_when_compressed() {
        let a = entity_tag(Some("t1"), b"[]", false);
        assert!(
            a.starts_with('"') && a.ends_with('"') && a.len() == 66,
            "{a}"
        );
        assert_eq!(a, entity_tag(Some("t1"), b"[]", false));
        assert_ne!(a, entity_tag(Some("t2"), b"[]", false));
        assert_ne!(a, entity_tag(Some("t1"), b"[1]", false));
        assert_eq!(entity_tag(Some("t1"), b"[]", true), format!("W/{a}"));
        for (value, compresses) in [
            ("gzip", true),
            ("gzip, deflate, br", true),
            ("identity", false),
            ("GZIP;q=0.5", true),
            ("gzip;q=0", false),
            ("zstd", false),
        ] {
            assert_eq!(accepts_compression(value), compresses, "{value}");
        }
    }

    #[test]
    fn single_objects_are_dated_by_updated_at_and_lists_are_not() {
        let dated = last_modified(br#"{"id":1,"updated_at":"2026-11-26T10:00:00Z"}"#);
        assert_eq!(
            dated.map(http_date).as_deref(),
            Some("Thu, 26 Nov 2026 10:00:00 GMT")
        );
        assert_eq!(
            last_modified(br#"[{"updated_at":"2026-11-26T10:00:00Z"}]"#),
            None
        );
        assert_eq!(last_modified(br#"{"id":1}"#), None);
        assert_eq!(
            parse_http_date("Thu, 26 Nov 2026 10:00:00 GMT"),
            dated,
            "round trip"
        );
    }
}
