//! Handlers, one module per area, and the request and response helpers they
//! share.

pub(crate) mod apps;
pub(crate) mod checks;
pub(crate) mod comments;
pub(crate) mod control;
pub(crate) mod deployments;
pub(crate) mod environments;
pub(crate) mod pulls;

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value};

use crate::context::RequestContext;
use crate::error::{json_response, ApiError, DOCS_REST};
use crate::pagination::Page;
use crate::state::{Listed, StoreError};

impl ApiError {
    /// GitHub's answer to a store refusal, on an endpoint whose errors link
    /// `docs`. The one mapping from store errors to answers: the store picks
    /// the refusal (and its message), this picks the status and body shape.
    pub(crate) fn from_store(err: &StoreError, docs: &'static str) -> Self {
        let message = err.to_string();
        match err {
            StoreError::NotFound => Self::NotFound,
            StoreError::NoRefFound(_)
            | StoreError::NoCommitForSha(_)
            | StoreError::ActiveDeployment => Self::Unprocessable { message, docs },
            StoreError::NoCommitForRef(_) => Self::NotFoundMessage { message, docs },
            StoreError::ConclusionRequired => Self::InvalidRequest {
                detail: message,
                docs,
            },
        }
    }
}

/// For endpoints whose errors link GitHub's REST overview (reads, whose only
/// refusal is `NotFound`); the others call [`ApiError::from_store`] with
/// their own page.
impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        Self::from_store(&err, DOCS_REST)
    }
}

/// Ids and numbers in paths that are not numbers name nothing, so they are 404s.
pub(crate) fn path_number(raw: &str) -> Result<u64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}

/// A list answer with GitHub's `Link` header.
pub(crate) fn paginated(ctx: &RequestContext, uri: &Uri, page: Page, listed: Listed) -> Response {
    with_link(
        ctx,
        uri,
        page,
        listed.total,
        json_response(StatusCode::OK, &Value::Array(listed.items)),
    )
}

/// Adds the `Link` header of `page` of `total` items to `response`.
pub(crate) fn with_link(
    ctx: &RequestContext,
    uri: &Uri,
    page: Page,
    total: usize,
    mut response: Response,
) -> Response {
    let url = format!("{}{}", ctx.base_url, uri.path());
    let link = page.link_header(&url, uri.query(), total);
    if let Some(value) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

/// Parses a request body as a JSON object the way GitHub does: an empty body
/// is an empty object, text that is not JSON is "Problems parsing JSON".
pub(crate) fn parse_object(
    body: &[u8],
    docs: &'static str,
) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(ApiError::InvalidRequest {
            detail: format!("For 'links/0/schema', {other} is not an object."),
            docs,
        }),
        Err(_) => Err(ApiError::ProblemsParsingJson),
    }
}

/// Typed access to a request body's fields, producing GitHub's 422 messages.
pub(crate) struct Body {
    map: Map<String, Value>,
    docs: &'static str,
}

impl Body {
    pub(crate) fn new(map: Map<String, Value>, docs: &'static str) -> Self {
        Self { map, docs }
    }

    /// A field's value; JSON `null` counts as absent, as GitHub treats it.
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn type_error(&self, key: &str, value: &Value, expected: &str) -> ApiError {
        ApiError::InvalidRequest {
            detail: format!("For 'properties/{key}', {value} is not {expected}."),
            docs: self.docs,
        }
    }

    pub(crate) fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.type_error(key, other, "a string")),
        }
    }

    pub(crate) fn required_string(&self, key: &str) -> Result<String, ApiError> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    /// A non-negative integer field.
    pub(crate) fn integer(&self, key: &str) -> Result<Option<u64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(value) => value
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.type_error(key, value, "an integer")),
        }
    }

    pub(crate) fn required_integer(&self, key: &str) -> Result<u64, ApiError> {
        self.integer(key)?.ok_or_else(|| self.missing(key))
    }

    /// A nested object, checked with the same documentation link.
    pub(crate) fn object(&self, key: &str) -> Result<Option<Body>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Body::new(map.clone(), self.docs))),
            Some(other) => Err(self.type_error(key, other, "an object")),
        }
    }

    pub(crate) fn array(&self, key: &str) -> Result<Option<&[Value]>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.type_error(key, other, "an array")),
        }
    }

    /// A string field that must be one of `names`, read with `parse` (which
    /// accepts exactly `names`).
    pub(crate) fn one_of<T>(
        &self,
        key: &str,
        names: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ApiError> {
        let Some(value) = self.string(key)? else {
            return Ok(None);
        };
        parse(&value).map(Some).ok_or_else(|| {
            let names: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            ApiError::InvalidRequest {
                detail: format!(
                    "For 'properties/{key}', \"{value}\" is not one of [{}].",
                    names.join(", ")
                ),
                docs: self.docs,
            }
        })
    }

    pub(crate) fn required_one_of<T>(
        &self,
        key: &str,
        names: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ApiError> {
        self.one_of(key, names, parse)?
            .ok_or_else(|| self.missing(key))
    }

    /// Whether `key` is given as JSON `null` (which [`Self::get`] treats as
    /// absent), for settings that `null` clears.
    pub(crate) fn has_null(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(Value::is_null)
    }

    /// The `documentation_url` of this body's errors.
    pub(crate) fn docs(&self) -> &'static str {
        self.docs
    }

    fn missing(&self, key: &str) -> ApiError {
        ApiError::InvalidRequest {
            detail: format!("\"{key}\" wasn't supplied."),
            docs: self.docs,
        }
    }

    pub(crate) fn boolean(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.type_error(key, other, "a boolean")),
        }
    }

    pub(crate) fn string_array(&self, key: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.type_error(&format!("{key}/items"), other, "a string")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.type_error(key, other, "an array")),
        }
    }
}
