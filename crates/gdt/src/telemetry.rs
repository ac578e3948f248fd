//! Structured logs: JSON lines (default) or a console format, level from configuration;
//! `RUST_LOG` overrides the level for debugging.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. Logs go to stderr so command output on stdout stays
/// parseable.
pub(crate) fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        // Our crates at the configured level; the SDK's chatter one notch quieter.
        EnvFilter::new(format!(
            "warn,gdt={level},gdt_tracker={level},gdt_github={level},gdt_github_sandbox={level},gdt_config={level}"
        ))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests, dev mode) is harmless: keep the first.
    let _ = if format == "console" {
        builder.try_init()
    } else {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init()
    };
}
