//! GitHub's endpoints, one file per family. Each adds its methods to
//! [`Client`](crate::Client) and sends its requests through
//! [`Client::execute`](crate::Client) (in `client/transport.rs`).

mod app;
mod check_runs;
mod comments;
mod contents;
mod deployments;
mod pulls;
