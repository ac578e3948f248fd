//! Custom search attributes that make deployments findable in the Temporal UI and CLI
//! (`temporal workflow list --query 'GdtRepository="acme/api"'`).
//!
//! This file is their one home: names and types (the keys), the values a new deployment
//! starts with ([`at_start`], which both the start call and the workflow set), and how they
//! are registered ([`dev_server_flags`] for `temporal server start-dev`, [`all`] with each
//! key's type for `gdt worker`). They must be registered in the namespace before a workflow
//! upserts them.

use std::time::SystemTime;

use gdt_github::DeploymentState;
use temporalio_common::protos::temporal::api::enums::v1::IndexedValueType;
use temporalio_common::search_attributes::{
    SearchAttributeKey, SearchAttributeUpdate, SearchAttributes, Timestamp,
};

use crate::deployments::DeploymentWorkflowInput;

/// `owner/name` of the repository.
pub const REPOSITORY: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtRepository");
/// The deployment environment (`production`, `staging`, `pr-42`, …).
pub const ENVIRONMENT: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtEnvironment");
/// The commit SHA being deployed.
pub const COMMIT_SHA: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtCommitSha");
/// The deployment's current GitHub state (`pending`, `in_progress`, `success`, …).
pub const STATE: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtState");
/// The service deployed, when the deployment names one (a monorepo); absent otherwise.
pub const SERVICE: SearchAttributeKey<String> = SearchAttributeKey::keyword("GdtService");

/// When `GdtState` last changed (or the deployment started): set in the same upsert as the
/// state, so it costs no event. The board reads only the deployments changed since its last
/// read (`GdtUpdatedAt >= T`, one index range), instead of every running one.
pub const UPDATED_AT: SearchAttributeKey<Timestamp> = SearchAttributeKey::datetime("GdtUpdatedAt");

