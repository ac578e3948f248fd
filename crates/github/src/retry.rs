//! Retry policy and backoff computation.

use std::time::Duration;

use rand::Rng;

/// How the client retries failed requests; mirrors the `github.rate_limit`
/// configuration block.
///
/// There is no `Default`: the application's values are declared once, in its
/// configuration, and every other caller (tests, the benchmark) states its own.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// In-process retries for 5xx, connection errors and short rate limits.
    pub max_retries: u32,
    /// Backoff before the first retry of a 5xx / connection error.
    pub initial_backoff: Duration,
    /// Upper bound for a single backoff.
    pub max_backoff: Duration,
    /// Growth factor between consecutive backoffs.
    pub backoff_multiplier: f64,
    /// The longest single wait the client sleeps itself. A longer wait is
    /// returned as an error carrying it, so that a caller with a deadline
    /// (a Temporal activity) can hand it to its own retry mechanism instead
    /// of sleeping past its timeout.
    pub max_inline_wait: Duration,
}

impl RetryPolicy {
    /// The un-jittered backoff before retry number `retry` (0-based):
    /// `initial_backoff × multiplier^retry`, capped at `max_backoff`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let max = self.max_backoff.as_secs_f64();
        // A multiplier below 1 (or NaN) would shrink the backoff; treat it as
        // constant backoff instead.
        let multiplier = if self.backoff_multiplier.is_finite() && self.backoff_multiplier >= 1.0 {
            self.backoff_multiplier
        } else {
            1.0
        };
        let exponent = i32::try_from(retry).unwrap_or(i32::MAX);
        let secs = self.initial_backoff.as_secs_f64() * multiplier.powi(exponent);
        // powi overflows to infinity for large retry counts; min() keeps it finite.
        Duration::try_from_secs_f64(secs.min(max)).unwrap_or(self.max_backoff)
    }

    /// The backoff before retry number `retry`, with "equal jitter": half
    /// the ceiling plus a random share of the other half. Jitter keeps many
    /// workers from retrying in lockstep; the fixed half keeps a floor so a
    /// struggling server actually gets a pause.
    pub fn backoff<R: Rng + ?Sized>(&self, retry: u32, rng: &mut R) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let half = ceiling / 2;
        let spread = ceiling.saturating_sub(half);
        half + spread.mul_f64(rng.random_range(0.0..=1.0))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The policy the crate's unit tests use: backoff from 1 s doubling up to 60 s.
    pub(crate) fn test_policy() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            backoff_multiplier: 2.0,
            max_inline_wait: Duration::from_secs(5),
        }
    }

    #[test]
    fn ceiling_grows_exponentially_and_is_capped() {
        let p = test_policy();
        let secs: Vec<u64> = (0..8).map(|n| p.backoff_ceiling(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(p.backoff_ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn odd_multipliers_do_not_panic() {
        for m in [f64::NAN, f64::INFINITY, -3.0, 0.5] {
            let p = RetryPolicy {
                backoff_multiplier: m,
                ..test_policy()
            };
            let d = p.backoff_ceiling(10);
            assert!(d <= p.max_backoff, "{m}: {d:?}");
        }
    }

    #[test]
    fn jitter_stays_between_half_and_full_ceiling() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            ..test_policy()
        };
        let mut rng = rand::rng();
        for n in 0..6 {
            let ceiling = p.backoff_ceiling(n);
            for _ in 0..200 {
                let d = p.backoff(n, &mut rng);
                assert!(
                    d >= ceiling / 2 && d <= ceiling,
                    "{n}: {d:?} vs {ceiling:?}"
                );
            }
        }
    }
}
