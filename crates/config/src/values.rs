//! The types a setting can have. [`Kind`] says, once per type, how a value is read from an
//! environment variable and from YAML and how `gdt config check` shows it, so that "2s",
//! "true" or a URL mean exactly the same thing wherever they are written.

use std::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_norway::Value;
use url::Url;

/// Why a raw text was rejected; the caller turns it into a [`crate::ConfigError`]
/// that also names the variable or key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Invalid {
    /// Not of the expected shape; the text says what would be accepted.
    Expected(&'static str),
    /// Not a humantime duration (gets its own message with examples).
    Duration,
}

pub(crate) type Parsed<T> = Result<T, Invalid>;

/// A value read from YAML: the setting's type, or the text that did not parse as it (its
/// message names the key and file, like a variable's, once the whole file has been read).
pub(crate) type FromYaml<T> = Result<T, (String, Invalid)>;

/// A type a setting can have.
pub(crate) trait Kind: Sized {
    /// Credentials are never shown, and never echoed in an error.
    const SECRET: bool = false;
    /// Parses an environment variable (or `.env` line).
    fn from_env(raw: &str) -> Parsed<Self>;
    /// Reads the value from YAML: by default a text parsed as in [`Kind::from_env`]. Typed
    /// kinds read their own type instead, so that serde's messages (`expected u16`) come
    /// with the key path, line and column.
    fn from_yaml<'de, D: Deserializer<'de>>(d: D) -> Result<FromYaml<Self>, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::from_env(&text).map_err(|why| (text, why)))
    }
    /// The value as `gdt config check` and the generated documents show it.
    fn show(&self) -> Value;
}

/// The kinds of settings: `$parse` reads a variable, trimmed. Texts are read from YAML as
/// text and parsed the same way; the kinds marked `typed` (numbers, booleans) are read as
/// themselves, so that serde's messages (`expected u16`) keep the key path, line and column
/// (a range check, if any, comes with validation).
macro_rules! kinds {
    ($($ty:ty $(, $typed:ident)? => $parse:expr, |$v:ident| $show:expr;)*) => {$(
        impl Kind for $ty {
            fn from_env(raw: &str) -> Parsed<Self> {
                $parse(raw.trim())
            }
            $(
                fn from_yaml<'de, D: Deserializer<'de>>(d: D) -> Result<FromYaml<Self>, D::Error> {
                    let $typed = Self::deserialize(d);
                    $typed.map(Ok)
                }
            )?
            fn show(&self) -> Value {
                let $v = self;
                $show
            }
        }
    )*};
}

kinds! {
    String => |raw: &str| Ok(raw.to_owned()), |v| Value::from(v.as_str());
    Option<String> => opt_text, |v| v.as_deref().map_or(Value::Null, Value::from);
    PathBuf => |raw: &str| Ok(PathBuf::from(raw)), |v| Value::from(v.display().to_string());
    Option<PathBuf> => |raw: &str| Ok(opt_text(raw)?.map(PathBuf::from)),
        |v| v.as_ref().map_or(Value::Null, |p| Value::from(p.display().to_string()));
    Duration => |raw: &str| humantime::parse_duration(raw).map_err(|_| Invalid::Duration),
        |v| Value::from(humantime::format_duration(*v).to_string());
    Url => parse_http_url, |v| Value::from(v.as_str());
    LogLevel => choice, |v| Value::from(v.as_str());
    LogFormat => choice, |v| Value::from(v.as_str());
    ReportMode => choice, |v| Value::from(v.as_str());
    Inactivation => choice, |v| Value::from(v.as_str());
    // GitHub ids. `0` is accepted: it is the documented "not configured" value.
    u64, typed => |raw| number(raw, 0..=u64::MAX, "a positive integer"), |v| Value::from(*v);
    // Limits: zero would mean a worker that never polls or a server that takes no body.
    usize, typed => |raw| number(raw, 1..=usize::MAX, "a positive integer"), |v| Value::from(*v);
    u32, typed => |raw| number(raw, 0..=u32::MAX, "a non-negative integer"), |v| Value::from(*v);
    u16, typed => |raw| number(raw, 1..=u16::MAX, "a port number between 1 and 65535"),
        |v| Value::from(*v);
    // Finite: not NaN, not infinite.
    f64, typed => |raw| number(raw, f64::MIN..=f64::MAX, "a number such as 2.0"), |v| Value::from(*v);
    bool, typed => flag, |v| Value::from(*v);
}

