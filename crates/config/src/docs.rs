//! Everything shown from the table of settings: the effective configuration of `gdt config
//! check` (secrets redacted), README's table of settings and `config/config.example.yaml`.
//!
//! The two documents are committed; `tests/docs.rs` fails when they differ from what the
//! declarations give, and `GDT_BLESS=1 cargo test -p gdt-config` rewrites them. (Writing
//! to a `String` cannot fail, hence the ignored results of `writeln!`.)

use std::fmt::Write;

use serde_norway::{Mapping, Value};

use crate::settings::{Config, SETTINGS};

/// The line before README's generated table.
pub const README_BEGIN: &str = "<!-- settings:begin -->";
/// The line after README's generated table.
pub const README_END: &str = "<!-- settings:end -->";

impl Config {
    /// The effective configuration as YAML for `gdt config check` and support
    /// tickets: secrets appear as `"<redacted>"` (or `"<unset>"`), the App key
    /// only by its path, the GitHub URL and TLS flag as they will be used.
    /// A comment header says which file, `.env` and variables were applied.
    pub fn redacted_yaml(&self) -> String {
        let source = &self.source;
        let file = source.file.as_ref();
        let file = file.map_or_else(|| "none (defaults)".to_owned(), |p| p.display().to_string());
        let mut out =
            format!("# gdt effective configuration (secrets redacted)\n# config file: {file}\n");
        if let Some(dotenv) = &source.dotenv_file {
            let _ = writeln!(out, "# .env file: {}", dotenv.display());
        }
        if !source.env_vars.is_empty() {
            let vars = source.env_vars.join(", ");
            let _ = writeln!(out, "# environment variables applied: {vars}");
        }
        out + &yaml(&self.effective_tree())
    }

    /// The same as [`Config::redacted_yaml`] as JSON (without the header), for
    /// `gdt config check --output json`.
    pub fn redacted_json(&self) -> serde_json::Value {
        // Every key is a string, so this cannot fail; NaN would become null.
        serde_json::to_value(self.effective_tree()).unwrap_or_default()
    }

    /// Every setting by its key path, with the GitHub URL and the TLS flag as used.
    fn effective_tree(&self) -> Value {
        let mut effective = self.clone();
        effective.github.base_url = self.github.effective_base_url();
        effective.temporal.tls.enabled = self.temporal.tls_enabled();
        let mut root = Value::Mapping(Mapping::new());
        for setting in SETTINGS.iter() {
            let (path, leaf) = setting.key.rsplit_once('.').unwrap_or(("", setting.key));
            let mut node = &mut root;
            for part in path.split('.') {
                node = node
                    .as_mapping_mut()
                    .expect("a section key is never a setting key")
                    .entry(part.into())
                    .or_insert_with(|| Value::Mapping(Mapping::new()));
            }
            if let Value::Mapping(map) = node {
                map.insert(leaf.into(), (setting.show)(&effective));
            }
        }
        root
    }
}

/// README's table of settings, between [`README_BEGIN`] and [`README_END`] (included).
pub fn readme_table() -> String {
    let defaults = Config::default();
    let mut out = format!(
        "{README_BEGIN}\n<!-- Made from crates/config/src/settings.rs; \
         `GDT_BLESS=1 cargo test -p gdt-config` rewrites it. -->\n\
         | Key | Variables (the first wins) | Default | What it does |\n|---|---|---|---|\n"
    );
    for s in SETTINGS.iter() {
        let vars: Vec<String> = s.env.iter().map(|v| format!("`{v}`")).collect();
        let vars = if vars.is_empty() {
            "YAML only".to_owned()
        } else {
            vars.join(", ")
        };
        let default = match (s.show)(&defaults) {
            _ if s.secret => "secret; unset".to_owned(),
            Value::Null => "unset".to_owned(),
            value => format!("`{}`", yaml(&value).trim_end()),
        };
        let doc = s.doc().replace('|', "\\|");
        let _ = writeln!(out, "| `{}` | {vars} | {default} | {doc} |", s.key);
    }
    out + README_END + "\n"
}

/// `config/config.example.yaml`: every key with its doc line, variables and default, so
/// the file loads as it is and gives the defaults.
pub fn example_yaml() -> String {
    let defaults = Config::default();
    let mut out = String::from(EXAMPLE_HEADER);
    let mut open: Vec<&str> = Vec::new();
    for s in SETTINGS.iter() {
        let mut path: Vec<&str> = s.key.split('.').collect();
        let leaf = path.pop().unwrap_or_default();
        let common = open.iter().zip(&path).take_while(|(a, b)| a == b).count();
        open.truncate(common);
        for part in &path[common..] {
            if open.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "{}{part}:", "  ".repeat(open.len()));
            open.push(part);
        }
        let pad = "  ".repeat(open.len());
        for line in wrap(&s.doc(), 92 - pad.len()) {
            let _ = writeln!(out, "{pad}# {line}");
        }
        if !s.env.is_empty() {
            let _ = writeln!(out, "{pad}# Variables: {}", s.env.join(", "));
        }
        let _ = match (s.show)(&defaults) {
            _ if s.secret => writeln!(out, "{pad}# {leaf}: <secret>"),
            Value::Null => writeln!(out, "{pad}# {leaf}:"),
            value => writeln!(out, "{pad}{leaf}: {}", yaml(&value).trim_end()),
        };
    }
    out
}

const EXAMPLE_HEADER: &str = "\
# Configuration of gdt, the GitHub deployment tracker (worker, server and CLI).
# Made from crates/config/src/settings.rs: `GDT_BLESS=1 cargo test -p gdt-config` rewrites it.
#
# Every key is optional: the values below are the built-in defaults, so this
# file loads as it is. Copy it to one of the places gdt looks (first found wins)
#   1. --config PATH            (must exist)
#   2. ./config.yaml
#   3. ./config/config.yaml
#   4. /etc/github-deployment-tracker/config.yaml
# and keep only what you change. Unknown keys are errors, so a typo is caught.
#
# Precedence, lowest to highest:
#   defaults < this file < .env (never overrides a variable already set)
#   < the older variables (Temporal's own such as TEMPORAL_ADDRESS, and
#     GITHUB_APP_ID, GITHUB_TOKEN, INTERNAL_API_SHARED_SECRET, ...)
#   < GDT_<KEY> variables, the key in capitals with dots as underscores.
# Each key lists its variables, the GDT_ one first. Empty variables are
# ignored. `gdt config check` prints the variables and the effective
# configuration (secrets redacted).
#
# Durations are humantime strings: \"500ms\", \"2s\", \"30m\", \"1h 30m\".
# Secrets are better set through the environment or a mounted file than
# written here; keys shown commented out are unset by default.
";

fn yaml(value: &Value) -> String {
    // A list of texts on one line (`["pr-{number}"]`), which YAML reads as the same list,
    // so it fits a table cell and the line after its key.
    if let Value::Sequence(items) = value {
        let texts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
        if let Some(texts) = texts.filter(|t| !t.is_empty()) {
            return serde_json::to_string(&texts).unwrap_or_default();
        }
    }
    // Only a non-string map key could fail, and the table has none.
    serde_norway::to_string(value).unwrap_or_default()
}

/// `text` in lines of at most `width` characters, breaking between words.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.len() + 1 + word.len() <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_owned()),
        }
    }
    lines
}
