//! The table of settings: [`Setting`], the `section!` macro that declares a typed section
//! and its rows at once, and the keys that were removed.
//!
//! Everything that reads or describes a setting goes through this table: the YAML layer
//! (`file.rs`), the variables (`env.rs`), the messages of `load.rs`, `gdt config check` and
//! the generated documents (`docs.rs`). A setting is declared once, in `settings.rs`.

use std::fmt;

use serde_norway::Value;

use crate::values::Parsed;

/// One setting of a configuration `C`: its key, variables, type, default and
/// documentation ([`crate::Setting`] is the one of [`crate::Config`]).
pub struct Row<C: 'static> {
    /// Dotted configuration key, e.g. `github.app_id`.
    pub key: &'static str,
    /// Its variables: the `GDT_*` name first, then the older names it overrides (Temporal's
    /// own, those of earlier scripts). Empty for YAML-only settings.
    pub env: &'static [&'static str],
    /// What it does, as written in the doc comment (see [`Row::doc`]).
    pub(crate) doc: &'static str,
    /// Whether the value is a credential (never shown, never echoed in errors).
    pub secret: bool,
    pub(crate) set_env: fn(&mut C, &str) -> Parsed<()>,
    /// The value in a config, as `gdt config check` shows it (secrets redacted).
    pub(crate) show: fn(&C) -> Value,
    /// What is wrong with the value in a config, for the settings declared `check …`.
    pub(crate) check: fn(&C) -> Option<&'static str>,
}

impl<C> Row<C> {
    /// The `GDT_*` variable, if the setting has variables.
    pub fn gdt_var(&self) -> Option<&'static str> {
        self.env.first().copied()
    }

    /// The documentation line, on one line.
    pub fn doc(&self) -> String {
        self.doc.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// Names the row; its functions say nothing.
impl<C> fmt::Debug for Row<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Setting")
            .field("key", &self.key)
            .field("env", &self.env)
            .field("secret", &self.secret)
            .finish_non_exhaustive()
    }
}

/// A key that no longer exists, and what to do instead. Found in a file or the
/// environment, it stops the process with that advice rather than being ignored.
#[derive(Debug)]
pub struct Removed {
    /// The dotted key.
    pub key: &'static str,
    /// Its variable.
    pub var: &'static str,
    /// What to do instead.
    pub advice: &'static str,
}

/// The removed keys.
pub const REMOVED: &[Removed] = &[
    Removed {
        key: "temporal.max_concurrent",
        var: "GDT_TEMPORAL_MAX_CONCURRENT",
        advice: "the worker's limits are temporal.worker_options.max_concurrent_activity and \
                 temporal.worker_options.max_concurrent_workflow; set those instead",
    },
    Removed {
        key: "temporal.worker_options.enable_logging_replay",
        var: "GDT_TEMPORAL_WORKER_OPTIONS_ENABLE_LOGGING_REPLAY",
        advice: "the workflows write no log lines and the Temporal SDK has no such switch; \
                 remove it",
    },
    Removed {
        key: "github.upload_url",
        var: "GDT_GITHUB_UPLOAD_URL",
        advice: "gdt uploads nothing to GitHub; remove it (github.base_url and \
                 github.enterprise_host say where GitHub is)",
    },
];

/// `$c.a.b.field` from `(a.b)` and `field`.
macro_rules! field {
    ($c:ident, ($($p:ident).+), $f:ident) => {
        $c.$($p).+.$f
    };
}

/// `"a.b.field"` from `(a.b)` and `field`, `"a.b."` from `(a.b)`.
macro_rules! key {
    (($($p:ident).+) $(, $f:ident)?) => {
        concat!($(stringify!($p), ".",)+ $(stringify!($f))?)
    };
}

/// The check of a setting: none, or [`crate::values::Required`] of its value.
macro_rules! check {
    ($path:tt, $f:ident) => {
        |_| None
    };
    ($path:tt, $f:ident, required) => {
        |c| $crate::values::Required::missing(&$crate::table::field!(c, $path, $f))
    };
}

/// Declares a section: a struct whose fields are settings (each with its doc comment,
/// type, default, variables and an optional `check required`) and then its sub-sections;
/// its `Default`; the rows of `SETTINGS`; and how the YAML layer reads it. The path in
/// parentheses is where the section sits in `Config` (named where the macro is used),
/// which is also its key prefix.
macro_rules! section {
    (
        $(#[doc = $sdoc:literal])*
        $name:ident $path:tt {
            $(
                $(#[doc = $doc:literal])*
                $field:ident: $ty:ty = $default:expr $(, env $($var:literal),+)?
                    $(, check $check:ident)?;
            )*
        }
        $({
            $($(#[doc = $subdoc:literal])* $sub:ident: $subty:ident,)*
        })?
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            $($(#[doc = $doc])* pub $field: $ty,)*
            $($($(#[doc = $subdoc])* pub $sub: $subty,)*)?
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                    $($($sub: $subty::default(),)*)?
                }
            }
        }

        impl $name {
            const SETTINGS: &'static [$crate::table::Row<Config>] = &[$(
                $crate::table::Row {
                    key: $crate::table::key!($path, $field),
                    env: &[$($($var),+)?],
                    doc: concat!($($doc),*),
                    secret: <$ty as $crate::values::Kind>::SECRET,
                    set_env: |c, raw| {
                        $crate::table::field!(c, $path, $field) = $crate::values::Kind::from_env(raw)?;
                        Ok(())
                    },
                    show: |c| $crate::values::Kind::show(&$crate::table::field!(c, $path, $field)),
                    check: $crate::table::check!($path, $field $(, $check)?),
                },
            )*];

            pub(crate) fn collect(all: &mut Vec<&'static $crate::table::Row<Config>>) {
                all.extend(Self::SETTINGS);
                $($($subty::collect(all);)*)?
            }
        }

        impl $crate::file::Section for $name {
            const PREFIX: &'static str = $crate::table::key!($path);
            const KEYS: &'static [&'static str] =
                &[$(stringify!($field),)* $($(stringify!($sub),)*)?];

            fn read<'de, A: serde::de::MapAccess<'de>>(
                &mut self,
                name: &str,
                map: &mut A,
                failed: &mut $crate::file::Failed,
            ) -> Result<(), A::Error> {
                match name {
                    $(stringify!($field) => {
                        let value = map.next_value()?;
                        $crate::file::set(&mut self.$field, value, $crate::table::key!($path, $field), failed);
                    })*
                    $($(stringify!($sub) => map.next_value_seed($crate::file::Patch::new(&mut self.$sub, failed))?,)*)?
                    _ => {}
                }
                Ok(())
            }
        }
    };
}

pub(crate) use {check, field, key, section};