/// A number in `range`.
fn number<T: FromStr + PartialOrd>(
    raw: &str,
    range: RangeInclusive<T>,
    expected: &'static str,
) -> Parsed<T> {
    let n = raw.parse().ok().filter(|n| range.contains(n));
    n.ok_or(Invalid::Expected(expected))
}

impl Kind for Option<SecretString> {
    const SECRET: bool = true;
    fn from_env(raw: &str) -> Parsed<Self> {
        Ok(secret(raw))
    }
    fn from_yaml<'de, D: Deserializer<'de>>(d: D) -> Result<FromYaml<Self>, D::Error> {
        d.deserialize_any(SecretText).map(Ok)
    }
    fn show(&self) -> Value {
        Value::from(self.as_ref().map_or("<unset>", |_| "<redacted>"))
    }
}

/// Secrets accept only strings, and a wrong type is reported without echoing
/// the value (serde's default message would quote it).
struct SecretText;

const NOT_TEXT: &str = "a secret must be a quoted string (value not shown)";

/// The visits of the types that are not text.
macro_rules! not_text {
    ($($visit:ident: $ty:ty),*) => {$(
        fn $visit<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Err(E::custom(NOT_TEXT))
        }
    )*};
}

impl<'de> Visitor<'de> for SecretText {
    type Value = Option<SecretString>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(secret(v))
    }

    not_text!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(NOT_TEXT))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(de::Error::custom(NOT_TEXT))
    }
}

/// Glob lists: `None` is the check's built-in list, `Some(vec![])` matches nothing.
impl Kind for Option<Vec<String>> {
    fn from_env(raw: &str) -> Parsed<Self> {
        Ok(Some(patterns(raw)))
    }
    /// Trimmed like every other text; an empty one is rejected by `load`'s checks, which
    /// can name its position.
    fn from_yaml<'de, D: Deserializer<'de>>(d: D) -> Result<FromYaml<Self>, D::Error> {
        let items = Vec::<String>::deserialize(d)?;
        Ok(Ok(Some(
            items.iter().map(|p| p.trim().to_owned()).collect(),
        )))
    }
    fn show(&self) -> Value {
        serde_norway::to_value(self).unwrap_or_default()
    }
}

/// One entry of [`crate::PrChecksConfig::schemas`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaRuleConfig {
    /// Glob of the repository paths the schema applies to, e.g.
    /// `.claude-plugin/plugin.json`.
    pub pattern: String,
    /// Local file holding the JSON Schema (relative paths are relative to the
    /// working directory, like every path of this configuration).
    pub schema_path: PathBuf,
}

/// The schema rules are YAML only: a list of maps has no sensible variable form.
impl Kind for Vec<SchemaRuleConfig> {
    fn from_env(_: &str) -> Parsed<Self> {
        Err(Invalid::Expected(
            "a YAML list (there is no variable for it)",
        ))
    }
    fn from_yaml<'de, D: Deserializer<'de>>(d: D) -> Result<FromYaml<Self>, D::Error> {
        let mut rules = Vec::<SchemaRuleConfig>::deserialize(d)?;
        for rule in &mut rules {
            rule.pattern = rule.pattern.trim().to_owned();
        }
        Ok(Ok(rules))
    }
    fn show(&self) -> Value {
        // Strings all: the paths come from YAML, so they are UTF-8.
        serde_norway::to_value(self).unwrap_or_default()
    }
}

/// The settings declared `check required`: zero or empty would stop the process later
/// with a worse message (a worker that never polls, a queue named ""), so `load` refuses it.
pub(crate) trait Required {
    /// What is wrong with the value, if anything.
    fn missing(&self) -> Option<&'static str>;
}

macro_rules! required {
    ($($ty:ty: |$v:ident| $wrong:expr => $problem:literal;)*) => {$(
        impl Required for $ty {
            fn missing(&self) -> Option<&'static str> {
                let $v = self;
                $wrong.then_some($problem)
            }
        }
    )*};
}

