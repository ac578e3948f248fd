//! Why a benchmark or chaos run could not be carried out.
//!
//! These are failures of the harness or its environment (a tool missing, a process that
//! would not start, Temporal refusing a call). What the tracker got wrong under load or
//! faults is not an error: it is a finding, counted in the report.

use std::path::PathBuf;

/// A failure of the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A program the harness runs is not where it was looked for.
    #[error("{what} not found at {path}: {hint}")]
    MissingTool {
        /// Which program.
        what: &'static str,
        /// Where it was looked for.
        path: PathBuf,
        /// What to do about it.
        hint: &'static str,
    },
    /// A file or directory could not be read or written, or a process not spawned.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A process did not become ready in time, or exited early.
    #[error("{what}; see its log at {log}")]
    Process {
        /// What went wrong.
        what: String,
        /// The process's log file.
        log: PathBuf,
    },
    /// Temporal could not be reached or refused a call the harness needs.
    #[error("Temporal: {0}")]
    Temporal(String),
    /// The GitHub sandbox could not be started or controlled.
    #[error("GitHub sandbox: {0}")]
    Sandbox(String),
    /// A value from /proc, the journal or a report could not be read.
    #[error("{0}")]
    Parse(String),
    /// The arguments ask for something the harness cannot do.
    #[error("invalid arguments: {0}")]
    Usage(String),
    /// The run was interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

impl Error {
    /// An [`Error::Io`] saying what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let what = what.into();
        move |source| Error::Io { what, source }
    }
}

/// The harness's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
