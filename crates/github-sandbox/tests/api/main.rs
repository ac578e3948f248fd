//! Integration tests over real HTTP against a spawned sandbox (one binary, so
//! generated keys and compiled schemas are shared).

mod apps;
mod checks;
mod comments;
mod conditional;
mod controls;
mod deployments;
mod environments;
mod faults;
mod helpers;
mod pulls;
mod statuses;
mod webhooks;
