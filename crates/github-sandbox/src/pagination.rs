//! GitHub's page-number pagination: `per_page`/`page` parameters and the
//! `Link` header.

/// A requested page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Page {
    /// 1-based page number.
    pub(crate) page: usize,
    /// Items per page, 1..=100.
    pub(crate) per_page: usize,
}

const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;

impl Page {
    /// Reads `page` and `per_page` from a raw query string. Like GitHub, values
    /// that do not parse fall back to the defaults and `per_page` is capped.
    pub(crate) fn from_query(query: Option<&str>) -> Self {
        let mut page = 1;
        let mut per_page = DEFAULT_PER_PAGE;
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "page" => page = value.parse().ok().filter(|p| *p >= 1).unwrap_or(1),
                "per_page" => {
                    per_page = value
                        .parse()
                        .ok()
                        .filter(|p| *p >= 1)
                        .map_or(DEFAULT_PER_PAGE, |p: usize| p.min(MAX_PER_PAGE));
                }
                _ => {}
            }
        }
        Self { page, per_page }
    }

    /// The range of items of this page within `total` items.
    pub(crate) fn range(self, total: usize) -> std::ops::Range<usize> {
        let start = (self.page - 1).saturating_mul(self.per_page).min(total);
        let end = start.saturating_add(self.per_page).min(total);
        start..end
    }

    /// The `Link` header for this page of `total` items, or `None` when
    /// everything fits on one page (GitHub then sends none).
    /// `url` is the absolute URL of the request without its query.
    pub(crate) fn link_header(
        self,
        url: &str,
        query: Option<&str>,
        total: usize,
    ) -> Option<String> {
        let last = total.div_ceil(self.per_page).max(1);
        if last == 1 && self.page == 1 {
            return None;
        }
        let link =
            |page: usize, rel: &str| format!("<{url}?{}>; rel=\"{rel}\"", with_page(query, page));
        // GitHub's order: prev, next, last, first.
        let mut links = Vec::with_capacity(4);
        if self.page > 1 {
            links.push(link((self.page - 1).min(last), "prev"));
        }
        if self.page < last {
            links.push(link(self.page + 1, "next"));
            links.push(link(last, "last"));
        }
        if self.page > 1 {
            links.push(link(1, "first"));
        }
        Some(links.join(", "))
    }
}

/// The request's own query with `page` replaced (or appended), other
/// parameters kept verbatim and in order.
fn with_page(query: Option<&str>, page: usize) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut replaced = false;
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let key = part.split_once('=').map_or(part, |(k, _)| k);
        if key == "page" {
            if !replaced {
                parts.push(format!("page={page}"));
                replaced = true;
            }
        } else {
            parts.push(part.to_owned());
        }
    }
    if !replaced {
        parts.push(format!("page={page}"));
    }
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_caps() {
        assert_eq!(
            Page::from_query(None),
            Page {
                page: 1,
                per_page: 30
            }
        );
        assert_eq!(
            Page::from_query(Some("per_page=500&page=3")),
            Page {
                page: 3,
                per_page: 100
            }
        );
        assert_eq!(
            Page::from_query(Some("per_page=x&page=0")),
            Page {
                page: 1,
                per_page: 30
            }
        );
    }

    #[test]
    fn links() {
        let url = "http://h/repos/o/r/deployments";
        let first = Page {
            page: 1,
            per_page: 100,
        };
        assert_eq!(
            first.link_header(url, Some("per_page=100&environment=prod"), 250).as_deref(),
            Some(
                "<http://h/repos/o/r/deployments?per_page=100&environment=prod&page=2>; rel=\"next\", \
                 <http://h/repos/o/r/deployments?per_page=100&environment=prod&page=3>; rel=\"last\""
            )
        );
        let middle = Page {
            page: 2,
            per_page: 100,
        };
        assert_eq!(
            middle
                .link_header(url, Some("page=2&per_page=100"), 250)
                .as_deref(),
            Some(
                "<http://h/repos/o/r/deployments?page=1&per_page=100>; rel=\"prev\", \
                 <http://h/repos/o/r/deployments?page=3&per_page=100>; rel=\"next\", \
                 <http://h/repos/o/r/deployments?page=3&per_page=100>; rel=\"last\", \
                 <http://h/repos/o/r/deployments?page=1&per_page=100>; rel=\"first\""
            )
        );
        assert_eq!(first.link_header(url, None, 100), None);
        assert_eq!(first.range(250), 0..100);
        assert_eq!(
            Page {
                page: 3,
                per_page: 100
            }
            .range(250),
            200..250
        );
        assert_eq!(
            Page {
                page: 4,
                per_page: 100
            }
            .range(250),
            250..250
        );
    }
}
