//! `StartGitHubDeployment`: the start of a deployment in one activity (revision 3 of the
//! workflow): create the GitHub deployment, join its lane, post the initial status.
//!
//! Three activities in a row cost Temporal nine events and two more workflow tasks (six
//! events) than one. Each step is one the workflow already repeats safely, so the whole is
//! safe to retry: a retried attempt finds the deployment an earlier attempt created (by the
//! workflow id in its payload) instead of creating another, joining the lane again changes
//! nothing (the lane applies a deployment's start once), and the initial status is looked for
//! before it is posted again. What each step costs GitHub is unchanged: a first attempt makes
//! two requests, the floor.
//!
//! A status GitHub refuses for good (a `422`) does not fail the start: the deployment exists
//! and goes on, the refusal recorded against the initial update as before. Anything worth
//! retrying fails the attempt, and Temporal retries the whole start for the outage budget.

use std::sync::Arc;

use gdt_github::DeploymentState;
use serde::{Deserialize, Serialize};
use temporalio_macros::activities;
use temporalio_sdk::activities::{ActivityContext, ActivityError};

use super::activities::{CreateDeploymentInput, DeploymentActivities, UpdateDeploymentStatusInput};
use crate::activity::{in_activity_span, is_permanent, to_activity_error};
use crate::lanes::activities::JoinLane;
use crate::lanes::model::{LaneKey, LaneTicket};
use crate::lanes::LaneActivities;

/// Input of `StartGitHubDeployment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartDeploymentInput {
    /// The deployment to create.
    pub create: CreateDeploymentInput,
    /// The lane it joins.
    pub lane: LaneKey,
    /// The first status.
    pub initial: InitialStatus,
}

/// The first status of a deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitialStatus {
    /// The GitHub state to post.
    pub state: DeploymentState,
    /// Link to logs (empty: none).
    pub log_url: String,
    /// Environment URL (empty: none).
    pub environment_url: String,
    /// Description.
    pub description: String,
}

/// Output of `StartGitHubDeployment`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StartedDeployment {
    /// The GitHub deployment id.
    pub deployment_id: u64,
    /// The lane joined and the rules the deployment follows.
    pub ticket: LaneTicket,
    /// What became of the initial status.
    pub initial: InitialPosted,
}

/// What became of the initial status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum InitialPosted {
    /// GitHub took it.
    Posted {
        /// The status id.
        status_id: u64,
    },
    /// GitHub refused it for good; the deployment goes on.
    Refused {
        /// GitHub's reason.
        message: String,
    },
}

/// The start activity, with the worker's deployment and lane activities.
pub struct StartActivities {
    deployments: DeploymentActivities,
    lanes: LaneActivities,
}

impl StartActivities {
    /// The start made of `deployments`' create and post and `lanes`' join.
    pub fn new(deployments: DeploymentActivities, lanes: LaneActivities) -> Self {
        Self { deployments, lanes }
    }
}

#[activities]
impl StartActivities {
    /// Creates the GitHub deployment, joins its lane and posts its initial status (see the
    /// module docs).
    #[activity(name = "StartGitHubDeployment")]
    pub async fn start_deployment(
        self: Arc<Self>,
        ctx: ActivityContext,
        input: StartDeploymentInput,
    ) -> Result<StartedDeployment, ActivityError> {
        in_activity_span(&ctx, async {
            let workflow_id = input.create.workflow_id.clone();
            let (owner, repo) = (
                input.create.repo_owner.clone(),
                input.create.repo_name.clone(),
            );
            let deployment_id = self
                .deployments
                .create(&ctx, input.create)
                .await
                .map_err(|e| to_activity_error(&e))?;
            let ticket = self
                .lanes
                .enter(JoinLane {
                    key: input.lane,
                    workflow_id,
                    deployment_id,
                })
                .await?;
            let status = UpdateDeploymentStatusInput {
                repo_owner: owner,
                repo_name: repo,
                deployment_id,
                state: input.initial.state,
                log_url: input.initial.log_url,
                environment_url: input.initial.environment_url,
                description: input.initial.description,
                after_status_id: None,
                auto_inactive: ticket.auto_inactive(),
            };
            let initial = match self.deployments.post_status(&ctx, status).await {
                Ok(status_id) => InitialPosted::Posted { status_id },
                Err(e) if is_permanent(&e) => {
                    // Logged and counted as every refusal is.
                    let _ = to_activity_error(&e);
                    InitialPosted::Refused {
                        message: e.to_string(),
                    }
                }
                Err(e) => return Err(to_activity_error(&e)),
            };
            Ok(StartedDeployment {
                deployment_id,
                ticket,
                initial,
            })
        })
        .await
    }
}
