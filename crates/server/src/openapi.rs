//! The OpenAPI 3.1 document, generated from the handlers and the contract types, served at
//! `/api/v1/openapi.json`.
//!
//! Errors every operation can answer (401, 400, 503, and for bodies 413, 415, 422) are added
//! here once rather than repeated on each handler.

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::problem::{Problem, PROBLEM_JSON};
use crate::AppState;
use crate::{board, deployments};

/// The API's document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gdt — GitHub deployment tracker API",
        description = "Report CI/CD deployments as GitHub Deployments, tracked durably on \
                       Temporal. Every route but this document needs `Authorization: Bearer \
                       <token>`: an API token, or for reads (GET) also a viewer token or the \
                       board's sign-in cookie. Errors are RFC 9457 problem details. Health (`/health`, \
                       `/ready`) is served on the health port (8080 by default)."
    ),
    paths(
        deployments::start_deployment,
        deployments::report_status,
        deployments::get_deployment,
        deployments::list_deployments,
        board::api::environments,
        board::api::history,
        board::api::dora,
        openapi_json,
    ),
    components(schemas(Problem)),
    modifiers(&Security, &CommonErrors),
    security(("bearer" = [])),
    tags(
        (name = "deployments", description = "Deployments reported by pipelines"),
        (name = "board", description = "What is deployed where, and the delivery metrics (DORA)")
    )
)]
pub struct ApiDoc;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object))
)]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // The board page's sign-in cookie, which opens the reads (GET) only.
        components.add_security_scheme(
            "board_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "gdt_board",
                "Set by signing in at /board/sign-in; opens the API's reads only",
            ))),
        );
    }
}

struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                (&mut item.get, false),
                (&mut item.post, true),
                (&mut item.put, true),
                (&mut item.patch, true),
                (&mut item.delete, false),
            ];
            for (operation, has_body) in operations {
                if let Some(operation) = operation.as_mut() {
                    add_errors(operation, has_body);
                }
            }
        }
    }
}

fn add_errors(operation: &mut Operation, has_body: bool) {
    let public = operation
        .security
        .as_ref()
        .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
    let mut errors = vec![
        ("400", "Malformed request (path or query)"),
        (
            "503",
            "Temporal or the worker is unavailable, or the request timed out; retry later",
        ),
    ];
    if !public {
        errors.push(("401", "Missing or invalid bearer token"));
    }
    if has_body {
        errors.extend([
            (
                "403",
                "A viewer token or the board's sign-in: they open the reads only",
            ),
            ("413", "Body larger than server.max_body_bytes"),
            ("415", "Body is not application/json"),
            ("422", "Body is not valid for this operation"),
        ]);
    }
    for (code, description) in errors {
        if operation.responses.responses.contains_key(code) {
            continue;
        }
        let response = ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .insert(code.to_owned(), response.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `enum` of a component schema in the document, as words.
    fn allowed(document: &serde_json::Value, schema: &str) -> Vec<String> {
        document["components"]["schemas"][schema]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("{schema} has no enum: {document}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_document_lists_the_words_on_the_wire() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let codes = allowed(&document, "ProblemCode");
        for code in [
            "invalid_input",
            "temporal_unavailable",
            "deployment_terminal",
        ] {
            assert!(codes.iter().any(|c| c == code), "{code} in {codes:?}");
        }
        assert_eq!(
            document["components"]["schemas"]["Problem"]["properties"]["code"]["$ref"],
            "#/components/schemas/ProblemCode"
        );
        let acks = allowed(&document, "AckOutcome");
        assert_eq!(
            acks,
            [
                "queued",
                "duplicate_event",
                "queued_for_worker",
                "rejected_unknown_status",
                "ignored_after_terminal"
            ]
        );
        let outcomes = allowed(&document, "UpdateOutcome");
        assert!(outcomes.iter().any(|o| o == "superseded"), "{outcomes:?}");
        assert_eq!(outcomes.len(), 7, "{outcomes:?}");
    }
}
