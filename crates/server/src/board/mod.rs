//! The deployments board: its reader API ([`api`]).

pub mod api;
