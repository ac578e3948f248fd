//! `X-Hub-Signature-256`: HMAC-SHA256 of the raw body with the webhook secret.
//!
//! Several secrets may be configured so one can be rotated: the signature is checked against
//! each, every time, and the comparison is the MAC library's constant-time one.

use gdt_metrics::labels::SignatureFailure;
use hmac::{Hmac, Mac as _};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::Sha256;

/// The configured webhook secrets.
#[derive(Clone)]
pub struct WebhookSecrets {
    secrets: Vec<SecretString>,
}

impl std::fmt::Debug for WebhookSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookSecrets({} secrets)", self.secrets.len())
    }
}

impl WebhookSecrets {
    /// Accepts signatures made with any of `secrets`; empty ones are ignored.
    pub fn new(secrets: Vec<SecretString>) -> Self {
        Self {
            secrets: secrets
                .into_iter()
                .filter(|s| !s.expose_secret().trim().is_empty())
                .collect(),
        }
    }

    /// No secret configured: every delivery is refused.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// Why a delivery signed with `header` is refused before its body is read: no secret
    /// configured, no header, or a header without the shape of a signature.
    pub fn refuse_unread(&self, header: &str) -> Option<SignatureFailure> {
        if self.is_empty() {
            Some(SignatureFailure::NoSecret)
        } else if header.is_empty() {
            Some(SignatureFailure::Missing)
        } else if !is_well_formed(header) {
            Some(SignatureFailure::Malformed)
        } else {
            None
        }
    }

    /// Whether `header` (`sha256=<hex>`) is a valid signature of `body` by one of the
    /// secrets.
    pub fn verify(&self, header: &str, body: &[u8]) -> bool {
        let Some(hex_mac) = header.trim().strip_prefix("sha256=") else {
            return false;
        };
        let Ok(mac) = hex::decode(hex_mac) else {
            return false;
        };
        // No early return: every secret is tried whatever the outcome.
        self.secrets.iter().fold(false, |found, secret| {
            let mut expected = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
                .expect("HMAC takes keys of any length");
            expected.update(body);
            expected.verify_slice(&mac).is_ok() | found
        })
    }
}

/// Whether `header` has the shape of a signature (`sha256=` and 64 hex digits), so a
/// delivery without one is refused before its body is read.
pub fn is_well_formed(header: &str) -> bool {
    header
        .trim()
        .strip_prefix("sha256=")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `sha256=<hex>` for `body` signed with `secret`, as GitHub computes it (tests, tools).
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_by_any_configured_secret_verify_and_nothing_else() {
        let body = br#"{"zen":"Keep it logically awesome."}"#;
        let secrets = WebhookSecrets::new(vec![
            SecretString::from("old-secret"),
            SecretString::from("new-secret"),
            SecretString::from(""),
        ]);
        assert!(secrets.verify(&sign("old-secret", body), body));
        assert!(secrets.verify(&sign("new-secret", body), body));
        assert!(!secrets.verify(&sign("other", body), body));
        assert!(!secrets.verify(&sign("new-secret", b"tampered"), body));
        assert!(!secrets.verify("sha1=abc", body));
        assert!(!secrets.verify("sha256=zz", body));
        assert!(!secrets.verify("", body));
        assert!(!format!("{secrets:?}").contains("secret\""));
    }

    #[test]
    fn only_sha256_with_64_hex_digits_is_well_formed() {
        assert!(is_well_formed(&sign("s", b"body")));
        assert!(is_well_formed(&format!(" sha256={} ", "A".repeat(64))));
        for bad in [
            "",
            "sha256=",
            "sha1=abc",
            &format!("sha256={}", "0".repeat(63)),
            &format!("sha256={}", "g".repeat(64)),
        ] {
            assert!(!is_well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn headers_refused_unread_say_why() {
        let none = WebhookSecrets::new(vec![]);
        let one = WebhookSecrets::new(vec![SecretString::from("s")]);
        let good = sign("s", b"body");
        assert_eq!(none.refuse_unread(&good), Some(SignatureFailure::NoSecret));
        assert_eq!(one.refuse_unread(""), Some(SignatureFailure::Missing));
        assert_eq!(
            one.refuse_unread("sha1=ab"),
            Some(SignatureFailure::Malformed)
        );
        assert_eq!(one.refuse_unread(&sign("other", b"body")), None);
        assert_eq!(one.refuse_unread(&good), None);
    }

    #[test]
    fn matches_githubs_documented_example() {
        // From GitHub's "Validating webhook deliveries" documentation.
        assert_eq!(
            sign("It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
