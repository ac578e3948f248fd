//! ARCHITECTURE.md's code map names every source file, and names no file that is gone.
//!
//! Each crate has a section headed `` ### `crates/<dir>` `` in which every file under
//! `crates/<dir>/src` appears in backticks by its path below `src/` (`routes/apps.rs`).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

#[test]
fn the_code_map_names_every_source_file_and_no_missing_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut problems = Vec::new();
    let mut crates: Vec<PathBuf> = fs::read_dir(root.join("crates"))
        .expect("crates/")
        .map(|entry| entry.expect("crates/ entry").path())
        .filter(|path| path.join("src").is_dir())
        .collect();
    crates.sort();
    for dir in crates {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("crate folder name");
        let Some(section) = section(&map, name) else {
            problems.push(format!("no section headed ### `crates/{name}`"));
            continue;
        };
        let on_disk = source_files(&dir.join("src"));
        let named = named_files(section);
        for file in on_disk.difference(&named) {
            problems.push(format!("crates/{name}/src/{file} is not in the map"));
        }
        for file in named.difference(&on_disk) {
            problems.push(format!(
                "the map names crates/{name}/src/{file}, which does not exist"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "ARCHITECTURE.md's code map is out of date; name each file in backticks by its path \
         below src/ in its crate's section:\n{}",
        problems.join("\n")
    );
}

/// The text from `` ### `crates/<name>` `` to the next heading of level 2 or 3.
fn section<'a>(map: &'a str, name: &str) -> Option<&'a str> {
    let heading = format!("### `crates/{name}`");
    let start = map.find(&heading)? + heading.len();
    let rest = &map[start..];
    let end = rest
        .match_indices("\n#")
        .find(|(at, _)| rest[at + 1..].starts_with("## ") || rest[at + 1..].starts_with("### "))
        .map_or(rest.len(), |(at, _)| at);
    Some(&rest[..end])
}

/// Every `.rs` path below `src`, relative to it, with `/` separators.
fn source_files(src: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).expect("a source folder") {
            let path = entry.expect("a source entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(src).expect("below src");
                found.insert(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    found
}

/// The backticked `*.rs` names in a section, except paths into another crate (`crates/...`).
fn named_files(section: &str) -> BTreeSet<String> {
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|token| token.ends_with(".rs") && !token.contains("crates/"))
        .filter(|token| !token.contains(char::is_whitespace))
        .map(|token| token.trim_start_matches("src/").to_owned())
        .collect()
}
