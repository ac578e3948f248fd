//! Credentials: plain tokens and GitHub App keys, and the App JWTs signed with
//! them. The installation token cache is in `client/token.rs`.

use std::fmt;

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// How the client authenticates.
///
/// `Debug` is safe to print: `SecretString` redacts itself.
#[derive(Debug, Clone)]
pub enum Auth {
    /// A plain token (GITHUB_TOKEN, a PAT or an installation token).
    Token(SecretString),
    /// A GitHub App: JWT (RS256) exchanged for installation tokens.
    App {
        /// The app id (the JWT's `iss`).
        app_id: u64,
        /// The installation whose token is minted.
        installation_id: u64,
        /// The app's private key, PEM (PKCS#1 as GitHub issues it, or PKCS#8).
        private_key_pem: SecretString,
    },
}

/// A token usable as `Authorization: Bearer`.
#[derive(Debug, Clone)]
pub struct InstallationToken {
    /// The token.
    pub token: SecretString,
    /// When it expires; `None` for a plain token whose expiry is unknown.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The JWT is backdated to tolerate clock drift between us and GitHub.
const JWT_BACKDATE_SECS: i64 = 60;
/// GitHub rejects JWTs expiring more than 10 minutes ahead; 9 leaves margin
/// for drift.
const JWT_LIFETIME_SECS: i64 = 9 * 60;

/// The claims of a GitHub App JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JwtClaims {
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) iss: String,
}

impl JwtClaims {
    pub(crate) fn new(app_id: u64, now: DateTime<Utc>) -> Self {
        let now = now.timestamp();
        Self {
            iat: now - JWT_BACKDATE_SECS,
            exp: now + JWT_LIFETIME_SECS,
            iss: app_id.to_string(),
        }
    }
}

/// A GitHub App's credentials with the key already parsed.
#[derive(Clone)]
pub(crate) struct AppCredentials {
    pub(crate) app_id: u64,
    pub(crate) installation_id: u64,
    key: EncodingKey,
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .field("installation_id", &self.installation_id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl AppCredentials {
    /// Parses the PEM key. The error names the problem, never the key.
    pub(crate) fn new(
        app_id: u64,
        installation_id: u64,
        private_key_pem: &SecretString,
    ) -> Result<Self, Error> {
        let key =
            EncodingKey::from_rsa_pem(private_key_pem.expose_secret().as_bytes()).map_err(|e| {
                // jsonwebtoken's error kinds describe the format problem without
                // echoing input.
                Error::Config(format!(
                    "the GitHub App private key (app {app_id}) is not a valid RSA PEM key: {e}"
                ))
            })?;
        Ok(Self {
            app_id,
            installation_id,
            key,
        })
    }

    /// A fresh RS256 JWT identifying the app.
    pub(crate) fn jwt(&self, now: DateTime<Utc>) -> Result<SecretString, Error> {
        let claims = JwtClaims::new(self.app_id, now);
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(SecretString::from)
            .map_err(|e| Error::Config(format!("could not sign the GitHub App JWT: {e}")))
    }
}

/// The parsed form of [`Auth`] kept by the client.
#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    Token(SecretString),
    App(AppCredentials),
}

impl Credentials {
    pub(crate) fn from_auth(auth: &Auth) -> Result<Self, Error> {
        match auth {
            Auth::Token(token) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::Config("the GitHub token is empty".to_owned()));
                }
                Ok(Self::Token(token.clone()))
            }
            Auth::App {
                app_id,
                installation_id,
                private_key_pem,
            } => Ok(Self::App(AppCredentials::new(
                *app_id,
                *installation_id,
                private_key_pem,
            )?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};

    fn keypair() -> (SecretString, String) {
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("keygen");
        let private = key.to_pkcs1_pem(LineEnding::LF).expect("private pem");
        let public = key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("public pem");
        (SecretString::from(private.to_string()), public)
    }

    #[test]
    fn jwt_claims_and_signature() {
        let (private, public) = keypair();
        let creds = AppCredentials::new(12345, 678, &private).expect("parse key");
        let now = Utc::now();
        let jwt = creds.jwt(now).expect("sign");

        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&["12345"]);
        validation.set_required_spec_claims(&["exp", "iat", "iss"]);
        let decoded = jsonwebtoken::decode::<JwtClaims>(
            jwt.expose_secret(),
            &DecodingKey::from_rsa_pem(public.as_bytes()).expect("public key"),
            &validation,
        )
        .expect("valid JWT");
        assert_eq!(decoded.header.alg, Algorithm::RS256);
        let c = decoded.claims;
        assert_eq!(c.iss, "12345");
        assert_eq!(c.iat, now.timestamp() - 60);
        assert_eq!(c.exp, now.timestamp() + 9 * 60);
        assert!(
            c.exp - now.timestamp() <= 600,
            "GitHub allows at most 10 minutes"
        );
    }

    #[test]
    fn bad_key_is_a_config_error_without_the_key() {
        let secret_text =
            "-----BEGIN RSA PRIVATE KEY-----\nTOPSECRETGARBAGE\n-----END RSA PRIVATE KEY-----\n";
        let err = AppCredentials::new(1, 2, &SecretString::from(secret_text)).expect_err("bad key");
        let shown = format!("{err} {err:?}");
        assert!(matches!(err, Error::Config(_)));
        assert!(shown.contains("private key"), "{shown}");
        assert!(!shown.contains("TOPSECRET"), "{shown}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let auth = Auth::App {
            app_id: 1,
            installation_id: 2,
            private_key_pem: SecretString::from("PEMSECRET"),
        };
        let token = Auth::Token(SecretString::from("ghs_SECRET"));
        let shown = format!("{auth:?} {token:?}");
        assert!(
            !shown.contains("PEMSECRET") && !shown.contains("ghs_SECRET"),
            "{shown}"
        );
    }

    #[test]
    fn empty_token_is_rejected() {
        let err = Credentials::from_auth(&Auth::Token(SecretString::from("  ")))
            .expect_err("empty token");
        assert!(matches!(err, Error::Config(_)));
    }
}
