//! Handlers, one module per area, and the request-body helpers they share.

pub(crate) mod apps;
pub(crate) mod control;
pub(crate) mod deployments;

use serde_json::{Map, Value};

use crate::error::ApiError;

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
        self.string(key)?.ok_or_else(|| ApiError::InvalidRequest {
            detail: format!("\"{key}\" wasn't supplied."),
            docs: self.docs,
        })
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
