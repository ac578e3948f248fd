//! `Link` header parsing for GitHub's pagination.

use http::HeaderMap;
use url::Url;

/// The `rel="next"` target of the response's `Link` header(s), if any.
///
/// GitHub sends e.g.
/// `<https://api.github.com/repositories/1/deployments?page=2>; rel="next", <...>; rel="last"`.
pub(crate) fn next_link(headers: &HeaderMap) -> Option<Url> {
    headers
        .get_all(http::header::LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(parse_next)
}

/// Parses one `<url>; param; param` link-value and returns the URL if one of
/// its `rel` values is `next`.
fn parse_next(link_value: &str) -> Option<Url> {
    let link_value = link_value.trim();
    let rest = link_value.strip_prefix('<')?;
    let (target, params) = rest.split_once('>')?;
    let is_next = params.split(';').any(|param| {
        let Some((name, value)) = param.split_once('=') else {
            return false;
        };
        // rel may hold several space-separated relation types.
        name.trim().eq_ignore_ascii_case("rel")
            && value
                .trim()
                .trim_matches('"')
                .split_ascii_whitespace()
                .any(|rel| rel.eq_ignore_ascii_case("next"))
    });
    if is_next {
        Url::parse(target.trim()).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(http::header::LINK, HeaderValue::from_str(v).expect("value"));
        }
        h
    }

    #[test]
    fn finds_next_among_other_relations() {
        let h = headers(&[
            r#"<https://api.github.com/repositories/1/deployments?per_page=100&page=1>; rel="prev", <https://api.github.com/repositories/1/deployments?per_page=100&page=3>; rel="next", <https://api.github.com/repositories/1/deployments?per_page=100&page=5>; rel="last""#,
        ]);
        assert_eq!(
            next_link(&h).map(String::from).as_deref(),
            Some("https://api.github.com/repositories/1/deployments?per_page=100&page=3")
        );
    }

    #[test]
    fn no_next_on_last_page() {
        let h = headers(&[
            r#"<https://api.github.com/x?page=1>; rel="first", <https://api.github.com/x?page=2>; rel="prev""#,
        ]);
        assert_eq!(next_link(&h), None);
        assert_eq!(next_link(&HeaderMap::new()), None);
    }

    #[test]
    fn tolerates_unquoted_rel_and_multiple_headers() {
        let h = headers(&[
            "<https://h/x?page=1>; rel=prev",
            "<https://h/x?page=2>;rel=next",
        ]);
        assert_eq!(
            next_link(&h).map(String::from).as_deref(),
            Some("https://h/x?page=2")
        );
    }
}