required! {
    String: |v| v.trim().is_empty() => "is empty";
    usize: |v| *v == 0 => "must be at least 1 (it is 0)";
    u16: |v| *v == 0 => "must be a port between 1 and 65535";
    Duration: |v| v.is_zero() => "must be greater than zero";
}

fn opt_text(raw: &str) -> Parsed<Option<String>> {
    Ok(Some(raw.trim().to_owned()).filter(|s| !s.is_empty()))
}

fn choice<T: FromStr<Err = InvalidChoice>>(raw: &str) -> Parsed<T> {
    raw.parse()
        .map_err(|e: InvalidChoice| Invalid::Expected(e.expected))
}

/// Booleans as Go's `strconv.ParseBool` (which viper used) plus yes/no/on/off.
fn flag(raw: &str) -> Parsed<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "on" => Ok(true),
        "false" | "f" | "0" | "no" | "off" => Ok(false),
        _ => Err(Invalid::Expected("true or false")),
    }
}

/// A comma-separated list of glob patterns, each trimmed, empty items
/// dropped (so `,` alone is the empty list). A comma inside braces belongs to
/// the pattern, because `{types,config}.go` is a glob alternation; a
/// backslash escapes the character after it, as in the glob syntax.
fn patterns(raw: &str) -> Vec<String> {
    let (mut items, mut current, mut depth, mut escaped) = (vec![], String::new(), 0_usize, false);
    for c in raw.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    let items = items.iter().map(|item| item.trim().to_owned());
    items.filter(|item| !item.is_empty()).collect()
}

/// Secrets are trimmed too: a token file written with `echo` ends in a newline,
/// which GitHub would reject with a baffling 401.
fn secret(raw: &str) -> Option<SecretString> {
    let trimmed = raw.trim();
    (!trimmed.is_empty()).then(|| SecretString::from(trimmed.to_owned()))
}

/// An absolute `http`/`https` URL with a host; anything else cannot be an API root.
fn parse_http_url(raw: &str) -> Parsed<Url> {
    Url::parse(raw.trim())
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .ok_or(Invalid::Expected(
            "an absolute http(s) URL such as https://api.github.com",
        ))
}

/// A string that is not one of an enum's spellings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {value:?}: expected {expected}")]
pub struct InvalidChoice {
    /// The rejected text.
    pub value: String,
    /// The accepted spellings.
    pub expected: &'static str,
}

