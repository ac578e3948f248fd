//! Configuration of a sandbox: which GitHub Apps and tokens it accepts, and
//! the identity of its bot.

use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
use rsa::pkcs8::EncodePublicKey;
use rsa::RsaPrivateKey;

/// What a [`crate::Sandbox`] accepts as credentials and how it limits them.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// GitHub Apps whose JWTs `POST /app/installations/{id}/access_tokens` accepts.
    pub apps: Vec<SandboxApp>,
    /// Plain tokens (PAT-like) accepted as `Bearer X` or `token X`.
    pub tokens: Vec<String>,
    /// `x-ratelimit-limit` of every credential, per hour.
    pub rate_limit: u32,
    /// Base of the `url` fields in returned objects. Defaults to
    /// `http://{bound address}` once served, or the request's `Host` header
    /// when the router is driven without a socket.
    pub public_url: Option<String>,
    /// Where to send `deployment` and `deployment_status` webhooks, and the
    /// secret that signs them; `None` sends none. `PUT /_sandbox/webhook`
    /// changes it while the sandbox runs.
    pub webhook: Option<crate::WebhookTarget>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            apps: Vec::new(),
            tokens: Vec::new(),
            rate_limit: DEFAULT_RATE_LIMIT,
            public_url: None,
            webhook: None,
        }
    }
}

/// GitHub's primary rate limit for personal tokens.
pub const DEFAULT_RATE_LIMIT: u32 = 5000;

/// A GitHub App known to the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxApp {
    /// The App id, matched against the JWT's `iss` claim.
    pub id: u64,
    /// The App slug; its bot user is `{slug}[bot]`.
    pub slug: String,
    /// PEM of the App's RSA public key (SPKI "PUBLIC KEY" or PKCS#1 "RSA PUBLIC KEY").
    pub public_key_pem: String,
    /// Installations of the App that may mint tokens.
    pub installation_ids: Vec<u64>,
}

/// Why [`SandboxApp::try_generate`] failed.
#[derive(Debug, thiserror::Error)]
pub enum KeyGenError {
    /// The RSA key could not be generated.
    #[error("generating the RSA key failed: {0}")]
    Generate(#[from] rsa::Error),
    /// The private key could not be PEM-encoded.
    #[error("encoding the private key failed: {0}")]
    EncodePrivate(#[from] rsa::pkcs1::Error),
    /// The public key could not be PEM-encoded.
    #[error("encoding the public key failed: {0}")]
    EncodePublic(#[from] rsa::pkcs8::spki::Error),
}

/// Slug of generated Apps, so their bot is the sandbox's default creator.
pub const DEFAULT_APP_SLUG: &str = "gdt-sandbox";

/// User id of the bot that acts for plain tokens (`{DEFAULT_APP_SLUG}[bot]`),
/// and the base of every App bot's id. Here, beside the slug, because both
/// the credentials (`auth`, in rate-limit messages) and the rendered objects
/// (`objects`, as creators) name this user.
pub(crate) const SANDBOX_BOT_ID: u64 = 900_000_000;

impl SandboxApp {
    /// Generates an App with a fresh 2048-bit key that may mint tokens for
    /// `installation_id`. Returns the App and its private key as PKCS#1 PEM
    /// ("BEGIN RSA PRIVATE KEY"), the format GitHub hands out.
    ///
    /// # Panics
    /// If the operating system's RNG fails, which leaves nothing sensible to do
    /// in the tests and tools this is meant for; use [`Self::try_generate`] to
    /// handle that.
    pub fn generate(id: u64, installation_id: u64) -> (SandboxApp, String) {
        match Self::try_generate(id, installation_id) {
            Ok(generated) => generated,
            Err(err) => panic!("SandboxApp::generate: {err}"),
        }
    }

    /// [`Self::generate`] returning errors instead of panicking.
    pub fn try_generate(
        id: u64,
        installation_id: u64,
    ) -> Result<(SandboxApp, String), KeyGenError> {
        // rsa 0.9 is built on rand_core 0.6, so it needs its own re-exported OsRng
        // rather than rand 0.9's.
        let mut rng = rsa::rand_core::OsRng;
        let private = RsaPrivateKey::new(&mut rng, 2048)?;
        let private_pem = private.to_pkcs1_pem(LineEnding::LF)?.to_string();
        let public_pem = private.to_public_key().to_public_key_pem(LineEnding::LF)?;
        let app = SandboxApp {
            id,
            slug: DEFAULT_APP_SLUG.to_owned(),
            public_key_pem: public_pem,
            installation_ids: vec![installation_id],
        };
        Ok((app, private_pem))
    }
}
