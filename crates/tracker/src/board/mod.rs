//! The deployments board: what is deployed where, across every repository, and the delivery
//! metrics (DORA), read from Temporal's visibility without a database of its own.
//!
//! - [`model`]: the rows read from visibility (search attributes, the start call's memo, the
//!   result once read) and the API's answers.

pub mod model;

pub use model::{BoardFilter, BoardMemo, MEMO_KEY};
