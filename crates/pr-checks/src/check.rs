//! The two pull-request checks, as the comments and the check runs name them.

use serde::{Deserialize, Serialize};

/// The two pull-request checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Code that the plugin describes changed: were the plugin files updated, and are they
    /// valid?
    PluginUpdateValidation,
    /// Do `VERSION` and `plugin.json` state the same valid version?
    VersionValidation,
}

impl Check {
    /// The check run name: `plugin-update-validation` or `version-validation`.
    pub fn name(self) -> &'static str {
        match self {
            Self::PluginUpdateValidation => "plugin-update-validation",
            Self::VersionValidation => "version-validation",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialised_spelling() {
        assert_eq!(
            Check::PluginUpdateValidation.name(),
            "plugin-update-validation"
        );
        assert_eq!(Check::VersionValidation.name(), "version-validation");
        for check in [Check::PluginUpdateValidation, Check::VersionValidation] {
            assert_eq!(serde_json::to_value(check).unwrap(), check.name());
        }
    }
}
