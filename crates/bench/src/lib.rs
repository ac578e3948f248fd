//! The benchmark and chaos harness of the GitHub deployment tracker (`gdt-bench`).
//!
//! Everything runs for real on this machine: a Temporal dev server (`temporal server
//! start-dev`, in memory or on SQLite), the GitHub sandbox (served in this process over
//! HTTP), and `gdt worker` as its own process, so it can be measured through `/proc` and
//! SIGKILLed. The load drives Temporal as a pipeline would (start, signals, result) and the
//! sandbox's journal says what reached GitHub and when.
//!
//! # Layout
//! - [`cli`]: the command line (`run`, `chaos`, and the hidden `ceiling-worker`).
//! - [`processes`]: starting, stopping, killing and measuring the dev server and workers.
//! - [`github`]: the sandbox, its fault controls, and a reader of what the tracker wrote.
//! - [`history`]: history events per deployment and per lane, by type, read back from a
//!   sample of completed workflows.
//! - [`journal`]: the sandbox journal: requests by endpoint, when each status arrived.
//! - [`load`]: the pipelines: deployments started, signalled and waited for, each traced.
//! - [`ceiling`]: the worker that runs the tracker's `GitHubDeploymentWorkflow` with no-op
//!   activities: the throughput this machine allows for this workflow.
//! - [`temporal`]: the connection to Temporal.
//! - [`bench`]: `gdt-bench run`: the deployments, ceiling and idle scenarios and their report.
//! - [`front`]: the api and webhooks scenarios: `gdt serve` under HTTP load.
//! - [`board`]: the board scenario: a month of deployments, `gdt serve`'s board reader API
//!   with pages open on it, and what looking costs Temporal.
//! - [`chaos`]: `gdt-bench chaos`: phases of load under faults, then the audit.
//! - [`audit`]: the audit's verdict on one deployment (pure, table-tested).
//! - [`report`]: percentiles, machine information, JSON and the readable table.
//! - [`error`]: what can stop a run (findings about the tracker are not errors: they are
//!   counted in the reports).
//!
//! No timed assertions: a run measures and reports; only the chaos audit's counts decide
//! its exit status.

pub mod audit;
pub mod bench;
pub mod board;
pub mod ceiling;
pub mod chaos;
pub mod cli;
pub mod error;
pub mod front;
pub mod github;
pub mod history;
pub mod journal;
pub mod load;
pub mod processes;
pub mod report;
pub mod temporal;
