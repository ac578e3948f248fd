//! The command line of a local Temporal dev server (`temporal server start-dev`), built in one
//! place for `gdt dev`, the benchmark and the end-to-end tests, with the search attributes of
//! [`crate::search_attributes`] registered at start.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// How to run `temporal server start-dev` on the loopback interface: a builder of its
/// arguments and command, which each caller spawns (and supervises) its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevServerCommand {
    cli: PathBuf,
    port: u16,
    ui_port: u16,
    headless: bool,
    log_level: String,
    db_file: Option<PathBuf>,
    namespaces: Vec<String>,
}

impl DevServerCommand {
    /// The `temporal` CLI at `cli` serving gRPC on `127.0.0.1:port` and the web UI on
    /// `ui_port`, in memory, logging warnings and errors, in namespace `default`.
    pub fn new(cli: impl Into<PathBuf>, port: u16, ui_port: u16) -> Self {
        Self {
            cli: cli.into(),
            port,
            ui_port,
            headless: false,
            log_level: "warn".to_owned(),
            db_file: None,
            namespaces: Vec::new(),
        }
    }

    /// Without the web UI (`--headless`).
    pub fn headless(mut self) -> Self {
        self.headless = true;
        self
    }

    /// The server's log level (`debug`, `info`, `warn`, `error`).
    pub fn log_level(mut self, level: &str) -> Self {
        level.clone_into(&mut self.log_level);
        self
    }

    /// Keeps the server's state in this SQLite file (`None`: in memory), so it survives a
    /// restart.
    pub fn db_file(mut self, file: Option<&Path>) -> Self {
        self.db_file = file.map(Path::to_owned);
        self
    }

    /// Creates this namespace too, besides `default`.
    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespaces.push(namespace.to_owned());
        self
    }

    /// The `temporal` CLI.
    pub fn cli(&self) -> &Path {
        &self.cli
    }

    /// `127.0.0.1:PORT`, the frontend's gRPC address.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The arguments after the CLI's path.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = ["server", "start-dev", "--ip", "127.0.0.1"]
            .into_iter()
            .map(OsString::from)
            .collect();
        args.extend(
            [
                "--port".to_owned(),
                self.port.to_string(),
                "--ui-port".to_owned(),
                self.ui_port.to_string(),
                "--log-level".to_owned(),
                self.log_level.clone(),
            ]
            .map(OsString::from),
        );
        if self.headless {
            args.push("--headless".into());
        }
        args.extend(
            crate::search_attributes::dev_server_flags()
                .into_iter()
                .map(OsString::from),
        );
        for namespace in &self.namespaces {
            args.push("--namespace".into());
            args.push(namespace.into());
        }
        if let Some(db) = &self.db_file {
            args.push("--db-filename".into());
            args.push(db.into());
        }
        args
    }

    /// The command that runs the server; stdio and the spawning are the caller's.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.cli);
        command.args(self.args());
        command
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(server: &DevServerCommand) -> Vec<String> {
        server
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_command_line_has_every_setting() {
        let server = DevServerCommand::new("/opt/temporal", 7233, 8233)
            .headless()
            .log_level("error")
            .namespace("other")
            .db_file(Some(Path::new("/tmp/t.db")));
        assert_eq!(server.command().get_program(), "/opt/temporal");
        assert_eq!(server.address(), "127.0.0.1:7233");
        let args = words(&server).join(" ");
        assert_eq!(
            args,
            "server start-dev --ip 127.0.0.1 --port 7233 --ui-port 8233 --log-level error \
             --headless --search-attribute GdtRepository=Keyword --search-attribute \
             GdtEnvironment=Keyword --search-attribute GdtCommitSha=Keyword --search-attribute \
             GdtState=Keyword --search-attribute GdtService=Keyword --search-attribute \
             GdtUpdatedAt=Datetime --namespace other --db-filename /tmp/t.db"
        );
    }

    #[test]
    fn by_default_it_keeps_the_ui_and_runs_in_memory() {
        let args = words(&DevServerCommand::new("temporal", 7233, 8233));
        assert!(!args.contains(&"--headless".to_owned()), "{args:?}");
        assert!(!args.contains(&"--db-filename".to_owned()), "{args:?}");
        assert!(args.join(" ").contains("--log-level warn"), "{args:?}");
    }
}
