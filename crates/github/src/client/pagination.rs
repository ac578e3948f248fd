//! GitHub's pagination: following `Link: rel="next"` with `per_page=100`, up
//! to a page limit, and never to another origin.

use gdt_metrics::labels::Endpoint;
use http::{HeaderMap, Method};
use serde::de::DeserializeOwned;
use url::Url;

use super::transport::{decode, Request};
use super::Client;
use crate::error::Error;

/// GitHub's largest page size.
const PER_PAGE: &str = "100";

/// The items of a paginated listing and whether the page limit cut it short.
pub(crate) struct Pages<T> {
    pub(crate) items: Vec<T>,
    /// GitHub offered a next page that was not fetched.
    pub(crate) more: bool,
}

impl Client {
    /// Every item of a listing (of `endpoint`'s family) whose pages are JSON arrays, up to
    /// `max_pages` pages.
    pub(crate) async fn get_all<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        first: Url,
        max_pages: u32,
        what: &str,
    ) -> Result<Vec<T>, Error> {
        self.get_pages(endpoint, first, max_pages, what, |page: Vec<T>| page)
            .await
            .map(|pages| pages.items)
    }

    /// Asks for pages of 100 at `first` and follows `Link: rel="next"` for up to
    /// `max_pages` pages, decoding each page as `P` and taking its items with
    /// `items` (for listings wrapped in an object, such as check runs). Every page is
    /// counted under `endpoint`.
    pub(crate) async fn get_pages<P: DeserializeOwned, T>(
        &self,
        endpoint: Endpoint,
        mut first: Url,
        max_pages: u32,
        what: &str,
        items: impl Fn(P) -> Vec<T>,
    ) -> Result<Pages<T>, Error> {
        first.query_pairs_mut().append_pair("per_page", PER_PAGE);
        let mut all = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            if pages >= max_pages.max(1) {
                tracing::debug!(what, pages, "stopping pagination at the page limit");
                return Ok(Pages {
                    items: all,
                    more: true,
                });
            }
            let resp = self
                .execute(&Request::new(endpoint, Method::GET, url))
                .await?;
            pages += 1;
            all.extend(items(decode::<P>(&resp.body, what)?));
            next = next_link(&resp.headers)
                .map(|url| self.check_same_origin(url))
                .transpose()?;
        }
        Ok(Pages {
            items: all,
            more: false,
        })
    }

    /// Refuses to follow a pagination link to another host: it would get our
    /// bearer token.
    fn check_same_origin(&self, url: Url) -> Result<Url, Error> {
        if url.origin() == self.shared.base_url.origin() {
            Ok(url)
        } else {
            Err(Error::Unexpected(format!(
                "pagination link points to another origin ({}); not following it",
                url.origin().ascii_serialization()
            )))
        }
    }
}

/// The `rel="next"` target of the response's `Link` header(s), if any.
///
/// GitHub sends e.g.
/// `<https://api.github.com/repositories/1/deployments?page=2>; rel="next", <...>; rel="last"`.
fn next_link(headers: &HeaderMap) -> Option<Url> {
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
    use crate::client::tests::client_with_token;
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

    #[test]
    fn pagination_refuses_foreign_origins() {
        let c = client_with_token("https://api.github.com", "t").expect("client");
        assert!(c
            .check_same_origin(Url::parse("https://api.github.com/x?page=2").expect("url"))
            .is_ok());
        assert!(c
            .check_same_origin(Url::parse("https://evil.example/x?page=2").expect("url"))
            .is_err());
    }
}
