//! Lanes: one repository, environment and service, and the deployments that go to it.
//!
//! Each lane is a `LaneWorkflow` that applies gdt's lifecycle rules (superseding, and
//! inactivation of the replaced success) for its deployments; see [`workflow`].

pub mod activities;
pub mod decide;
pub mod model;
pub mod workflow;

pub use activities::LaneActivities;
pub use model::{Inactivation, LaneEvent, LaneKey, LaneSettings, LaneTicket, LaneView, Member};
pub use workflow::{LaneWorkflow, LANE_EVENT_SIGNAL, LANE_STATE_QUERY, LANE_WORKFLOW_TYPE};
