//! Pure decisions about status words: how a CI/CD system's word maps to a GitHub
//! deployment state, and which states end a deployment.

use gdt_github::DeploymentState;

/// Every status word a pipeline may send, and the GitHub state it means.
///
/// The pipeline's words (`running`, `succeeded`, `failed`, `aborted`, …), GitHub's own state
/// names (`pending`, `queued`, `in_progress`, …) and both spellings of `cancelled`. Matching
/// is case-insensitive and ignores surrounding whitespace.
pub const STATUS_WORDS: &[(&str, DeploymentState)] = &[
    ("queued", DeploymentState::Queued),
    ("pending", DeploymentState::Pending),
    ("running", DeploymentState::InProgress),
    ("in_progress", DeploymentState::InProgress),
    ("success", DeploymentState::Success),
    ("succeeded", DeploymentState::Success),
    ("failed", DeploymentState::Failure),
    ("failure", DeploymentState::Failure),
    ("error", DeploymentState::Error),
    ("aborted", DeploymentState::Failure),
    ("cancelled", DeploymentState::Failure),
    ("canceled", DeploymentState::Failure),
    ("inactive", DeploymentState::Inactive),
];

/// A status word nobody maps.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown deployment status {word:?}: use one of {}", known_words())]
pub struct UnknownStatus {
    /// The word as the pipeline sent it.
    pub word: String,
}

/// Maps a pipeline's status word to a GitHub deployment state.
///
/// An empty word means "no status yet" and maps to `pending`. An unknown word is an error
/// rather than a silent `pending`: a typo in a pipeline (`"sucess"`) must not leave a
/// deployment pending forever.
pub fn map_status(word: &str) -> Result<DeploymentState, UnknownStatus> {
    let normalised = word.trim().to_ascii_lowercase();
    if normalised.is_empty() {
        return Ok(DeploymentState::Pending);
    }
    STATUS_WORDS
        .iter()
        .find(|(known, _)| *known == normalised)
        .map(|(_, state)| *state)
        .ok_or_else(|| UnknownStatus {
            word: word.to_owned(),
        })
}

fn known_words() -> String {
    STATUS_WORDS
        .iter()
        .map(|(word, _)| *word)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Formats a duration the way Go's `time.Duration.String()` does (`1h2m3.5s`, `250ms`),
/// because the workflow result's `total_duration` is such a string.
pub fn go_duration_string(d: std::time::Duration) -> String {
    let total_ms = d.as_millis();
    if total_ms == 0 {
        return "0s".to_owned();
    }
    if total_ms < 1000 {
        return format!("{total_ms}ms");
    }
    let hours = total_ms / 3_600_000;
    let minutes = (total_ms / 60_000) % 60;
    let secs = (total_ms / 1000) % 60;
    let millis = total_ms % 1000;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    if millis == 0 {
        out.push_str(&format!("{secs}s"));
    } else {
        let frac = format!("{millis:03}");
        out.push_str(&format!("{secs}.{}s", frac.trim_end_matches('0')));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn maps_every_word_case_insensitively() {
        let cases = [
            ("queued", DeploymentState::Queued),
            ("RUNNING", DeploymentState::InProgress),
            ("In_Progress", DeploymentState::InProgress),
            ("success", DeploymentState::Success),
            ("Succeeded", DeploymentState::Success),
            ("failed", DeploymentState::Failure),
            ("failure", DeploymentState::Failure),
            ("error", DeploymentState::Error),
            ("Aborted", DeploymentState::Failure),
            ("cancelled", DeploymentState::Failure),
            ("canceled", DeploymentState::Failure),
            ("inactive", DeploymentState::Inactive),
            ("pending", DeploymentState::Pending),
            ("", DeploymentState::Pending),
            ("  success ", DeploymentState::Success),
        ];
        for (word, want) in cases {
            assert_eq!(map_status(word), Ok(want), "word {word:?}");
        }
    }

    #[test]
    fn unknown_words_are_errors_that_list_the_known_ones() {
        let err = map_status("sucess").unwrap_err();
        assert_eq!(err.word, "sucess");
        let msg = err.to_string();
        assert!(msg.contains("\"sucess\""), "{msg}");
        assert!(msg.contains("succeeded"), "{msg}");
    }

    #[test]
    fn go_durations() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_secs(5), "5s"),
            (Duration::from_millis(5500), "5.5s"),
            (Duration::from_secs(90), "1m30s"),
            (Duration::from_secs(3723), "1h2m3s"),
            (Duration::from_secs(3600), "1h0m0s"),
        ];
        for (d, want) in cases {
            assert_eq!(go_duration_string(d), want);
        }
    }
}