/// Every custom search attribute as it is registered: its name and type.
pub fn all() -> [(&'static str, IndexedValueType); 6] {
    let keyword = |key: SearchAttributeKey<String>| (key.name(), key.indexed_value_type());
    [
        keyword(REPOSITORY),
        keyword(ENVIRONMENT),
        keyword(COMMIT_SHA),
        keyword(STATE),
        keyword(SERVICE),
        (UPDATED_AT.name(), UPDATED_AT.indexed_value_type()),
    ]
}

/// `GdtState` set to `state` at `now`, with `GdtUpdatedAt`: what a state change upserts.
pub fn state_changed(state: DeploymentState, now: SystemTime) -> [SearchAttributeUpdate; 2] {
    [
        STATE.value_set(state.as_str().to_owned()),
        UPDATED_AT.value_set(Timestamp::from(now)),
    ]
}

/// The attributes of a deployment about to be tracked at `now`: its repository, environment,
/// commit and service (only when it names one, so repository-level deployments have none), in
/// state `pending`, updated `now`. The start call sets them (so a deployment is listed before
/// its first workflow task) and the workflow upserts the same values.
pub fn at_start(input: &DeploymentWorkflowInput, now: SystemTime) -> Vec<SearchAttributeUpdate> {
    let mut updates = vec![
        REPOSITORY.value_set(input.repository()),
        ENVIRONMENT.value_set(input.environment.clone()),
        COMMIT_SHA.value_set(input.commit_sha.clone()),
    ];
    updates.extend(state_changed(DeploymentState::Pending, now));
    if !input.service.is_empty() {
        updates.push(SERVICE.value_set(input.service.clone()));
    }
    updates
}

/// Whether a workflow started with the attributes [`at_start`] gives `input` (as the start
/// call sets them), so the workflow need not upsert them again. `GdtUpdatedAt` is left out:
/// runs started by a client of a release before it were recorded without this upsert, so
/// asking for it would break their replay; such a run gets it with its first state change,
/// and the board finds it meanwhile by counting the running deployments.
pub fn started_with(current: &SearchAttributes, input: &DeploymentWorkflowInput) -> bool {
    let service = (!input.service.is_empty()).then(|| input.service.clone());
    current.get(&REPOSITORY) == Some(input.repository())
        && current.get(&ENVIRONMENT).as_ref() == Some(&input.environment)
        && current.get(&COMMIT_SHA).as_ref() == Some(&input.commit_sha)
        && current.get(&STATE).as_deref() == Some(DeploymentState::Pending.as_str())
        && current.get(&SERVICE) == service
}

/// `--search-attribute NAME=TYPE` for each attribute, the flags with which
/// `temporal server start-dev` registers them.
pub fn dev_server_flags() -> Vec<String> {
    all()
        .iter()
        .flat_map(|(name, kind)| {
            [
                "--search-attribute".to_owned(),
                format!("{name}={}", cli_type(*kind)),
            ]
        })
        .collect()
}

/// The `temporal` CLI's word for a search attribute type (`--type` of `temporal operator
/// search-attribute create`, the `=TYPE` of `start-dev --search-attribute`).
pub fn cli_type(kind: IndexedValueType) -> &'static str {
    match kind {
        IndexedValueType::Text => "Text",
        IndexedValueType::Keyword => "Keyword",
        IndexedValueType::Int => "Int",
        IndexedValueType::Double => "Double",
        IndexedValueType::Bool => "Bool",
        IndexedValueType::Datetime => "Datetime",
        IndexedValueType::KeywordList => "KeywordList",
        IndexedValueType::Unspecified => "Unspecified",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_server_registers_every_attribute_with_its_type() {
        assert_eq!(
            dev_server_flags(),
            [
                "--search-attribute",
                "GdtRepository=Keyword",
                "--search-attribute",
                "GdtEnvironment=Keyword",
                "--search-attribute",
                "GdtCommitSha=Keyword",
                "--search-attribute",
                "GdtState=Keyword",
                "--search-attribute",
                "GdtService=Keyword",
                "--search-attribute",
                "GdtUpdatedAt=Datetime",
            ]
        );
    }

    #[test]
    fn a_new_deployment_is_pending() {
        let input = DeploymentWorkflowInput {
            repo_owner: "acme".to_owned(),
            repo_name: "api".to_owned(),
            commit_sha: "abc123".to_owned(),
            environment: "production".to_owned(),
            ..DeploymentWorkflowInput::default()
        };
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_790_000_000);
        let names: Vec<(String, bool)> = at_start(&input, now)
            .iter()
            .map(|u| (u.name().to_owned(), u.is_unset()))
            .collect();
        assert_eq!(
            names,
            [
                ("GdtRepository".to_owned(), false),
                ("GdtEnvironment".to_owned(), false),
                ("GdtCommitSha".to_owned(), false),
                ("GdtState".to_owned(), false),
                ("GdtUpdatedAt".to_owned(), false),
            ]
        );
        let set =
            temporalio_common::search_attributes::SearchAttributes::new(at_start(&input, now));
        assert_eq!(set.get(&REPOSITORY).as_deref(), Some("acme/api"));
        assert_eq!(set.get(&STATE).as_deref(), Some("pending"));
        assert_eq!(set.get(&UPDATED_AT), Some(Timestamp::from(now)));
        assert_eq!(set.get(&SERVICE), None, "no service, no attribute");
        let service = DeploymentWorkflowInput {
            service: "billing".to_owned(),
            ..input
        };
        let set =
            temporalio_common::search_attributes::SearchAttributes::new(at_start(&service, now));
        assert_eq!(set.get(&SERVICE).as_deref(), Some("billing"));
    }

    #[test]
    fn a_start_with_every_attribute_needs_no_upsert_and_any_other_does() {
        let input = DeploymentWorkflowInput {
            repo_owner: "acme".to_owned(),
            repo_name: "api".to_owned(),
            commit_sha: "abc123".to_owned(),
            environment: "production".to_owned(),
            service: "billing".to_owned(),
            ..DeploymentWorkflowInput::default()
        };
        let full = SearchAttributes::new(at_start(&input, SystemTime::UNIX_EPOCH));
        assert!(started_with(&full, &input));
        assert!(
            !started_with(&SearchAttributes::new(Vec::new()), &input),
            "none"
        );
        let without_service = DeploymentWorkflowInput {
            service: String::new(),
            ..input.clone()
        };
        assert!(
            !started_with(&full, &without_service),
            "a service the input does not name"
        );
        assert!(!started_with(
            &SearchAttributes::new(at_start(&without_service, SystemTime::UNIX_EPOCH)),
            &input
        ));
        let other_commit = DeploymentWorkflowInput {
            commit_sha: "def456".to_owned(),
            ..input.clone()
        };
        assert!(!started_with(&full, &other_commit), "another commit");
        let mut partial = at_start(&input, SystemTime::UNIX_EPOCH);
        partial.retain(|u| u.name() != "GdtState");
        assert!(
            !started_with(&SearchAttributes::new(partial), &input),
            "no state"
        );
        let mut older_client = at_start(&input, SystemTime::UNIX_EPOCH);
        older_client.retain(|u| u.name() != "GdtUpdatedAt");
        assert!(
            started_with(&SearchAttributes::new(older_client), &input),
            "a start by a release before GdtUpdatedAt replays without an upsert"
        );
    }
}
