//! The deployments board: what is deployed where, across every repository, and the delivery
//! metrics (DORA), read from Temporal's visibility without a database of its own.
//!
//! - [`model`]: the rows read from visibility (search attributes, the start call's memo, the
//!   result once read) and the API's answers.
//! - [`build`]: rows to lanes (what is in place, what is running, the history), pure.
//! - [`dora`]: the four delivery metrics over a window, pure.
//! - [`service`]: [`BoardService`], which keeps a snapshot of the window per API server,
//!   refreshed from visibility while someone looks.
//! - [`visibility`]: the visibility queries, a listed workflow as a row, and merging what
//!   changed into the snapshot, pure.

pub mod build;
pub mod dora;
pub mod model;
pub mod service;
pub mod visibility;

pub use model::{BoardFilter, BoardMemo, MEMO_KEY};
pub use service::BoardService;
