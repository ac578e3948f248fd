//! The GitHub client: its configuration, construction and the state its clones share.
//!
//! The client's behaviour is split by reason to change: `transport` sends one request
//! (headers, the retry loop, rate limits), `token` keeps the installation token,
//! `conditional` keeps the `ETag`s of `GET` answers, `pagination` follows `Link` headers, and each endpoint family has its own file under
//! `src/endpoints/`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::header::HeaderValue;
use url::Url;

use crate::auth::{Auth, Credentials};
use crate::error::Error;
use crate::retry::RetryPolicy;

pub(crate) mod conditional;
pub(crate) mod pagination;
pub(crate) mod token;
pub(crate) mod transport;

/// The public GitHub API.
pub const DEFAULT_BASE_URL: &str = "https://api.github.com";

/// The default `User-Agent`: `github-deployment-tracker/<crate version>`.
pub fn default_user_agent() -> String {
    format!("github-deployment-tracker/{}", env!("CARGO_PKG_VERSION"))
}

/// Everything needed to build a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://api.github.com`, `https://HOST/api/v3` for GHES, or a local
    /// sandbox such as `http://127.0.0.1:PORT`.
    pub base_url: Url,
    /// The credentials.
    pub auth: Auth,
    /// Retry and rate-limit behaviour.
    pub retry: RetryPolicy,
    /// The `User-Agent` sent with every request (GitHub requires one).
    pub user_agent: String,
}

impl ClientConfig {
    /// A configuration with the given retry policy and the default user agent.
    ///
    /// The policy has no default here: the application's lives in its configuration
    /// (`github.rate_limit`), and every other caller says which one it wants.
    pub fn new(base_url: Url, auth: Auth, retry: RetryPolicy) -> Self {
        Self {
            base_url,
            auth,
            retry,
            user_agent: default_user_agent(),
        }
    }
}

/// A GitHub REST client for the Deployments, Pulls, Contents, Issue comments
/// and Check runs APIs.
///
/// Cheap to clone: clones share one HTTP connection pool, one installation
/// token cache and one ETag cache (see `client/conditional.rs`: a `GET` repeated when
/// nothing changed is answered `304`, which GitHub does not count against the rate limit).
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
    retry: RetryPolicy,
}

/// State shared by all clones of a [`Client`].
struct Shared {
    http: reqwest::Client,
    base_url: Url,
    user_agent: HeaderValue,
    credentials: Credentials,
    tokens: token::TokenCache,
    /// Who the cached answers are for (a digest, never the credential).
    identity: conditional::Identity,
    etags: conditional::EtagCache,
    /// Conditional `GET`s being sent: one at a time per URL.
    in_flight: conditional::InFlight,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url.as_str())
            .field("credentials", &self.shared.credentials)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds a client. Parses the App private key here, so a bad key fails
    /// at start-up (with a message that does not include the key).
    pub fn new(config: ClientConfig) -> Result<Self, Error> {
        let ClientConfig {
            base_url,
            auth,
            retry,
            user_agent,
        } = config;
        if !matches!(base_url.scheme(), "http" | "https") || base_url.cannot_be_a_base() {
            return Err(Error::Config(format!(
                "GitHub API URL must be an http(s) URL, got {base_url}"
            )));
        }
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::Config(format!("invalid User-Agent {user_agent:?}")))?;
        let credentials = Credentials::from_auth(&auth)?;
        Ok(Self {
            shared: Arc::new(Shared {
                http: transport::http_client()?,
                base_url,
                user_agent,
                identity: conditional::Identity::of(&credentials),
                credentials,
                tokens: token::TokenCache::default(),
                etags: conditional::EtagCache::default(),
                in_flight: conditional::InFlight::default(),
            }),
            retry,
        })
    }

    /// The API base URL.
    pub fn base_url(&self) -> &Url {
        &self.shared.base_url
    }

    /// The retry policy of this handle.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.retry
    }

    /// A handle with a different `max_inline_wait` that shares this client's
    /// token cache and HTTP pool (e.g. bounded by an activity's timeout).
    pub fn with_max_inline_wait(&self, d: Duration) -> Client {
        let mut retry = self.retry.clone();
        retry.max_inline_wait = d;
        Client {
            shared: Arc::clone(&self.shared),
            retry,
        }
    }

    /// The parsed credentials, for endpoints that need an App.
    pub(crate) fn credentials(&self) -> &Credentials {
        &self.shared.credentials
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::retry::tests::test_policy;

    /// A client with a plain token for `base`.
    pub(crate) fn client_with_token(base: &str, token: &str) -> Result<Client, Error> {
        Client::new(ClientConfig::new(
            Url::parse(base).expect("url"),
            Auth::Token(SecretString::from(token)),
            test_policy(),
        ))
    }

    #[test]
    fn rejects_non_http_base_urls() {
        let err = client_with_token("ftp://example.com", "t").expect_err("ftp");
        assert!(matches!(err, Error::Config(_)));
    }

    #[test]
    fn debug_hides_the_token() {
        let c = client_with_token("https://api.github.com", "ghp_SUPERSECRET").expect("client");
        assert!(!format!("{c:?}").contains("SUPERSECRET"));
    }

    #[test]
    fn default_user_agent_has_the_version() {
        assert_eq!(
            default_user_agent(),
            format!("github-deployment-tracker/{}", env!("CARGO_PKG_VERSION"))
        );
    }
}
