//! The YAML layer, driven by the declarations.
//!
//! The file is walked with serde, each section (`section!`) reading its own keys: anything
//! else is an error with a line and column and the valid keys, so a typo such as `hostport`
//! cannot pass silently; a key of [`crate::REMOVED`] says what to do instead; each value is
//! read by its setting's [`Kind`]. A file only changes what it mentions; `key:` with no
//! value changes nothing.

use std::fmt;
use std::fs;
use std::marker::PhantomData;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::error::ConfigError;
use crate::table::REMOVED;
use crate::values::{FromYaml, Invalid, Kind};

/// The texts that did not parse as their setting's type, in the order written: the key,
/// the text and why.
pub(crate) type Failed = Vec<(&'static str, String, Invalid)>;

/// Reads `path` on top of `config` (a [`crate::Config`]). An empty (or comments-only) file is valid and changes
/// nothing. A text that does not parse gets the same message as the variable would, naming
/// the key and the file, once the rest of the file has been read.
pub(crate) fn apply<C: Section>(config: &mut C, path: &Path) -> Result<(), ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::ReadConfigFile {
        path: path.to_owned(),
        source,
    })?;
    let mut failed = Failed::new();
    Patch::new(config, &mut failed)
        .deserialize(serde_norway::Deserializer::from_str(&text))
        .map_err(|e| parse_error(path, &e))?;
    match failed.into_iter().next() {
        Some((key, text, why)) => Err(ConfigError::rejected(
            format!("{key} in {}", path.display()),
            text,
            why,
        )),
        None => Ok(()),
    }
}

/// A map of settings and sub-sections, as `section!` declares it.
pub(crate) trait Section {
    /// The key prefix of its settings, e.g. `temporal.` (empty at the top).
    const PREFIX: &'static str;
    /// Its settings and sub-sections, in the order declared.
    const KEYS: &'static [&'static str];
    /// Reads the value of `name`, one of [`Section::KEYS`].
    fn read<'de, A: MapAccess<'de>>(
        &mut self,
        name: &str,
        map: &mut A,
        failed: &mut Failed,
    ) -> Result<(), A::Error>;
}

/// Stores a setting's value read from YAML; `key:` with no value changes nothing.
pub(crate) fn set<T>(slot: &mut T, value: Option<Yaml<T>>, key: &'static str, failed: &mut Failed) {
    match value {
        Some(Yaml(Ok(value))) => *slot = value,
        Some(Yaml(Err((text, why)))) => failed.push((key, text, why)),
        None => {}
    }
}

/// A setting's value as read by its [`Kind`].
pub(crate) struct Yaml<T>(FromYaml<T>);

impl<'de, T: Kind> Deserialize<'de> for Yaml<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::from_yaml(d).map(Yaml)
    }
}

/// Reads a section of the file into `S`, changing only what the file mentions.
pub(crate) struct Patch<'a, S> {
    section: &'a mut S,
    failed: &'a mut Failed,
}

impl<'a, S> Patch<'a, S> {
    pub(crate) fn new(section: &'a mut S, failed: &'a mut Failed) -> Self {
        Self { section, failed }
    }
}

impl<'de, S: Section> DeserializeSeed<'de> for Patch<'_, S> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de, S: Section> Visitor<'de> for Patch<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of keys")
    }

    /// `section:` with nothing under it, or an empty file.
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed::<S>(PhantomData))? {
            if seen.contains(&name) {
                return Err(de::Error::custom(format_args!("duplicate field `{name}`")));
            }
            self.section.read(name, &mut map, self.failed)?;
            seen.push(name);
        }
        Ok(())
    }
}

/// A key of section `S`. Checked while it is read, so that an error points at the key.
struct KeySeed<S>(PhantomData<S>);

impl<'de, S: Section> DeserializeSeed<'de> for KeySeed<S> {
    type Value = &'static str;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<S: Section> Visitor<'_> for KeySeed<S> {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        if let Some(key) = S::KEYS.iter().find(|k| **k == name) {
            return Ok(key);
        }
        let full = format!("{}{name}", S::PREFIX);
        if let Some(removed) = REMOVED.iter().find(|r| r.key == full) {
            return Err(E::custom(format_args!(
                "{REMOVED_MARK}{full}` was removed: {}",
                removed.advice
            )));
        }
        // serde's own wording, which `parse_error` turns into the full key.
        let valid: Vec<String> = S::KEYS.iter().map(|k| format!("`{k}`")).collect();
        Err(E::custom(format_args!(
            "unknown field `{name}`, expected one of {}",
            valid.join(", ")
        )))
    }
}

const REMOVED_MARK: &str = "the key `";

/// serde's message as ours: the location after the key it is about, and an unknown field
/// (`temporal: unknown field `hostport`, expected …`) as the full dotted key and the valid
/// keys.
fn parse_error(path: &Path, e: &serde_norway::Error) -> ConfigError {
    let location = e.location().map(|l| (l.line(), l.column()));
    let suffix = location.map_or_else(String::new, |(l, c)| format!(" at line {l} column {c}"));
    let message = e.to_string();
    let message = message.strip_suffix(&suffix).unwrap_or(&message);
    let at = if message.contains(" at line ") {
        ""
    } else {
        suffix.as_str()
    };
    // serde's path to the value, e.g. `temporal.tls` or `pr_checks.schemas[0]`.
    let (prefix, rest) = match message.split_once(": ") {
        Some((p, rest))
            if p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.[]".contains(c)) =>
        {
            (Some(p), rest)
        }
        _ => (None, message),
    };
    let removed = rest
        .strip_prefix(REMOVED_MARK)
        .and_then(|r| r.split_once('`'));
    let unknown = rest
        .strip_prefix("unknown field `")
        .and_then(|r| r.split_once('`'));
    let detail = match (removed, unknown) {
        (Some((key, advice)), _) => format!("{REMOVED_MARK}{key}`{at}{advice}"),
        (_, Some((field, tail))) => {
            let key = prefix.map_or_else(|| field.to_owned(), |p| format!("{p}.{field}"));
            let hint = tail.trim_start_matches(',').trim();
            let hint = hint
                .strip_prefix("expected ")
                .map_or_else(|| hint.to_owned(), |h| format!("valid keys here: {h}"));
            format!("unknown key `{key}`{at} ({hint})")
        }
        _ => format!("{message}{at}"),
    };
    ConfigError::ParseConfigFile {
        path: path.to_owned(),
        detail,
        line: location.map(|(l, _)| l),
        column: location.map(|(_, c)| c),
    }
}
