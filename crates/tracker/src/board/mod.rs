//! The deployments board: what is deployed where, across every repository, and the delivery
//! metrics (DORA), read from Temporal's visibility without a database of its own.
//!
//! - [`model`]: the rows read from visibility (search attributes, the start call's memo, the
//!   result once read) and the API's answers.
//! - [`dora`]: the delivery metrics of a set of rows, with their definitions.

pub mod dora;
pub mod model;

pub use model::{BoardFilter, BoardMemo, MEMO_KEY};
