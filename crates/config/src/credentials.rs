//! Reading credential files: the GitHub App key, Temporal TLS material, the
//! API tokens of the server and the GitHub webhook secrets.
//!
//! Files are read on demand rather than in `load`, so `gdt config check` can
//! show a configuration whose key file is missing and say exactly that. Key
//! material goes straight into `secrecy` types and never into an error.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretSlice, SecretString};

use crate::error::ConfigError;
use crate::settings::{BoardConfig, GitHubConfig, ServerConfig, TemporalConfig, WebhookConfig};

/// Which GitHub credentials are configured.
#[derive(Debug, Clone)]
pub enum GitHubCredentials {
    /// A GitHub App installation (preferred: higher rate limits, scoped,
    /// short-lived tokens).
    App {
        /// The App id.
        app_id: u64,
        /// The installation id.
        installation_id: u64,
        /// The App private key, PEM text.
        private_key_pem: SecretString,
    },
    /// A plain token (personal access token or `GITHUB_TOKEN`).
    Token(SecretString),
    /// Nothing configured; commands that only talk to Temporal still work.
    None,
}

/// TLS material for the Temporal connection, read from the configured files.
#[derive(Debug, Clone, Default)]
pub struct TlsMaterial {
    /// SNI / verified host name override.
    pub server_name: Option<String>,
    /// PEM CA bundle replacing the system roots.
    pub server_ca_cert: Option<Vec<u8>>,
    /// Client certificate and key for mTLS.
    pub client_identity: Option<ClientIdentity>,
}

/// A client certificate with its private key (mTLS).
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// PEM certificate chain.
    pub cert: Vec<u8>,
    /// PEM private key.
    pub key: SecretSlice<u8>,
}

impl GitHubConfig {
    /// What credentials are configured: an App (app id + installation id +
    /// key file, which is read and checked here), else a token, else none.
    /// An App wins over a token because it is what production uses; the
    /// token is a local-development convenience.
    pub fn credentials(&self) -> Result<GitHubCredentials, ConfigError> {
        Ok(match self.app_ids()? {
            None => self
                .token
                .clone()
                .map_or(GitHubCredentials::None, GitHubCredentials::Token),
            Some((app_id, installation_id)) => GitHubCredentials::App {
                app_id,
                installation_id,
                private_key_pem: read_private_key(&self.private_key_path)?,
            },
        })
    }

    /// The App id and the installation id when both are set; one without the
    /// other is an error (`load` checks it too).
    pub(crate) fn app_ids(&self) -> Result<Option<(u64, u64)>, ConfigError> {
        match (self.app_id, self.installation_id) {
            (0, 0) => Ok(None),
            (app_id, 0) => Err(ConfigError::invalid(
                "github.app_id",
                format!(
                    "is set ({app_id}) but github.installation_id is not: \
                     set GDT_GITHUB_INSTALLATION_ID or github.installation_id"
                ),
            )),
            (0, installation_id) => Err(ConfigError::invalid(
                "github.installation_id",
                format!(
                    "is set ({installation_id}) but github.app_id is not: \
                     set GDT_GITHUB_APP_ID or github.app_id"
                ),
            )),
            ids => Ok(Some(ids)),
        }
    }
}

fn read_private_key(path: &Path) -> Result<SecretString, ConfigError> {
    let not_pem = || ConfigError::PrivateKeyNotPem {
        path: path.to_owned(),
    };
    let text = match read_text(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => return Err(not_pem()),
        Err(source) => {
            let path = path.to_owned();
            return Err(ConfigError::PrivateKeyUnreadable { path, source });
        }
    };
    looks_like_pem(text.expose_secret(), "PRIVATE KEY")
        .then_some(text)
        .ok_or_else(not_pem)
}

/// A file of secret text. Its bytes are moved into a secret before they are inspected, so
/// they are zeroised on every path out; a file that is not UTF-8 is an `InvalidData` error.
fn read_text(path: &Path) -> io::Result<SecretString> {
    String::from_utf8(fs::read(path)?)
        .map(SecretString::from)
        .map_err(|e| {
            drop(SecretSlice::from(e.into_bytes()));
            io::Error::new(io::ErrorKind::InvalidData, "the file is not UTF-8 text")
        })
}

/// A `-----BEGIN … {label}-----` line followed by a matching `-----END` line.
fn looks_like_pem(text: &str, label: &str) -> bool {
    let mut lines = text.lines().map(str::trim);
    let begin = lines.find(|l| l.starts_with("-----BEGIN ") && l.ends_with("-----"));
    let Some(begin) = begin else {
        return false;
    };
    let kind = &begin["-----BEGIN ".len()..begin.len() - "-----".len()];
    let end = format!("-----END {kind}-----");
    kind.ends_with(label) && lines.any(|l| l == end)
}

impl TemporalConfig {
    /// Reads the TLS files, or returns `None` when TLS is off (see
    /// [`TemporalConfig::tls_enabled`]). `load` calls this once to validate,
    /// so after a successful `load` it fails only if the files changed.
    pub fn tls_material(&self) -> Result<Option<TlsMaterial>, ConfigError> {
        if !self.tls_enabled() {
            return Ok(None);
        }
        let tls = &self.tls;
        let server_ca_cert = tls
            .server_ca_cert_path
            .as_deref()
            .map(|p| read_pem("temporal.tls.server_ca_cert_path", p))
            .transpose()?;
        let client_identity = match (&tls.client_cert_path, &tls.client_key_path) {
            (None, None) => None,
            (Some(cert), Some(key)) => Some(ClientIdentity {
                cert: read_pem("temporal.tls.client_cert_path", cert)?,
                key: SecretSlice::from(read_pem("temporal.tls.client_key_path", key)?),
            }),
            // mTLS needs both halves; one without the other is a mistake.
            (cert, _) => {
                let (key, unset) = match cert {
                    Some(_) => ("temporal.tls.client_cert_path", "KEY"),
                    None => ("temporal.tls.client_key_path", "CERT"),
                };
                let lower = unset.to_ascii_lowercase();
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "is set but temporal.tls.client_{lower}_path is not: mTLS needs both \
                         (set GDT_TEMPORAL_TLS_CLIENT_{unset}_PATH or TEMPORAL_TLS_CLIENT_{unset}_PATH)"
                    ),
                ));
            }
        };
        Ok(Some(TlsMaterial {
            server_name: tls.server_name.clone(),
            server_ca_cert,
            client_identity,
        }))
    }
}

