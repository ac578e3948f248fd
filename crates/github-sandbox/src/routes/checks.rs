//! Check runs: `/repos/{owner}/{repo}/check-runs[/{id}[/annotations]]` and
//! `/repos/{owner}/{repo}/commits/{ref}/check-runs`.
//!
//! Creating and updating need an installation token, as on GitHub; reading
//! works with any token.

use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::auth::Principal;
use crate::context::{RepoRequest, RequestContext};
use crate::error::{
    json_response, ApiError, DOCS_CREATE_CHECK_RUN, DOCS_LIST_CHECK_RUNS, DOCS_UPDATE_CHECK_RUN,
};
use crate::pagination::Page;
use crate::routes::{paginated, parse_object, path_number, with_link, Body};
use crate::state::{
    Annotation, AnnotationLevel, CheckRun, CheckRunFields, CheckRunFilter, CheckRunUpdate,
    CheckStatus, Conclusion, NewCheckRun, OutputInput,
};

/// GitHub's limit on annotations per request; more go in later updates.
const MAX_ANNOTATIONS_PER_REQUEST: usize = 50;
/// GitHub's limit on `output.summary` and `output.text`, checked twice: in
/// characters by the request schema, then in bytes by the model.
const MAX_OUTPUT_SIZE: usize = 65_535;

/// `POST /repos/{owner}/{repo}/check-runs`
pub(crate) async fn create(req: RepoRequest, body: Bytes) -> Result<Response, ApiError> {
    let docs = DOCS_CREATE_CHECK_RUN;
    let app_id = installation_app(&req.ctx, docs)?;
    let body = Body::new(parse_object(&body, docs)?, docs);
    let new = NewCheckRun {
        name: body.required_string("name")?,
        head_sha: body.required_string("head_sha")?,
        app_id,
        fields: parse_fields(&body, true)?,
    };
    let created = req
        .store()
        .create_check_run(&req.scope(), new, Utc::now())
        .map_err(|err| ApiError::from_store(&err, docs))?;
    Ok(json_response(StatusCode::CREATED, &created))
}

/// `GET /repos/{owner}/{repo}/check-runs/{check_run_id}`
pub(crate) async fn get_one(req: RepoRequest<u64>) -> Result<Response, ApiError> {
    let run = req.store().get::<CheckRun>(&req.scope(), req.rest)?;
    Ok(json_response(StatusCode::OK, &run))
}

