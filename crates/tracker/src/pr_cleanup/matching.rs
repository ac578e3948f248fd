//! Which deployments and environments a closing pull request's clean-up ends: pure, and
//! table-tested.
//!
//! A deployment matches when its environment is one a configured pattern names for the pull
//! request (`pr-{number}`, `review/{branch}`), or, with `pr_cleanup.match_head_ref`, when it
//! deployed the pull request's head branch **to a transient environment**. A deployment of
//! the head branch to a lasting environment never matches by its ref alone: a `develop` →
//! `main` pull request would otherwise end `develop`'s staging. Nothing in `production` (by
//! name or by `production_environment`) ever matches. Environment names are compared without
//! regard to case, as GitHub does.

use serde_json::Value;

use super::model::{ClosedPullRequest, Preview};

/// The environment GitHub treats as production by default; never cleaned up.
const PRODUCTION: &str = "production";

/// How deployments are matched (from `pr_cleanup`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchRules {
    /// `pr_cleanup.environment_patterns`.
    pub environment_patterns: Vec<String>,
    /// `pr_cleanup.match_head_ref`.
    pub match_head_ref: bool,
}

/// A deployment as listed by GitHub, the parts matching reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Deployment id.
    pub id: u64,
    /// Environment.
    pub environment: String,
    /// The ref deployed.
    pub git_ref: String,
    /// `transient_environment`.
    pub transient: Option<bool>,
    /// `production_environment`.
    pub production: Option<bool>,
    /// The deployment's payload.
    pub payload: Value,
}

/// What a clean-up ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The deployments, by id (oldest first), each once.
    pub previews: Vec<Preview>,
    /// Pattern-named environments that held a matched deployment and no production one,
    /// spelled as the first deployment found in it spells it.
    pub environments: Vec<String>,
}

/// The environment names `rules` give for `pr`, without `production`, each once (ignoring
/// case). These are what the clean-up lists deployments of.
pub fn environment_names(rules: &MatchRules, pr: &ClosedPullRequest) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for pattern in &rules.environment_patterns {
        if pattern.contains("{branch}") && pr.head_ref.is_empty() {
            continue;
        }
        let name = pattern
            .replace("{number}", &pr.number.to_string())
            .replace("{branch}", &pr.head_ref);
        let taken = names.iter().any(|n| n.eq_ignore_ascii_case(&name));
        if !name.is_empty() && !name.eq_ignore_ascii_case(PRODUCTION) && !taken {
            names.push(name);
        }
    }
    names
}

/// Whether deployments of the head branch are listed too.
pub fn lists_head_ref(rules: &MatchRules, pr: &ClosedPullRequest) -> bool {
    rules.match_head_ref && !pr.head_ref.is_empty()
}

/// The deployments among `listed` (from any of the listings, duplicates allowed) that the
/// clean-up of `pr` ends, and the environments it may delete.
pub fn select(rules: &MatchRules, pr: &ClosedPullRequest, listed: &[Listed]) -> Selection {
    let names = environment_names(rules, pr);
    let mut matched: Vec<(&Listed, bool)> = Vec::new();
    for deployment in listed {
        if deployment.production == Some(true)
            || deployment.environment.eq_ignore_ascii_case(PRODUCTION)
            || matched.iter().any(|(m, _)| m.id == deployment.id)
        {
            continue;
        }
        let by_pattern = names
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&deployment.environment));
        let by_ref = lists_head_ref(rules, pr)
            && deployment.git_ref == pr.head_ref
            && deployment.transient == Some(true);
        if by_pattern || by_ref {
            matched.push((deployment, by_pattern));
        }
    }
    matched.sort_by_key(|(d, _)| d.id);
    // Deleting an environment deletes every deployment in it: never one that holds a
    // production deployment.
    let holds_production = |environment: &str| {
        listed
            .iter()
            .any(|d| d.production == Some(true) && d.environment.eq_ignore_ascii_case(environment))
    };
    let mut environments: Vec<String> = Vec::new();
    for (deployment, by_pattern) in &matched {
        let seen = environments
            .iter()
            .any(|e| e.eq_ignore_ascii_case(&deployment.environment));
        if *by_pattern && !seen && !holds_production(&deployment.environment) {
            environments.push(deployment.environment.clone());
        }
    }
    let previews = matched
        .into_iter()
        .map(|(d, _)| Preview {
            deployment_id: d.id,
            environment: d.environment.clone(),
            tracker: tracker_of(&d.payload),
        })
        .collect();
    Selection {
        previews,
        environments,
    }
}

