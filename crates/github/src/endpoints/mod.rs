//! GitHub's endpoints, one file per family. Each adds its methods to
//! [`Client`](crate::Client) and sends its requests through `Client::execute`
//! (in `client/transport.rs`), so retries, rate limits and tokens are handled
//! the same way for all of them.

mod app;
mod check_runs;
mod comments;
mod contents;
mod deployments;
mod environments;
mod pulls;
