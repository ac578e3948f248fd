//! Integration tests over real HTTP against a spawned sandbox (one binary, so
//! generated keys and compiled schemas are shared).

mod apps;
mod controls;
mod deployments;
mod faults;
mod helpers;
mod statuses;
