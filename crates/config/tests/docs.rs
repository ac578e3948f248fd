//! README's table of settings and `config/config.example.yaml` are made from the
//! declarations in `src/settings.rs`; this test fails when the committed files differ.
//! `GDT_BLESS=1 cargo test -p gdt-config` rewrites them instead.

use std::fs;
use std::path::{Path, PathBuf};

use gdt_config::docs::{example_yaml, readme_table, README_BEGIN, README_END};

const HOW: &str = "run `GDT_BLESS=1 cargo test -p gdt-config` to rewrite it from \
                   crates/config/src/settings.rs, then commit it";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Compares `path` with `want`, or writes `want` there when blessing.
fn check(path: &Path, got: &str, want: &str) {
    if got == want {
        return;
    }
    if std::env::var_os("GDT_BLESS").is_some() {
        fs::write(path, want).expect("write");
        return;
    }
    let line = got
        .lines()
        .zip(want.lines())
        .position(|(g, w)| g != w)
        .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
    panic!(
        "{} differs from the settings' declarations (first at line {} of the generated text: {:?}): {HOW}",
        path.display(),
        line + 1,
        want.lines().nth(line).unwrap_or("<end>"),
    );
}

#[test]
fn the_example_configuration_is_made_from_the_declarations() {
    let path = repository().join("config/config.example.yaml");
    let got = fs::read_to_string(&path).unwrap_or_default();
    check(&path, &got, &example_yaml());
}

#[test]
fn the_readme_table_is_made_from_the_declarations() {
    let path = repository().join("README.md");
    let readme = fs::read_to_string(&path).expect("README.md");
    let (Some(begin), Some(end)) = (readme.find(README_BEGIN), readme.find(README_END)) else {
        panic!("README.md has no {README_BEGIN} … {README_END} block: put one where the table goes, then {HOW}");
    };
    let end = end + README_END.len() + 1;
    let want = format!(
        "{}{}{}",
        &readme[..begin],
        readme_table(),
        &readme[end.min(readme.len())..]
    );
    check(&path, &readme, &want);
}