/// An enum of spellings: `as_str`, `Display` and a case-insensitive `FromStr`.
macro_rules! choices {
    ($(#[doc = $doc:literal])* $name:ident, $expected:literal {
        $($(#[doc = $vdoc:literal])* $variant:ident = $text:literal,)*
    }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name {
            $($(#[doc = $vdoc])* $variant,)*
        }

        impl $name {
            /// The name used in YAML and the variables.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text,)*
                }
            }
        }

        /// Case-insensitive, so `INFO` from a Helm value works.
        impl FromStr for $name {
            type Err = InvalidChoice;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok(Self::$variant),)*
                    _ => Err(InvalidChoice { value: s.to_owned(), expected: $expected }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

choices! {
    /// Log verbosity, in the names tracing and zerolog share; usable as a tracing
    /// `EnvFilter` directive.
    LogLevel, "one of trace, debug, info, warn, error" {
        /// Everything.
        Trace = "trace",
        /// Diagnostic detail.
        Debug = "debug",
        /// Normal operation (default).
        Info = "info",
        /// Something odd but handled.
        Warn = "warn",
        /// Failures.
        Error = "error",
    }
}

choices! {
    /// Log line format.
    LogFormat, "json or console" {
        /// One JSON object per line, for log collectors (default).
        Json = "json",
        /// Human-readable lines, for terminals.
        Console = "console",
    }
}

choices! {
    /// Where the pull-request checks report their result.
    ReportMode, "one of comment, check_run, both" {
        /// A comment on the pull request only.
        Comment = "comment",
        /// A check run on the head commit only.
        CheckRun = "check_run",
        /// Both a comment and a check run (default).
        Both = "both",
    }
}

choices! {
    /// Who marks a deployment inactive once a newer one of the same lane succeeds.
    Inactivation, "one of gdt, github, off" {
        /// gdt, per repository, environment and service, production included (default).
        Gdt = "gdt",
        /// GitHub's `auto_inactive`: every earlier success of the environment name,
        /// production excluded.
        Github = "github",
        /// Nobody: deployments stay active until something else marks them.
        Off = "off",
    }
}

impl ReportMode {
    /// Whether a comment is posted on the pull request.
    pub fn comments(self) -> bool {
        matches!(self, Self::Comment | Self::Both)
    }

    /// Whether a check run is created on the head commit.
    pub fn check_runs(self) -> bool {
        matches!(self, Self::CheckRun | Self::Both)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_accept_go_spellings() {
        let cases = [
            ("true", Some(true)),
            ("TRUE", Some(true)),
            ("1", Some(true)),
            ("yes", Some(true)),
            (" false ", Some(false)),
            ("0", Some(false)),
            ("off", Some(false)),
            ("maybe", None),
            ("", None),
        ];
        for (raw, want) in cases {
            assert_eq!(flag(raw).ok(), want, "{raw:?}");
        }
    }

    #[test]
    fn durations_are_humantime() {
        let cases = [
            ("2s", Some(2)),
            ("120s", Some(120)),
            ("30m", Some(1800)),
            ("1h 30m", Some(5400)),
            ("2h", Some(7200)),
            ("120", None),
            ("5 parsecs", None),
        ];
        for (raw, want) in cases {
            let got = Duration::from_env(raw).ok().map(|d| d.as_secs());
            assert_eq!(got, want, "{raw:?}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(u64::from_env("123").ok(), Some(123));
        assert_eq!(u64::from_env("0").ok(), Some(0));
        assert!(u64::from_env("-1").is_err());
        assert!(u64::from_env("abc").is_err());
        assert!(usize::from_env("0").is_err());
        assert_eq!(usize::from_env("20").ok(), Some(20));
        assert_eq!(u32::from_env("0").ok(), Some(0));
        assert!(u16::from_env("0").is_err());
        assert!(u16::from_env("70000").is_err());
        assert_eq!(u16::from_env("9090").ok(), Some(9090));
        assert!(f64::from_env("NaN").is_err());
        assert_eq!(f64::from_env("1.5").ok(), Some(1.5));
    }

    #[test]
    fn urls_must_be_absolute_http() {
        assert!(parse_http_url("https://api.github.com").is_ok());
        assert!(parse_http_url("http://localhost:8080/api/v3").is_ok());
        assert!(parse_http_url("api.github.com").is_err());
        assert!(parse_http_url("ftp://example.com").is_err());
        assert!(parse_http_url("not a url").is_err());
    }

    #[test]
    fn pattern_lists_split_on_commas_outside_braces() {
        let cases: [(&str, &[&str]); 7] = [
            ("a/*.go", &["a/*.go"]),
            (
                " a/*.go , .claude-plugin/**/* ",
                &["a/*.go", ".claude-plugin/**/*"],
            ),
            (
                "internal/config/{types,config}.go,internal/mcp/tools.go",
                &["internal/config/{types,config}.go", "internal/mcp/tools.go"],
            ),
            ("a,,b,", &["a", "b"]),
            (",", &[]),
            (r"a\,b,c", &[r"a\,b", "c"]),
            ("{a,{b,c}},d", &["{a,{b,c}}", "d"]),
        ];
        for (raw, want) in cases {
            let want: Vec<String> = want.iter().map(|s| (*s).to_owned()).collect();
            assert_eq!(
                Option::<Vec<String>>::from_env(raw).ok(),
                Some(Some(want)),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn report_modes() {
        assert_eq!(
            ReportMode::from_env("check_run").ok(),
            Some(ReportMode::CheckRun)
        );
        assert_eq!(ReportMode::from_env(" Both ").ok(), Some(ReportMode::Both));
        assert!(matches!(
            ReportMode::from_env("checks"),
            Err(Invalid::Expected("one of comment, check_run, both"))
        ));
    }

    #[test]
    fn empty_optional_text_is_unset() {
        assert_eq!(opt_text("  ").ok(), Some(None));
        assert!(secret("").is_none());
    }
}