fn read_pem(key: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    let bytes = fs::read(path).map_err(|source| ConfigError::TlsFileUnreadable {
        key,
        path: path.to_owned(),
        source,
    })?;
    if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
        return Ok(bytes);
    }
    drop(SecretSlice::from(bytes));
    let path = path.to_owned();
    Err(ConfigError::TlsFileNotPem { key, path })
}

impl ServerConfig {
    /// The API bearer tokens to accept: those of `api_tokens` (split on commas
    /// and whitespace), then those of `api_tokens_file` (one per line, blank
    /// lines and `#` comments ignored), without duplicates, in that order.
    ///
    /// Accepting several tokens lets one be rotated without downtime: add the
    /// new one, move the clients over, remove the old one. The file is read on
    /// every call, so a caller may call this again to pick up a rotated file.
    /// No token at all is not an error here; the server decides what that means.
    pub fn api_tokens(&self) -> Result<Vec<SecretString>, ConfigError> {
        collect_secrets(self.api_tokens.as_ref(), self.api_tokens_file.as_deref())
            .map_err(|(path, source)| ConfigError::ApiTokensFileUnreadable { path, source })
    }
}

impl BoardConfig {
    /// The read-only viewer tokens: those of `viewer_tokens`, then those of
    /// `viewer_tokens_file`, read as [`ServerConfig::api_tokens`] reads its own.
    ///
    /// A board session cookie is a MAC keyed with the token's digest, which a
    /// weak token would let anyone holding a cookie guess offline: tokens
    /// shorter than [`MIN_VIEWER_TOKEN_CHARS`] are refused.
    pub fn viewer_tokens(&self) -> Result<Vec<SecretString>, ConfigError> {
        let tokens = collect_secrets(
            self.viewer_tokens.as_ref(),
            self.viewer_tokens_file.as_deref(),
        )
        .map_err(|(path, source)| ConfigError::ViewerTokensFileUnreadable { path, source })?;
        match tokens
            .iter()
            .position(|t| t.expose_secret().chars().count() < MIN_VIEWER_TOKEN_CHARS)
        {
            Some(position) => Err(ConfigError::ViewerTokenTooShort { position }),
            None => Ok(tokens),
        }
    }
}

/// The shortest viewer token accepted.
pub(crate) const MIN_VIEWER_TOKEN_CHARS: usize = 16;

impl WebhookConfig {
    /// The webhook secrets to accept: those of `secrets` (split on commas and
    /// whitespace), then those of `secrets_file` (one per line, blank lines
    /// and `#` comments ignored), without duplicates, in that order — exactly
    /// as [`ServerConfig::api_tokens`].
    ///
    /// A signature made with any of them is valid, so the secret can be
    /// rotated without losing deliveries. The file is read on every call. No
    /// secret at all is not an error here; the server decides what that means.
    pub fn secrets(&self) -> Result<Vec<SecretString>, ConfigError> {
        collect_secrets(self.secrets.as_ref(), self.secrets_file.as_deref())
            .map_err(|(path, source)| ConfigError::WebhookSecretsFileUnreadable { path, source })
    }
}

/// The secrets of `list` (split on commas and whitespace), then those of
/// `file` (one per line, blank lines and `#` comments ignored), without
/// duplicates; or the file that cannot be read, and why.
fn collect_secrets(
    list: Option<&SecretString>,
    file: Option<&Path>,
) -> Result<Vec<SecretString>, (PathBuf, io::Error)> {
    let text = file
        .map(|path| read_text(path).map_err(|e| (path.to_owned(), e)))
        .transpose()?;
    let listed = list.into_iter().flat_map(|list| {
        list.expose_secret()
            .split(|c: char| c == ',' || c.is_whitespace())
    });
    let lines = text.iter().flat_map(|text| {
        let lines = text.expose_secret().lines().map(str::trim);
        lines.filter(|l| !l.starts_with('#'))
    });
    let mut secrets: Vec<SecretString> = Vec::new();
    for candidate in listed.chain(lines).map(str::trim).filter(|t| !t.is_empty()) {
        if !secrets.iter().any(|t| t.expose_secret() == candidate) {
            secrets.push(SecretString::from(candidate.to_owned()));
        }
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_detection() {
        let cases = [
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMII...\n-----END RSA PRIVATE KEY-----\n",
                true,
            ),
            (
                "\n-----BEGIN PRIVATE KEY-----\r\nMII\r\n-----END PRIVATE KEY-----",
                true,
            ),
            (
                "-----BEGIN PUBLIC KEY-----\nMII\n-----END PUBLIC KEY-----\n",
                false,
            ),
            (
                "-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n",
                false,
            ),
            ("-----BEGIN RSA PRIVATE KEY-----\nMII truncated", false),
            ("ghp_not_a_key", false),
            ("", false),
        ];
        for (text, want) in cases {
            assert_eq!(looks_like_pem(text, "PRIVATE KEY"), want, "{text:?}");
        }
    }
}
