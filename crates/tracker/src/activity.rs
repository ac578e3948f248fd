//! What the activities of both features share at the boundary with Temporal: the span every
//! activity logs in, the one classification of GitHub errors into Temporal failures (the
//! failure types the retry policies name), and reading a failure back in workflow code.

use std::future::Future;

use gdt_metrics::labels::ErrorType;
use temporalio_sdk::activities::{ActivityContext, ActivityError};
use temporalio_sdk::{ActivityExecutionError, ApplicationFailure};
use tracing::instrument::Instrumented;
use tracing::Instrument as _;

/// Failure type names the retry policies of both features treat as permanent: GitHub refused
/// the request as invalid (`ValidationError`: 404, 422, other 4xx, a configuration error) or
/// refused the credentials (`AuthenticationError`: 401, 403). Retrying cannot change either
/// answer.
pub const NON_RETRYABLE_ERROR_TYPES: [&str; 2] = ["ValidationError", "AuthenticationError"];

/// A span that puts the workflow id, run id, activity and attempt on every log line of
/// one activity execution.
pub(crate) fn activity_span(ctx: &ActivityContext) -> tracing::Span {
    let info = ctx.info();
    tracing::info_span!(
        "activity",
        activity = %info.activity_type,
        workflow_id = info.workflow_id.as_deref().unwrap_or(""),
        run_id = info.workflow_run_id.as_deref().unwrap_or(""),
        attempt = info.attempt,
    )
}

/// `work`, run inside this activity execution's [`activity_span`].
pub(crate) fn in_activity_span<F: Future>(ctx: &ActivityContext, work: F) -> Instrumented<F> {
    work.instrument(activity_span(ctx))
}

/// Turns a classified GitHub error into a Temporal failure: permanent errors are
/// non-retryable with the type the retry policy names, and rate limits carry the delay
/// GitHub asked for as the next retry's delay.
///
/// Every activity attempt that fails on GitHub ends here exactly once, so this is also where
/// the failure is logged: inside the activity's span (workflow id, run id, activity,
/// attempt), with GitHub's status and message. Without it a worker whose every deployment
/// fails with 401 or 422 would log nothing at all. For the same reason it is where
/// `gdt_activity_errors_total` counts the failed attempt, by the same sorting.
pub(crate) fn to_activity_error(err: &gdt_github::Error) -> ActivityError {
    let message = err.to_string();
    let (type_name, non_retryable, error_type) = classification(err);
    gdt_metrics::metrics().activity_error(error_type);
    if non_retryable {
        tracing::error!(
            github_status = err.status(),
            error = %message,
            "GitHub refused the request; the activity fails"
        );
    } else {
        tracing::warn!(
            github_status = err.status(),
            error = %message,
            "GitHub request failed; Temporal retries the activity"
        );
    }
    let next_retry_delay = match *err {
        gdt_github::Error::RateLimited { wait, .. } => Some(wait),
        _ => None,
    };
    let failure = ApplicationFailure::builder(message)
        .type_name(type_name.to_owned())
        .non_retryable(non_retryable)
        .maybe_next_retry_delay(next_retry_delay)
        .build();
    ActivityError::application(failure)
}

/// Whether retrying cannot change GitHub's answer: the failure [`to_activity_error`] makes of
/// it is non-retryable.
pub(crate) fn is_permanent(err: &gdt_github::Error) -> bool {
    classification(err).1
}

/// The failure type, whether it is permanent, and the metrics' label of a GitHub error.
fn classification(err: &gdt_github::Error) -> (&'static str, bool, ErrorType) {
    use gdt_github::Error as E;
    match *err {
        E::RateLimited { .. } => ("RateLimited", false, ErrorType::RateLimit),
        E::Server { .. } => ("GitHubServerError", false, ErrorType::ServerError),
        E::Transport(_) => ("GitHubUnavailable", false, ErrorType::Unavailable),
        E::Unauthorized { .. } | E::Forbidden { .. } => {
            ("AuthenticationError", true, ErrorType::Authentication)
        }
        E::NotFound { .. } | E::Validation { .. } | E::Client { .. } | E::Config(_) => {
            ("ValidationError", true, ErrorType::Validation)
        }
        E::Unexpected(_) => ("GitHubUnexpectedResponse", false, ErrorType::Unexpected),
    }
}

/// How long the GitHub client may sleep by itself inside this attempt: a quarter of what is
/// left before the attempt's deadline, at most 10 s. Longer waits go back to Temporal's retry
/// with the delay GitHub asked for, so an attempt never sleeps past its own timeout.
pub(crate) fn inline_wait_budget(ctx: &ActivityContext) -> std::time::Duration {
    let cap = std::time::Duration::from_secs(10);
    let Some(deadline) = ctx.info().deadline else {
        return cap;
    };
    deadline
        .duration_since(std::time::SystemTime::now())
        .map(|left| (left / 4).min(cap))
        .unwrap_or_default()
}

/// The innermost message of an activity failure, as a workflow sees it: the activity's own
/// error (GitHub's message), not the SDK's "Activity task failed" wrappers around it.
pub(crate) fn failure_message(err: &ActivityExecutionError) -> String {
    let Some(mut failure) = err.failure() else {
        return err.to_string();
    };
    while let Some(cause) = failure.cause.as_deref() {
        failure = cause;
    }
    failure.message.clone()
}

/// A call to Temporal from an activity (a lane's signal, a claim, a describe) that failed or
/// got no answer in time: logged, and the attempt is retried (type `TemporalUnavailable`).
pub(crate) fn temporal_unavailable(message: String) -> ActivityError {
    tracing::warn!(error = %message, "Temporal call failed; the activity is retried");
    ActivityError::application(
        ApplicationFailure::builder(message)
            .type_name("TemporalUnavailable".to_owned())
            .build(),
    )
}

/// The failure a workflow ends with when its input cannot be used: type `InvalidInput`,
/// never retried.
pub(crate) fn invalid_input(message: String) -> ApplicationFailure {
    ApplicationFailure::builder(message)
        .type_name("InvalidInput".to_owned())
        .non_retryable(true)
        .build()
}