/// The gdt workflow tracking a deployment: its payload's `workflow_id`. GitHub returns the
/// payload as an object, or as the JSON text it was given as.
pub fn tracker_of(payload: &Value) -> Option<String> {
    crate::deployments::model::payload::text(
        payload,
        crate::deployments::model::payload::WORKFLOW_ID,
    )
    .filter(|id| !id.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pr() -> ClosedPullRequest {
        ClosedPullRequest {
            owner: "acme".to_owned(),
            repo: "web".to_owned(),
            number: 7,
            head_ref: "feature-x".to_owned(),
            merged: true,
        }
    }

    fn rules(patterns: &[&str], match_head_ref: bool) -> MatchRules {
        MatchRules {
            environment_patterns: patterns.iter().map(|p| (*p).to_owned()).collect(),
            match_head_ref,
        }
    }

    fn listed(id: u64, environment: &str, git_ref: &str, transient: Option<bool>) -> Listed {
        Listed {
            id,
            environment: environment.to_owned(),
            git_ref: git_ref.to_owned(),
            transient,
            production: None,
            payload: json!({}),
        }
    }

    #[test]
    fn pattern_names_for_a_pull_request() {
        let cases: &[(&[&str], &str, &[&str])] = &[
            (&["pr-{number}"], "feature-x", &["pr-7"]),
            (
                &["review/{branch}", "pr-{number}"],
                "feature-x",
                &["review/feature-x", "pr-7"],
            ),
            // No head branch: `{branch}` names nothing.
            (&["{branch}", "pr-{number}"], "", &["pr-7"]),
            // A branch called production never names production.
            (&["{branch}"], "production", &[]),
            (&["{branch}"], "Production", &[]),
            // The same name twice, in any case, is listed once.
            (&["pr-{number}", "PR-{number}"], "x", &["pr-7"]),
            (&[], "x", &[]),
        ];
        for (patterns, head_ref, want) in cases {
            let pr = ClosedPullRequest {
                head_ref: (*head_ref).to_owned(),
                ..pr()
            };
            assert_eq!(
                environment_names(&rules(patterns, true), &pr),
                *want,
                "{patterns:?} {head_ref}"
            );
        }
    }

    #[test]
    fn which_deployments_and_environments_are_ended() {
        // (what, rules, listed, the deployments ended, the environments deleted)
        type Case = (
            &'static str,
            MatchRules,
            Vec<Listed>,
            Vec<u64>,
            Vec<&'static str>,
        );
        let cases: Vec<Case> = vec![
            (
                "two in pr-7 and one transient of the head branch",
                rules(&["pr-{number}"], true),
                vec![
                    listed(3, "pr-7", "feature-x", None),
                    listed(1, "pr-7", "abc123", Some(true)),
                    listed(9, "review-feature-x", "feature-x", Some(true)),
                ],
                vec![1, 3, 9],
                vec!["pr-7"],
            ),
            (
                "the head branch in a lasting environment is never matched by ref",
                rules(&["pr-{number}"], true),
                vec![
                    listed(5, "staging", "feature-x", Some(false)),
                    listed(6, "staging", "feature-x", None),
                ],
                vec![],
                vec![],
            ),
            (
                "head-ref matching off",
                rules(&["pr-{number}"], false),
                vec![listed(9, "review-feature-x", "feature-x", Some(true))],
                vec![],
                vec![],
            ),
            (
                "another branch's transient deployment",
                rules(&["pr-{number}"], true),
                vec![listed(9, "review-other", "other", Some(true))],
                vec![],
                vec![],
            ),
            (
                "listed by both queries: once; environment matched without regard to case",
                rules(&["pr-{number}"], true),
                vec![
                    listed(4, "PR-7", "feature-x", Some(true)),
                    listed(4, "PR-7", "feature-x", Some(true)),
                ],
                vec![4],
                vec!["PR-7"],
            ),
            (
                "a deployment in another PR's environment",
                rules(&["pr-{number}"], true),
                vec![listed(2, "pr-70", "x", None)],
                vec![],
                vec![],
            ),
            (
                "production never, by name or by flag",
                rules(&["{branch}"], true),
                vec![
                    listed(1, "production", "production", Some(true)),
                    Listed {
                        production: Some(true),
                        ..listed(2, "feature-x", "feature-x", Some(true))
                    },
                ],
                vec![],
                vec![],
            ),
            (
                "an environment holding a production deployment is never deleted",
                rules(&["pr-{number}"], false),
                vec![
                    listed(3, "pr-7", "x", None),
                    Listed {
                        production: Some(true),
                        ..listed(4, "pr-7", "x", None)
                    },
                ],
                vec![3],
                vec![],
            ),
            (
                "a branch pattern names its environment for deletion",
                rules(&["review/{branch}"], false),
                vec![listed(8, "review/feature-x", "feature-x", None)],
                vec![8],
                vec!["review/feature-x"],
            ),
        ];
        for (what, rules, listed, want_ids, want_envs) in cases {
            let got = select(&rules, &pr(), &listed);
            let ids: Vec<u64> = got.previews.iter().map(|p| p.deployment_id).collect();
            assert_eq!(ids, want_ids, "{what}");
            assert_eq!(got.environments, want_envs, "{what}");
        }
    }

    #[test]
    fn gdt_trackers_are_found_in_the_payload() {
        let cases = [
            (
                json!({"workflow_id": "deploy-1", "triggered_by": "x"}),
                Some("deploy-1"),
            ),
            (json!("{\"workflow_id\":\"deploy-2\"}"), Some("deploy-2")),
            (json!({"workflow_id": ""}), None),
            (json!({"workflow_id": 3}), None),
            (json!("not json"), None),
            (json!(null), None),
            (json!({}), None),
        ];
        for (payload, want) in cases {
            assert_eq!(tracker_of(&payload).as_deref(), want, "{payload}");
        }
        let mut tracked = listed(1, "pr-7", "x", None);
        tracked.payload = json!({"workflow_id": "deploy-1"});
        let got = select(&rules(&["pr-{number}"], false), &pr(), &[tracked]);
        assert_eq!(got.previews[0].tracker.as_deref(), Some("deploy-1"));
    }
}
