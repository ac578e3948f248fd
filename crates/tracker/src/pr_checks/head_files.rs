//! Files read at a commit, shared by both checks in one worker process.
//!
//! Both checks read `.claude-plugin/plugin.json` at the head they judge (the plugin check to
//! validate it, the version check for its version), usually at the same moment. A file's
//! content at a commit SHA never changes, so one read serves every check, pass and retry of
//! this worker that asks for the same file at the same commit: [`HeadFiles::read`] keeps it,
//! and callers asking while the read is under way wait for it instead of sending their own.
//!
//! Why this is safe across workers and retries: the key is the repository, the full commit
//! SHA and the path, and Git names a commit by its content, so whatever any worker reads there
//! is the same text. Only a file that was found is kept (a `404` can also mean the App cannot
//! see the repository yet), only for a ref that is a full commit SHA (a branch or a short SHA
//! moves), and a failed read is not kept: the next caller reads again. Bounded to
//! [`MAX_FILES`] files and [`MAX_BYTES`] bytes, least recently used first out.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, PoisonError};

use lru::LruCache;
use tokio::sync::OnceCell;

/// The most files kept.
pub const MAX_FILES: usize = 1_024;
/// The most bytes of text kept (the Contents API serves files up to 1 MB).
pub const MAX_BYTES: usize = 16 * 1024 * 1024;

/// (owner, repository, commit SHA, path without leading or doubled slashes).
type Key = (String, String, String, String);

