//! Scalar parsers shared by the file and environment layers, so that "2s",
//! "true" or a URL mean exactly the same thing wherever they are written.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::model::{LogFormat, LogLevel, ReportMode};

/// Why a raw text was rejected; the caller turns it into a [`crate::ConfigError`]
/// that also names the variable or key.
#[derive(Debug)]
pub(crate) enum Invalid {
    /// Not of the expected shape; the text says what would be accepted.
    Expected(&'static str),
    /// Not a humantime duration (gets its own message with examples).
    Duration,
}

pub(crate) type Parsed<T> = Result<T, Invalid>;

pub(crate) fn text(raw: &str) -> Parsed<String> {
    Ok(raw.trim().to_owned())
}

pub(crate) fn opt_text(raw: &str) -> Parsed<Option<String>> {
    Ok(Some(raw.trim().to_owned()).filter(|s| !s.is_empty()))
}

pub(crate) fn path(raw: &str) -> Parsed<PathBuf> {
    Ok(PathBuf::from(raw.trim()))
}

pub(crate) fn opt_path(raw: &str) -> Parsed<Option<PathBuf>> {
    Ok(opt_text(raw)?.map(PathBuf::from))
}

/// GitHub ids. `0` is accepted: it is the documented "not configured" value.
pub(crate) fn id(raw: &str) -> Parsed<u64> {
    raw.trim()
        .parse()
        .map_err(|_| Invalid::Expected("a positive integer"))
}

/// Concurrency limits: zero would mean a worker that never polls.
pub(crate) fn count(raw: &str) -> Parsed<usize> {
    match raw.trim().parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Invalid::Expected("a positive integer")),
    }
}

pub(crate) fn retries(raw: &str) -> Parsed<u32> {
    raw.trim()
        .parse()
        .map_err(|_| Invalid::Expected("a non-negative integer"))
}

pub(crate) fn port(raw: &str) -> Parsed<u16> {
    match raw.trim().parse() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Invalid::Expected("a port number between 1 and 65535")),
    }
}

/// Booleans as Go's `strconv.ParseBool` (which viper used) plus yes/no/on/off.
pub(crate) fn flag(raw: &str) -> Parsed<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "t" | "1" | "yes" | "on" => Ok(true),
        "false" | "f" | "0" | "no" | "off" => Ok(false),
        _ => Err(Invalid::Expected("true or false")),
    }
}

pub(crate) fn duration(raw: &str) -> Parsed<Duration> {
    humantime::parse_duration(raw.trim()).map_err(|_| Invalid::Duration)
}

pub(crate) fn multiplier(raw: &str) -> Parsed<f64> {
    match raw.trim().parse::<f64>() {
        Ok(m) if m.is_finite() => Ok(m),
        _ => Err(Invalid::Expected("a number such as 2.0")),
    }
}

pub(crate) fn http_url(raw: &str) -> Parsed<Url> {
    parse_http_url(raw)
        .map_err(|_| Invalid::Expected("an absolute http(s) URL such as https://api.github.com"))
}

pub(crate) fn log_level(raw: &str) -> Parsed<LogLevel> {
    raw.parse()
        .map_err(|_| Invalid::Expected(LogLevel::EXPECTED))
}

pub(crate) fn log_format(raw: &str) -> Parsed<LogFormat> {
    raw.parse()
        .map_err(|_| Invalid::Expected(LogFormat::EXPECTED))
}

pub(crate) fn report_mode(raw: &str) -> Parsed<ReportMode> {
    raw.parse()
        .map_err(|_| Invalid::Expected(ReportMode::EXPECTED))
}

/// A comma-separated list of glob patterns, each trimmed, empty items
/// dropped (so `,` alone is the empty list). A comma inside braces belongs to
/// the pattern, because `{types,config}.go` is a glob alternation; a
/// backslash escapes the character after it, as in the glob syntax.
pub(crate) fn patterns(raw: &str) -> Parsed<Option<Vec<String>>> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut depth = 0_usize;
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                current.extend(chars.next());
            }
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    Ok(Some(
        items
            .iter()
            .map(|item| item.trim())
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    ))
}

/// Secrets are trimmed too: a token file written with `echo` ends in a newline,
/// which GitHub would reject with a baffling 401.
pub(crate) fn secret(raw: &str) -> Parsed<Option<SecretString>> {
    let trimmed = raw.trim();
    Ok((!trimmed.is_empty()).then(|| SecretString::from(trimmed.to_owned())))
}

/// An absolute `http`/`https` URL with a host; anything else cannot be an API root.
pub(crate) fn parse_http_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| e.to_string())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("scheme {:?} is not http or https", url.scheme()));
    }
    if url.host_str().is_none() {
        return Err("the URL has no host".to_owned());
    }
    Ok(url)
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
            assert_eq!(duration(raw).ok().map(|d| d.as_secs()), want, "{raw:?}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(id("123").ok(), Some(123));
        assert_eq!(id("0").ok(), Some(0));
        assert!(id("-1").is_err());
        assert!(id("abc").is_err());
        assert!(count("0").is_err());
        assert_eq!(count("20").ok(), Some(20));
        assert_eq!(retries("0").ok(), Some(0));
        assert!(port("0").is_err());
        assert!(port("70000").is_err());
        assert_eq!(port("9090").ok(), Some(9090));
        assert!(multiplier("NaN").is_err());
        assert_eq!(multiplier("1.5").ok(), Some(1.5));
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
            assert_eq!(
                patterns(raw).ok(),
                Some(Some(want.iter().map(|s| (*s).to_owned()).collect())),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn report_modes() {
        assert_eq!(report_mode("check_run").ok(), Some(ReportMode::CheckRun));
        assert_eq!(report_mode(" Both ").ok(), Some(ReportMode::Both));
        assert!(matches!(
            report_mode("checks"),
            Err(Invalid::Expected("one of comment, check_run, both"))
        ));
    }

    #[test]
    fn empty_optional_text_is_unset() {
        assert_eq!(opt_text("  ").ok(), Some(None));
        assert!(secret("").ok().is_some_and(|s| s.is_none()));
    }
}
