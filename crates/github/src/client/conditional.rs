//! Conditional `GET`s: the client's ETag cache.
//!
//! GitHub does not count a conditional request answered `304 Not Modified` against the primary
//! rate limit ("Use conditional requests", REST API best practices). So every `GET` sent with
//! the installation token (or the plain token) remembers the `ETag` and body of its `200`, and
//! the next `GET` of the same URL sends `If-None-Match`; a `304` is then answered from here as
//! if GitHub had sent the `200` again.
//!
//! **Never stale.** The cache only ever answers a request GitHub itself answered `304`, on
//! this very exchange: GitHub compared the tag with what it would send now and found them equal.
//! Nothing is served by age, by `Cache-Control` or by a guess, so a read through the cache is
//! exactly as current as one without it; it only costs no quota when nothing changed. A tag that
//! no longer matches (the resource changed, or a new installation token: GitHub's tags belong
//! to a token) gets a `200`, which replaces the entry.
//!
//! **One credential never sees another's answers.** Entries are keyed by the URL and a SHA-256
//! of the credential's identity (the plain token, or the App id with the installation id), so
//! two clients, or one client given other credentials, never share an entry, and no token is
//! kept in a key or written to a log. Requests signed with the App's JWT (`GET /app`, minting)
//! and writes (`POST`, `PATCH`, `DELETE`) never use the cache.
//!
//! **One at a time per URL.** Two conditional `GET`s of the same URL from one client (the two
//! checks re-reading one pull request) are sent one after the other, never together: the
//! second then carries the tag of the first's answer and gets a `304` when nothing changed,
//! where two sent at once would both have been full, counted answers. Each is still its own
//! request to GitHub, answered as of when it was sent ([`InFlight`]).
//!
//! **Bounded.** At most [`MAX_ENTRIES`] entries and [`MAX_BYTES`] bytes of bodies, the least
//! recently used dropped first; a body over [`MAX_ENTRY_BYTES`] is not kept. Each page of a
//! paginated listing is an entry of its own (its URL names the page), with the headers of its
//! `200` (the `Link` to the next page among them).

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use http::{HeaderMap, HeaderValue};
use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::auth::Credentials;
use secrecy::ExposeSecret;

/// The most entries one client keeps.
pub(crate) const MAX_ENTRIES: usize = 4_096;
/// The most body bytes one client keeps (bodies and headers as counted by [`Stored::size`]).
pub(crate) const MAX_BYTES: usize = 32 * 1024 * 1024;
/// A larger answer is not kept: it would push out many small ones.
pub(crate) const MAX_ENTRY_BYTES: usize = 2 * 1024 * 1024;

/// Who an answer was for: a SHA-256 of the credential's identity, never the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Identity([u8; 32]);

impl Identity {
    /// The identity of `credentials`: a plain token by its value, an App by its id and
    /// installation (its installation tokens change hourly; the installation does not).
    pub(crate) fn of(credentials: &Credentials) -> Self {
        let mut hash = Sha256::new();
        match credentials {
            Credentials::Token(token) => {
                hash.update(b"token\0");
                hash.update(token.expose_secret().as_bytes());
            }
            Credentials::App(app) => {
                hash.update(b"app\0");
                hash.update(app.app_id.to_be_bytes());
                hash.update(app.installation_id.to_be_bytes());
            }
        }
        Self(hash.finalize().into())
    }
}

/// The `200` an `ETag` stands for.
#[derive(Debug)]
pub(crate) struct Stored {
    /// The tag, sent back as `If-None-Match`.
    pub(crate) etag: HeaderValue,
    /// The `200`'s headers (`Link` included), returned again with a `304`.
    pub(crate) headers: HeaderMap,
    /// The `200`'s body.
    pub(crate) body: Vec<u8>,
}

impl Stored {
    /// What the entry costs against [`MAX_BYTES`].
    fn size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        self.body.len() + headers + self.etag.len()
    }
}

type Key = (Identity, String);

/// A bounded map from (credential, URL) to the last `200` with an `ETag`, shared by a
/// client's clones.
pub(crate) struct EtagCache {
    inner: Mutex<Inner>,
    max_bytes: usize,
    max_entry_bytes: usize,
}

struct Inner {
    entries: LruCache<Key, Arc<Stored>>,
    bytes: usize,
}

impl Default for EtagCache {
    fn default() -> Self {
        Self::with_limits(MAX_ENTRIES, MAX_BYTES, MAX_ENTRY_BYTES)
    }
}

impl EtagCache {
    /// A cache of at most `entries` entries and `bytes` bytes, keeping no answer over
    /// `entry_bytes`.
    pub(crate) fn with_limits(entries: usize, bytes: usize, entry_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: LruCache::new(NonZeroUsize::new(entries).unwrap_or(NonZeroUsize::MIN)),
                bytes: 0,
            }),
            max_bytes: bytes,
            max_entry_bytes: entry_bytes.min(bytes),
        }
    }

    /// The last `200` of `url` for `who`, if kept.
    pub(crate) fn get(&self, who: Identity, url: &str) -> Option<Arc<Stored>> {
        let mut inner = self.lock();
        inner.entries.get(&(who, url.to_owned())).cloned()
    }

    /// Keeps a `200` of `url` for `who` (replacing any earlier one) when it carries an
    /// `ETag` and is small enough, dropping the least recently used entries while over the
    /// byte bound. A `200` without a tag drops the earlier entry: it can no longer be asked
    /// about.
    pub(crate) fn put(&self, who: Identity, url: &str, headers: &HeaderMap, body: &[u8]) {
        let key = (who, url.to_owned());
        let etag = headers.get(http::header::ETAG).cloned();
        let mut inner = self.lock();
        let Some(etag) = etag.filter(|_| body.len() <= self.max_entry_bytes) else {
            if let Some(old) = inner.entries.pop(&key) {
                inner.bytes -= old.size();
            }
            return;
        };
        let stored = Stored {
            etag,
            headers: headers.clone(),
            body: body.to_vec(),
        };
        let size = stored.size();
        if size > self.max_entry_bytes {
            if let Some(old) = inner.entries.pop(&key) {
                inner.bytes -= old.size();
            }
            return;
        }
        inner.bytes += size;
        if let Some((_, out)) = inner.entries.push(key, Arc::new(stored)) {
            // The entry replaced, or the least recently used one pushed out by the count.
            inner.bytes -= out.size();
        }
        while inner.bytes > self.max_bytes {
            let Some((_, out)) = inner.entries.pop_lru() else {
                break;
            };
            inner.bytes -= out.size();
        }
    }

    /// Entries and bytes held (for tests).
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.entries.len(), inner.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The cache's state is consistent between statements; a panic elsewhere under the
        // lock cannot leave it half-changed in a way that matters more than a lost entry.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The conditional `GET`s being sent, by (credential, URL): a second one of the same URL waits