/// A file's text at a commit, read once per worker process.
pub struct HeadFiles {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

struct Inner {
    files: LruCache<Key, Slot>,
    bytes: usize,
}

/// One file: its text once read, and the bytes it was counted for.
struct Slot {
    cell: Arc<OnceCell<Arc<str>>>,
    bytes: usize,
}

impl Default for HeadFiles {
    fn default() -> Self {
        Self::with_limits(MAX_FILES, MAX_BYTES)
    }
}

/// Why a read has no text to keep.
enum Miss<E> {
    /// The file is not there.
    NotFound,
    /// The read failed.
    Failed(E),
}

impl HeadFiles {
    /// A cache of at most `files` files and `bytes` bytes of text.
    pub fn with_limits(files: usize, bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                files: LruCache::new(NonZeroUsize::new(files).unwrap_or(NonZeroUsize::MIN)),
                bytes: 0,
            }),
            max_bytes: bytes,
        }
    }

    /// The text of `path` at `git_ref` in `owner/repo`: kept from an earlier read when
    /// `git_ref` is a full commit SHA, else read with `fetch` (`Ok(None)`: no such file).
    pub async fn read<E, F, Fut>(
        &self,
        owner: &str,
        repo: &str,
        git_ref: &str,
        path: &str,
        fetch: F,
    ) -> Result<Option<Arc<str>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Option<String>, E>>,
    {
        if !is_commit_sha(git_ref) {
            return fetch().await.map(|file| file.map(Arc::from));
        }
        let key = (
            owner.to_owned(),
            repo.to_owned(),
            git_ref.to_ascii_lowercase(),
            normal_path(path),
        );
        let cell = self.cell(&key);
        let mut filled = false;
        let read = cell
            .get_or_try_init(|| async {
                match fetch().await {
                    Ok(Some(text)) => {
                        filled = true;
                        Ok(Arc::<str>::from(text))
                    }
                    Ok(None) => Err(Miss::NotFound),
                    Err(e) => Err(Miss::Failed(e)),
                }
            })
            .await;
        match read {
            Ok(text) => {
                let text = Arc::clone(text);
                if filled {
                    self.count(&key, &cell, text.len());
                }
                Ok(Some(text))
            }
            Err(Miss::NotFound) => Ok(None),
            Err(Miss::Failed(e)) => Err(e),
        }
    }

    /// The cell of `key`, made empty when absent.
    fn cell(&self, key: &Key) -> Arc<OnceCell<Arc<str>>> {
        let mut inner = self.lock();
        if let Some(slot) = inner.files.get(key) {
            return Arc::clone(&slot.cell);
        }
        let cell = Arc::new(OnceCell::new());
        let slot = Slot {
            cell: Arc::clone(&cell),
            bytes: 0,
        };
        if let Some((_, out)) = inner.files.push(key.clone(), slot) {
            inner.bytes -= out.bytes;
        }
        cell
    }

    /// Counts the text just read into `cell`, if the cell is still the one kept under `key`,
    /// and drops the least recently used files while over the byte bound.
    fn count(&self, key: &Key, cell: &Arc<OnceCell<Arc<str>>>, len: usize) {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(slot) = inner.files.peek_mut(key) else {
            return;
        };
        if !Arc::ptr_eq(&slot.cell, cell) {
            return;
        }
        slot.bytes = len;
        inner.bytes += len;
        while inner.bytes > self.max_bytes {
            let Some((_, out)) = inner.files.pop_lru() else {
                break;
            };
            inner.bytes -= out.bytes;
        }
    }

    /// Files and bytes held (for tests).
    #[cfg(test)]
    fn held(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.files.len(), inner.bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Every statement under the lock leaves the counts consistent.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether `git_ref` names one commit for good: 40 (SHA-1) or 64 (SHA-256) hex digits.
pub fn is_commit_sha(git_ref: &str) -> bool {
    matches!(git_ref.len(), 40 | 64) && git_ref.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `path` as the Contents API reads it: segments joined by single slashes.
fn normal_path(path: &str) -> String {
    path.split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    async fn read(
        files: &HeadFiles,
        git_ref: &str,
        path: &str,
        reads: &AtomicUsize,
        answer: Result<Option<&str>, &'static str>,
    ) -> Result<Option<Arc<str>>, &'static str> {
        files
            .read("o", "r", git_ref, path, || async {
                reads.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
                answer.map(|t| t.map(str::to_owned))
            })
            .await
    }

    #[tokio::test]
    async fn a_file_at_a_commit_is_read_once_even_by_callers_at_the_same_time() {
        let files = HeadFiles::default();
        let reads = AtomicUsize::new(0);
        let (a, b) = tokio::join!(
            read(
                &files,
                SHA,
                ".claude-plugin/plugin.json",
                &reads,
                Ok(Some("{}"))
            ),
            read(
                &files,
                SHA,
                "/.claude-plugin//plugin.json",
                &reads,
                Ok(Some("{}"))
            ),
        );
        assert_eq!(
            (a.unwrap().as_deref(), b.unwrap().as_deref()),
            (Some("{}"), Some("{}"))
        );
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        // Another commit, another path or a branch name is read again.
        read(
            &files,
            &"f".repeat(40),
            ".claude-plugin/plugin.json",
            &reads,
            Ok(Some("x")),
        )
        .await
        .unwrap();
        read(&files, SHA, "VERSION", &reads, Ok(Some("1.0.0")))
            .await
            .unwrap();
        read(&files, "main", "VERSION", &reads, Ok(Some("1.0.0")))
            .await
            .unwrap();
        read(&files, "main", "VERSION", &reads, Ok(Some("1.0.0")))
            .await
            .unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn missing_files_and_failures_are_not_kept() {
        let files = HeadFiles::default();
        let reads = AtomicUsize::new(0);
        assert_eq!(
            read(&files, SHA, "VERSION", &reads, Ok(None)).await,
            Ok(None)
        );
        assert_eq!(
            read(&files, SHA, "VERSION", &reads, Err("502")).await,
            Err("502")
        );
        let text = read(&files, SHA, "VERSION", &reads, Ok(Some("1.0.0"))).await;
        assert_eq!(text.unwrap().as_deref(), Some("1.0.0"));
        assert_eq!(reads.load(Ordering::SeqCst), 3);
        read(&files, SHA, "VERSION", &reads, Err("not asked"))
            .await
            .unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn files_and_bytes_are_bounded() {
        let files = HeadFiles::with_limits(2, 1_000);
        let reads = AtomicUsize::new(0);
        for path in ["a", "b", "c"] {
            read(&files, SHA, path, &reads, Ok(Some("text")))
                .await
                .unwrap();
        }
        assert_eq!(files.held(), (2, 8));
        let big = "x".repeat(600);
        let files = HeadFiles::with_limits(10, 1_000);
        for path in ["a", "b", "c"] {
            read(&files, SHA, path, &reads, Ok(Some(&big)))
                .await
                .unwrap();
        }
        assert_eq!(files.held(), (1, 600), "one of 600 bytes fits in 1,000");
    }

    #[test]
    fn only_full_commit_shas_are_kept() {
        assert!(is_commit_sha(SHA) && is_commit_sha(&"A".repeat(64)));
        for git_ref in ["main", "0123abc", "", &"g".repeat(40)] {
            assert!(!is_commit_sha(git_ref), "{git_ref}");
        }
    }
}