/// `PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}`. The id is taken
/// as text and parsed after the token check, so a plain token gets the 403
/// whatever the id.
pub(crate) async fn update(req: RepoRequest<String>, body: Bytes) -> Result<Response, ApiError> {
    let docs = DOCS_UPDATE_CHECK_RUN;
    installation_app(&req.ctx, docs)?;
    let id = path_number(&req.rest)?;
    let body = Body::new(parse_object(&body, docs)?, docs);
    let update = CheckRunUpdate {
        name: body.string("name")?,
        fields: parse_fields(&body, false)?,
    };
    let updated = req
        .store()
        .update_check_run(&req.scope(), id, update, Utc::now())
        .map_err(|err| ApiError::from_store(&err, docs))?;
    Ok(json_response(StatusCode::OK, &updated))
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs[?check_name=&status=&filter=&app_id=]`
pub(crate) async fn list_for_ref(req: RepoRequest<String>, uri: Uri) -> Result<Response, ApiError> {
    let mut filter = CheckRunFilter::default();
    for (key, value) in url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "check_name" => filter.check_name = Some(value.into_owned()),
            // Unknown values filter nothing out rather than failing, which
            // keeps the sandbox lenient where GitHub's answer is not known.
            "status" => filter.status = CheckStatus::parse(&value),
            "filter" => filter.all = value == "all",
            "app_id" => filter.app_id = value.parse().ok(),
            _ => {}
        }
    }
    let page = Page::from_query(uri.query());
    let listed = req
        .store()
        .list_check_runs(&req.scope(), &req.rest, &filter, page)
        .map_err(|err| ApiError::from_store(&err, DOCS_LIST_CHECK_RUNS))?;
    let total = listed.total;
    let body = json!({"total_count": total, "check_runs": listed.items});
    Ok(with_link(
        &req.ctx,
        &uri,
        page,
        total,
        json_response(StatusCode::OK, &body),
    ))
}

/// `GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations`
pub(crate) async fn list_annotations(
    req: RepoRequest<u64>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let page = Page::from_query(uri.query());
    let listed = req.store().list_annotations(&req.scope(), req.rest, page)?;
    Ok(paginated(&req.ctx, &uri, page, listed))
}

/// The App behind the request's installation token. GitHub refuses check run
/// writes from anything else (plain tokens, OAuth) with this 403.
fn installation_app(ctx: &RequestContext, docs: &'static str) -> Result<u64, ApiError> {
    match ctx.principal {
        Some(Principal::Installation { app_id, .. }) => Ok(app_id),
        _ => Err(ApiError::Forbidden {
            message: "You must authenticate via a GitHub App.",
            docs,
        }),
    }
}

/// The fields create and update share. Creating requires `output.title` and
/// `output.summary` when `output` is given; updating requires `summary` only.
fn parse_fields(body: &Body, creating: bool) -> Result<CheckRunFields, ApiError> {
    Ok(CheckRunFields {
        details_url: body.string("details_url")?,
        external_id: body.string("external_id")?,
        status: body.one_of("status", CheckStatus::NAMES, CheckStatus::parse)?,
        conclusion: body.one_of("conclusion", Conclusion::NAMES, Conclusion::parse)?,
        started_at: time(body, "started_at")?,
        completed_at: time(body, "completed_at")?,
        output: body
            .object("output")?
            .map(|output| parse_output(&output, creating))
            .transpose()?,
    })
}

/// An ISO 8601 time field.
fn time(body: &Body, key: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
    let Some(text) = body.string(key)? else {
        return Ok(None);
    };
    DateTime::parse_from_rfc3339(&text)
        .map(|time| Some(time.with_timezone(&Utc)))
        .map_err(|_| body.type_error(key, &json!(text), "a date-time"))
}

fn parse_output(output: &Body, creating: bool) -> Result<OutputInput, ApiError> {
    let title = if creating {
        Some(output.required_string("title")?)
    } else {
        output.string("title")?
    };
    let summary = output.required_string("summary")?;
    let text = output.string("text")?;
    check_output_size(output, "summary", &summary)?;
    if let Some(text) = &text {
        check_output_size(output, "text", text)?;
    }
    let annotations = output.array("annotations")?.unwrap_or_default();
    if annotations.len() > MAX_ANNOTATIONS_PER_REQUEST {
        return Err(ApiError::InvalidRequest {
            detail: format!(
                "No more than {MAX_ANNOTATIONS_PER_REQUEST} items are allowed; {} were supplied.",
                annotations.len()
            ),
            docs: output.docs(),
        });
    }
    // Images are accepted for compatibility but not kept.
    output.array("images")?;
    let annotations = annotations
        .iter()
        .map(|item| match item {
            Value::Object(map) => parse_annotation(&Body::new(map.clone(), output.docs())),
            other => Err(output.type_error("annotations/items", other, "an object")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(OutputInput {
        title,
        summary: Some(summary),
        text,
        annotations,
    })
}

/// GitHub's two size checks of an output text: the schema counts characters,
/// the model then counts UTF-8 bytes (so text of many multi-byte characters
/// can pass the first and fail the second).
fn check_output_size(output: &Body, field: &'static str, value: &str) -> Result<(), ApiError> {
    let chars = value.chars().count();
    if chars > MAX_OUTPUT_SIZE {
        return Err(ApiError::InvalidRequest {
            detail: format!(
                "Only {MAX_OUTPUT_SIZE} characters are allowed; {chars} were supplied."
            ),
            docs: output.docs(),
        });
    }
    if value.len() > MAX_OUTPUT_SIZE {
        return Err(ApiError::ValidationFailed {
            resource: "CheckRun",
            field,
            message: format!("{field} exceeds a maximum bytesize of {MAX_OUTPUT_SIZE}"),
            docs: output.docs(),
        });
    }
    Ok(())
}

fn parse_annotation(item: &Body) -> Result<Annotation, ApiError> {
    let path = item.required_string("path")?;
    let start_line = item.required_integer("start_line")?;
    let end_line = item.required_integer("end_line")?;
    let annotation_level = item.required_one_of(
        "annotation_level",
        AnnotationLevel::NAMES,
        AnnotationLevel::parse,
    )?;
    Ok(Annotation {
        path,
        start_line,
        end_line,
        start_column: item.integer("start_column")?,
        end_column: item.integer("end_column")?,
        annotation_level,
        message: item.required_string("message")?,
        title: item.string("title")?,
        raw_details: item.string("raw_details")?,
    })
}
