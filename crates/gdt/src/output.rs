//! Printing results for people (`--output text`) or scripts (`--output json`).

use serde::Serialize;

use crate::cli::OutputFormat;

/// Prints `value` as pretty JSON, or `text` for people.
pub(crate) fn print<T: Serialize>(format: OutputFormat, value: &T, text: impl FnOnce() -> String) {
    match format {
        OutputFormat::Json => match serde_json::to_string_pretty(value) {
            Ok(json) => println!("{json}"),
            Err(e) => eprintln!("error: cannot encode output as JSON: {e}"),
        },
        OutputFormat::Text => println!("{}", text()),
    }
}
