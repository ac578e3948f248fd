//! A client of the `gdt serve` API, for `gdt track --api`.

use anyhow::Context as _;
use gdt_server::Problem;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Calls the API with a bearer token; errors carry the server's problem detail.
pub(crate) struct ApiClient {
    http: reqwest::Client,
    base: url::Url,
}

impl ApiClient {
    pub(crate) fn new(base: url::Url, token: &str) -> anyhow::Result<Self> {
        let mut headers = reqwest::header::HeaderMap::new();
        let mut auth = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .context("the API token contains characters a header cannot carry")?;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("cannot create the HTTP client")?;
        Ok(Self { http, base })
    }

    /// `id` as one path segment.
    pub(crate) fn segment(&self, id: &str) -> String {
        url::form_urlencoded::byte_serialize(id.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    }

    pub(crate) async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let url = self.url(path)?;
        self.call(self.http.post(url.clone()).json(body), &url)
            .await
    }

    pub(crate) async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let url = self.url(path)?;
        self.call(self.http.get(url.clone()), &url).await
    }

    pub(crate) async fn get_with_query<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<T> {
        let url = self.url(path)?;
        self.call(self.http.get(url.clone()).query(query), &url)
            .await
    }

    fn url(&self, path: &str) -> anyhow::Result<url::Url> {
        self.base
            .join(path)
            .with_context(|| format!("invalid API URL {} + {path}", self.base))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
        url: &url::Url,
    ) -> anyhow::Result<T> {
        let response = request.send().await.with_context(|| {
            format!("cannot reach the gdt API at {url}: is `gdt serve` running there?")
        })?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .context("cannot read the API's answer")?;
        if !status.is_success() {
            let detail = serde_json::from_slice::<Problem>(&body)
                .map(|p| p.detail)
                .unwrap_or_else(|_| String::from_utf8_lossy(&body).into_owned());
            anyhow::bail!("the gdt API answered {status}: {detail}");
        }
        serde_json::from_slice(&body)
            .with_context(|| format!("the gdt API's answer ({status}) is not what gdt expects"))
    }
}
