//! The board's session cookie, `gdt_board=v1.<expiry>.<mac>`.
//!
//! The mac is HMAC-SHA256 over `gdt-board|v1|<expiry>` (expiry in Unix seconds), keyed with
//! the SHA-256 digest of the token the person signed in with. The server keeps only those
//! digests (see [`crate::auth`]), so a cookie verifies against them without any session
//! store: every API server accepts it, it carries no token, and it dies when its token is
//! removed from the configuration or when it expires (`board.session_ttl`). A cookie only
//! ever authorises reads, whatever token made it.

use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;

/// The cookie's name.
pub const COOKIE: &str = "gdt_board";

const VERSION: &str = "v1";

/// A session value for a person who signed in with the token whose digest is `key`, valid
/// until `expires` (Unix seconds).
pub fn issue(key: &[u8; 32], expires: u64) -> String {
    format!("{VERSION}.{expires}.{}", hex::encode(mac(key, expires)))
}

/// Whether `value` is a session made with one of `keys` that has not expired at `now`
/// (Unix seconds). Every key is tried whatever the outcome, in constant time per key.
pub fn verify<'a>(value: &str, keys: impl IntoIterator<Item = &'a [u8; 32]>, now: u64) -> bool {
    let Some((expires, presented)) = parse(value) else {
        return false;
    };
    if expires <= now {
        return false;
    }
    keys.into_iter()
        .fold(subtle::Choice::from(0), |found, key| {
            found | mac(key, expires).as_slice().ct_eq(&presented)
        })
        .into()
}

/// The session cookie's value among a request's `Cookie` headers, if there is one.
pub fn from_cookie_header<'a>(headers: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
}

fn parse(value: &str) -> Option<(u64, Vec<u8>)> {
    let mut parts = value.split('.');
    let (Some(VERSION), Some(expires), Some(mac), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mac = hex::decode(mac).ok().filter(|m| m.len() == 32)?;
    Some((expires.parse().ok()?, mac))
}

fn mac(key: &[u8; 32], expires: u64) -> [u8; 32] {
    let mut mac = <Hmac<Sha256>>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(format!("gdt-board|{VERSION}|{expires}").as_bytes());
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use sha2::Digest as _;

    use super::*;

    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    #[test]
    fn a_session_verifies_against_its_token_until_it_expires() {
        let (alice, bob, gone) = (
            key("alice-token-0123456789"),
            key("bob-token-0123456789"),
            key("removed-token-0123456"),
        );
        let value = issue(&alice, 1_000);
        let tampered_expiry = value.replacen("1000", "9000", 1);
        let mut other_mac = value.clone();
        other_mac.replace_range(
            value.len() - 1..,
            if value.ends_with('0') { "1" } else { "0" },
        );
        type Case<'a> = (&'a str, &'a str, &'a [&'a [u8; 32]], u64, bool);
        let cases: [Case<'_>; 10] = [
            ("its own token", &value, &[&bob, &alice], 999, true),
            ("expired", &value, &[&alice], 1_000, false),
            ("its token removed", &value, &[&bob], 999, false),
            ("no token configured", &value, &[], 999, false),
            ("a later expiry", &tampered_expiry, &[&alice], 999, false),
            ("another mac", &other_mac, &[&alice], 999, false),
            (
                "made with another token",
                &issue(&gone, 1_000),
                &[&alice, &bob],
                999,
                false,
            ),
            (
                "another version",
                &value.replacen("v1", "v2", 1),
                &[&alice],
                999,
                false,
            ),
            ("not a session", "the-token-itself", &[&alice], 999, false),
            (
                "a signed expiry",
                &value.replacen("1000", "+1000", 1),
                &[&alice],
                999,
                false,
            ),
        ];
        for (what, value, keys, now, want) in cases {
            assert_eq!(verify(value, keys.iter().copied(), now), want, "{what}");
        }
    }

    #[test]
    fn the_value_holds_no_token_and_has_a_fixed_shape() {
        let value = issue(&key("alice-token-0123456789"), 1_700_000_000);
        assert!(!value.contains("alice"));
        let parts: Vec<&str> = value.split('.').collect();
        assert_eq!(parts[..2], ["v1", "1700000000"]);
        assert_eq!(parts[2].len(), 64);
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        let cases: [(&[&str], Option<&str>); 5] = [
            (&["a=1; gdt_board=v1.2.ab; b=3"], Some("v1.2.ab")),
            (&["a=1", "gdt_board=v1.2.cd"], Some("v1.2.cd")),
            (&["gdt_board_x=1; xgdt_board=2"], None),
            (&["gdt_board=\"v1.2.ef\""], Some("v1.2.ef")),
            (&[], None),
        ];
        for (headers, want) in cases {
            assert_eq!(
                from_cookie_header(headers.iter().copied()),
                want,
                "{headers:?}"
            );
        }
    }
}
