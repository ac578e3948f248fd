//! End-to-end tests, one binary (one link, one shared Temporal dev server): `gdt worker` and
//! `gdt serve` as their own processes, a real Temporal dev server, the GitHub sandbox over HTTP.

mod support;

mod api;
mod board;
mod board_api;
mod chart;
mod deployment_limits;
mod deployments;
mod escaping;
mod external;
mod faults;
mod lifecycle;
mod metrics;
mod pr_checks;
mod pr_cleanup;
mod requests_per_head;
mod startup;
