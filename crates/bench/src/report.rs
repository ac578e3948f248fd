//! What goes into the reports besides the measurements: percentiles, the machine and build,
//! writing the JSON, and the readable table.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::processes::Tools;

/// Percentiles of a set of durations in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
    /// How many values.
    pub count: usize,
}

impl Percentiles {
    /// The percentiles of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Percentiles> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            // Nearest rank: the smallest value with at least p% of values at or below it.
            let index = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
            round(sorted[index.clamp(1, sorted.len()) - 1])
        };
        Some(Percentiles {
            p50: rank(50.0),
            p95: rank(95.0),
            p99: rank(99.0),
            max: round(sorted[sorted.len() - 1]),
            mean: round(sorted.iter().sum::<f64>() / sorted.len() as f64),
            count: sorted.len(),
        })
    }
}

/// Rounds to three decimals, so reports do not carry float noise.
pub fn round(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// The machine and build a report was measured on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    /// Cores available (`nproc`).
    pub nproc: usize,
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: Option<String>,
    /// `MemTotal` from /proc/meminfo.
    pub memory_bytes: Option<u64>,
    /// `uname -sr`.
    pub kernel: Option<String>,
    /// The profile gdt-bench was built with; `gdt` is built with the same one by the
    /// Makefile (`release`, or `debug` when run from a debug build).
    pub build_profile: &'static str,
    /// The `gdt` binary measured.
    pub gdt_binary: String,
    /// `temporal --version`.
    pub temporal_cli: Option<String>,
}

impl Machine {
    /// Describes this machine.
    pub fn describe(tools: &Tools) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Machine {
            nproc: std::thread::available_parallelism().map_or(1, usize::from),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned()),
            memory_bytes: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map(|kib| kib * 1024),
            kernel: output(Command::new("uname").arg("-sr")),
            build_profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            gdt_binary: tools.gdt.display().to_string(),
            temporal_cli: output(Command::new(&tools.temporal_cli).arg("--version")),
        }
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Where a run keeps its files, next to its report: `logs/` (every process's log) and
/// `work/` (the App key, and the workers' empty working directory). Both are emptied first,
/// so an earlier run's logs cannot be mistaken for this one's. Absolute, because the
/// workers run in `work/`.
pub fn prepare_dirs(report: &Path) -> Result<(PathBuf, PathBuf)> {
    let report = std::path::absolute(report)
        .map_err(Error::io(format!("cannot resolve {}", report.display())))?;
    let base = report.parent().unwrap_or(Path::new("/"));
    let logs = base.join("logs");
    let work = base.join("work");
    for dir in [&logs, &work] {
        if dir.exists() {
            std::fs::remove_dir_all(dir)
                .map_err(Error::io(format!("cannot clear {}", dir.display())))?;
        }
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
    }
    Ok((logs, work))
}

/// Writes `report` as pretty JSON to `path`, creating its directory.
pub fn write_json(path: &Path, report: &impl Serialize) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
    }
    let text = serde_json::to_string_pretty(report)
        .map_err(|e| Error::Parse(format!("cannot serialise the report: {e}")))?;
    std::fs::write(path, text + "\n").map_err(Error::io(format!("cannot write {}", path.display())))
}

/// A two-column table printed to stdout.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<(String, String)>,
}

impl Table {
    /// A section heading.
    pub fn section(&mut self, title: &str) {
        self.rows.push((String::new(), String::new()));
        self.rows.push((title.to_owned(), String::new()));
    }

    /// One measurement.
    pub fn row(&mut self, name: &str, value: impl std::fmt::Display) {
        self.rows.push((format!("  {name}"), value.to_string()));
    }

    /// One measurement that may be missing.
    pub fn opt<T: std::fmt::Display>(&mut self, name: &str, value: Option<T>) {
        match value {
            Some(v) => self.row(name, v),
            None => self.row(name, "-"),
        }
    }

    /// The table as text.
    pub fn render(&self) -> String {
        // Headings (rows without a value) do not widen the name column.
        let width = self
            .rows
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        self.rows
            .iter()
            .map(|(k, v)| {
                if v.is_empty() {
                    k.clone()
                } else {
                    format!("{k:<width$}  {v}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `p50 / p95 / p99` in milliseconds, for the table.
pub fn ms(p: Option<&Percentiles>) -> String {
    p.map_or("-".to_owned(), |p| {
        format!(
            "{:.0} / {:.0} / {:.0} ms (n={})",
            p.p50, p.p95, p.p99, p.count
        )
    })
}

/// Bytes as MiB, for the table.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let p = Percentiles::of(&values).expect("values");
        assert_eq!((p.p50, p.p95, p.p99, p.max), (50.0, 95.0, 99.0, 100.0));
        assert_eq!(p.mean, 50.5);
        let one = Percentiles::of(&[7.0]).expect("one value");
        assert_eq!((one.p50, one.p99), (7.0, 7.0));
        assert!(Percentiles::of(&[]).is_none());
    }

    #[test]
    fn tables_align() {
        let mut table = Table::default();
        table.section("deployments");
        table.row("per second", 12.5);
        table.opt::<f64>("ratio", None);
        assert_eq!(
            table.render(),
            "\ndeployments\n  per second  12.5\n  ratio       -"
        );
    }
}
