//! The journal: one entry per request to a GitHub route (including faulted and
//! rejected ones), so tests and benchmarks can assert what the tracker sent.

use std::sync::Mutex;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// One request as the sandbox answered it (read back by the benchmark, hence `Deserialize`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct JournalEntry {
    /// HTTP method, e.g. "POST".
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: Option<String>,
    /// Status code answered.
    pub status: u16,
    /// When the request arrived, RFC 3339 UTC with milliseconds.
    pub time: String,
    /// Name of the fault that answered (or delayed) the request.
    pub fault: Option<String>,
    /// Whether the request used a unit of a primary rate limit: its caller's quota, or for a
    /// request without valid credentials the unauthenticated one. `false` for a
    /// `304 Not Modified` to an authenticated conditional request (GitHub does not count
    /// those), for a refusal because the quota was used up, and for a fault answered before
    /// authentication. Journals written before this field read as counted.
    #[serde(default = "counted_by_default")]
    pub counted: bool,
}

fn counted_by_default() -> bool {
    true
}

impl JournalEntry {
    /// Formats `time` as the journal does.
    pub(crate) fn format_time(time: DateTime<Utc>) -> String {
        time.to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Append-only list of [`JournalEntry`]s.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    entries: Mutex<Vec<JournalEntry>>,
}

impl Journal {
    pub(crate) fn push(&self, entry: JournalEntry) {
        self.entries
            .lock()
            .expect("journal mutex poisoned")
            .push(entry);
    }

    /// Entries from index `since` on (all of them for 0), so a poller can pass
    /// the number of entries it has already seen.
    pub(crate) fn since(&self, since: usize) -> Vec<JournalEntry> {
        let entries = self.entries.lock().expect("journal mutex poisoned");
        entries.get(since..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// How many entries were counted against a primary rate limit.
    pub(crate) fn counted(&self) -> usize {
        let entries = self.entries.lock().expect("journal mutex poisoned");
        entries.iter().filter(|entry| entry.counted).count()
    }

    pub(crate) fn clear(&self) {
        self.entries.lock().expect("journal mutex poisoned").clear();
    }
}