/// for the first to be answered (and its answer kept) before it is sent.
#[derive(Default)]
pub(crate) struct InFlight {
    /// Only URLs with a request being sent or waiting hold a live entry.
    locks: Mutex<HashMap<Key, Weak<tokio::sync::Mutex<()>>>>,
}

impl InFlight {
    /// Waits until no other conditional `GET` of `url` for `who` is being sent; the guard
    /// lets the next one go when dropped.
    pub(crate) async fn one_at_a_time(
        &self,
        who: Identity,
        url: &str,
    ) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
            locks.retain(|_, lock| lock.strong_count() > 0);
            let key = (who, url.to_owned());
            match locks.get(&key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    locks.insert(key, Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// URLs with a request being sent or waiting (for tests).
    #[cfg(test)]
    fn live(&self) -> usize {
        let locks = self.locks.lock().unwrap_or_else(PoisonError::into_inner);
        locks
            .values()
            .filter(|lock| lock.strong_count() > 0)
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn token(t: &str) -> Identity {
        Identity::of(&Credentials::Token(SecretString::from(t)))
    }

    fn tagged(tag: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::ETAG, HeaderValue::from_str(tag).expect("tag"));
        h
    }

    #[test]
    fn answers_are_kept_per_credential_and_url() {
        let cache = EtagCache::default();
        let (a, b) = (token("a"), token("b"));
        assert_ne!(a, b);
        cache.put(a, "https://h/x", &tagged("\"1\""), b"one");
        let hit = cache.get(a, "https://h/x").expect("kept");
        assert_eq!(
            (hit.etag.to_str().ok(), hit.body.as_slice()),
            (Some("\"1\""), &b"one"[..])
        );
        assert!(cache.get(b, "https://h/x").is_none(), "another credential");
        assert!(cache.get(a, "https://h/x?page=2").is_none(), "another URL");
        // A newer 200 replaces the entry; one without a tag removes it.
        cache.put(a, "https://h/x", &tagged("\"2\""), b"two");
        assert_eq!(cache.get(a, "https://h/x").expect("kept").body, b"two");
        cache.put(a, "https://h/x", &HeaderMap::new(), b"three");
        assert!(cache.get(a, "https://h/x").is_none());
        assert_eq!(cache.held(), (0, 0));
    }

    #[test]
    fn the_identity_never_holds_the_token() {
        let id = token("ghs_SUPERSECRET");
        assert!(!format!("{id:?}").contains("SUPERSECRET"));
        assert_eq!(id, token("ghs_SUPERSECRET"));
    }

    #[tokio::test]
    async fn one_request_at_a_time_per_url_and_credential() {
        let in_flight = InFlight::default();
        let (a, b) = (token("a"), token("b"));
        let first = in_flight.one_at_a_time(a, "https://h/x").await;
        // Another URL, or another credential, does not wait.
        let other_url = in_flight.one_at_a_time(a, "https://h/y").await;
        let other_who = in_flight.one_at_a_time(b, "https://h/x").await;
        let same = in_flight.one_at_a_time(a, "https://h/x");
        tokio::pin!(same);
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut same)
                .await
                .is_err(),
            "the same URL waits for the first"
        );
        drop(first);
        let second = tokio::time::timeout(std::time::Duration::from_secs(5), same)
            .await
            .expect("goes once the first is answered");
        drop((second, other_url, other_who));
        assert_eq!(in_flight.live(), 0, "nothing kept once answered");
    }

    #[test]
    fn entries_and_bytes_are_bounded() {
        let who = token("a");
        let cache = EtagCache::with_limits(3, 1_000, 400);
        for i in 0..5 {
            cache.put(who, &format!("u{i}"), &tagged("\"t\""), &[0; 10]);
        }
        let (entries, _) = cache.held();
        assert_eq!(entries, 3, "at most 3 entries");
        assert!(cache.get(who, "u0").is_none() && cache.get(who, "u4").is_some());

        let cache = EtagCache::with_limits(100, 1_000, 400);
        for i in 0..10 {
            cache.put(who, &format!("u{i}"), &tagged("\"t\""), &[0; 300]);
        }
        let (entries, bytes) = cache.held();
        assert!(bytes <= 1_000, "{bytes} bytes held");
        assert_eq!(entries, 3, "three of ~305 bytes fit in 1,000");
        assert!(cache.get(who, "u9").is_some(), "the newest stays");
        // An answer over the per-entry bound is not kept.
        cache.put(who, "big", &tagged("\"t\""), &[0; 500]);
        assert!(cache.get(who, "big").is_none());
    }
}
