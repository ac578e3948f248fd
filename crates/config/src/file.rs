//! The YAML layer, driven by the table of settings.
//!
//! The file is walked with serde: a map's keys must be settings or sections of
//! [`crate::SETTINGS`] (anything else is an error with a line and column, so a typo such as
//! `hostport` cannot pass silently), a key of [`crate::REMOVED`] says what to do instead, and
//! each value is read as its setting's type, then parsed as its variable would be. A file
//! only changes what it mentions; `key:` with no value changes nothing.

use std::fmt;
use std::fs;
use std::path::Path;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::error::{ConfigError, Origin};
use crate::settings::{Config, Setting, SETTINGS};
use crate::table::REMOVED;
use crate::values::{self, Raw, SchemaRuleConfig, YamlKind};

/// The values a file holds, in the order written.
pub(crate) type FileValues = Vec<(&'static Setting, Raw)>;

/// Reads and parses `path`. An empty (or comments-only) file is valid and
/// changes nothing.
pub(crate) fn read(path: &Path) -> Result<FileValues, ConfigError> {
    let text = fs::read_to_string(path).map_err(|source| ConfigError::ReadConfigFile {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

pub(crate) fn parse(text: &str, path: &Path) -> Result<FileValues, ConfigError> {
    let mut values = Vec::new();
    let section = Section {
        prefix: String::new(),
        values: &mut values,
    };
    section
        .deserialize(serde_norway::Deserializer::from_str(text))
        .map_err(|e| parse_error(path, &e))?;
    Ok(values)
}

/// Applies the values of a file on top of `config`; a text that does not parse gets the
/// same message as the variable would, naming the key and the file.
pub(crate) fn apply(
    config: &mut Config,
    values: FileValues,
    path: &Path,
) -> Result<(), ConfigError> {
    for (setting, raw) in values {
        let written = match &raw {
            Raw::Text(text) => text.clone(),
            _ => String::new(),
        };
        (setting.set_yaml)(config, raw).map_err(|why| {
            let origin = Origin::File {
                key: setting.key,
                path: path.to_owned(),
            };
            ConfigError::rejected(origin, written, why)
        })?;
    }
    Ok(())
}

/// A map of settings and sections under `prefix` (empty at the top).
struct Section<'a> {
    prefix: String,
    values: &'a mut FileValues,
}

impl<'de> DeserializeSeed<'de> for Section<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Section<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of keys")
    }

    /// `section:` with nothing under it, or an empty file.
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = Vec::new();
        while let Some(key) = map.next_key_seed(KeySeed {
            prefix: &self.prefix,
        })? {
            if seen.contains(&key.name) {
                return Err(de::Error::custom(format_args!(
                    "duplicate field `{}`",
                    key.name
                )));
            }
            match key.setting {
                Some(setting) => {
                    if let Some(raw) = map.next_value_seed(Leaf(setting.yaml))? {
                        self.values.push((setting, raw));
                    }
                }
                None => map.next_value_seed(Section {
                    prefix: key.full.clone(),
                    values: &mut *self.values,
                })?,
            }
            seen.push(key.name);
        }
        Ok(())
    }
}

/// A key of the map: a setting, or a section when `setting` is `None`.
struct Key {
    name: String,
    full: String,
    setting: Option<&'static Setting>,
}

struct KeySeed<'a> {
    prefix: &'a str,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Key, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
        let full = match self.prefix {
            "" => name.to_owned(),
            prefix => format!("{prefix}.{name}"),
        };
        let setting = SETTINGS.iter().copied().find(|s| s.key == full);
        let is_section = SETTINGS.iter().any(|s| {
            s.key
                .strip_prefix(full.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        });
        if setting.is_some() || is_section {
            return Ok(Key {
                name: name.to_owned(),
                full,
                setting,
            });
        }
        if let Some(removed) = REMOVED.iter().find(|r| r.key == full) {
            return Err(E::custom(format_args!(
                "{REMOVED_MARK}{full}` was removed: {}",
                removed.advice
            )));
        }
        // serde's own wording, which `parse_error` turns into the full key.
        let mut valid: Vec<&str> = Vec::new();
        for s in SETTINGS.iter() {
            let rest = match self.prefix {
                "" => Some(s.key),
                prefix => s.key.strip_prefix(prefix).and_then(|r| r.strip_prefix('.')),
            };
            if let Some(next) = rest.and_then(|r| r.split('.').next()) {
                if !valid.contains(&next) {
                    valid.push(next);
                }
            }
        }
        let valid: Vec<String> = valid.iter().map(|k| format!("`{k}`")).collect();
        Err(E::custom(format_args!(
            "unknown field `{name}`, expected one of {}",
            valid.join(", ")
        )))
    }
}

const REMOVED_MARK: &str = "the key `";

/// A setting's value, read as its type so that serde's messages (with the key path,
/// line and column) say what was expected.
struct Leaf(YamlKind);

impl<'de> DeserializeSeed<'de> for Leaf {
    type Value = Option<Raw>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<Raw>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for Leaf {
    type Value = Option<Raw>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value")
    }

    /// `key:` with no value changes nothing.
    fn visit_none<E: de::Error>(self) -> Result<Option<Raw>, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<Raw>, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Raw>, D::Error> {
        Ok(Some(match self.0 {
            YamlKind::Text => Raw::Text(String::deserialize(d)?),
            YamlKind::Bool => Raw::Bool(bool::deserialize(d)?),
            YamlKind::U16 => Raw::Int(u16::deserialize(d)?.into()),
            YamlKind::U32 => Raw::Int(u32::deserialize(d)?.into()),
            YamlKind::U64 => Raw::Int(u64::deserialize(d)?),
            YamlKind::Usize => Raw::Int(usize::deserialize(d)? as u64),
            YamlKind::F64 => Raw::Float(f64::deserialize(d)?),
            YamlKind::Secret => Raw::Secret(d.deserialize_any(SecretText)?),
            YamlKind::List => Raw::List(Vec::deserialize(d)?),
            YamlKind::Schemas => Raw::Schemas(Vec::<SchemaRuleConfig>::deserialize(d)?),
        }))
    }
}

/// Secrets accept only strings, and a wrong type is reported without echoing
/// the value (serde's default message would quote it).
struct SecretText;

impl<'de> Visitor<'de> for SecretText {
    type Value = Option<secrecy::SecretString>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(values::secret(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(not_a_string())
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(not_a_string())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(not_a_string())
    }
}

fn not_a_string<E: de::Error>() -> E {
    E::custom("a secret must be a quoted string (value not shown)")
}

fn parse_error(path: &Path, e: &serde_norway::Error) -> ConfigError {
    let location = e.location().map(|l| (l.line(), l.column()));
    let mut message = e.to_string();
    let mut at = String::new();
    if let Some((line, column)) = location {
        let suffix = format!(" at line {line} column {column}");
        if let Some(stripped) = message.strip_suffix(&suffix) {
            message = stripped.to_owned();
        }
        if !message.contains(" at line ") {
            at = suffix;
        }
    }
    let detail = match explain(&message) {
        Some(Explained::Unknown { key, hint }) => format!("unknown key `{key}`{at} ({hint})"),
        Some(Explained::Removed(text)) => format!("{REMOVED_MARK}{text}").replacen(
            "` was removed",
            &format!("`{at} was removed"),
            1,
        ),
        None => format!("{message}{at}"),
    };
    ConfigError::ParseConfigFile {
        path: path.to_owned(),
        detail,
        line: location.map(|(l, _)| l),
        column: location.map(|(_, c)| c),
    }
}

enum Explained {
    /// The full dotted key and the list of valid keys.
    Unknown { key: String, hint: String },
    /// The text after the mark.
    Removed(String),
}

/// Turns serde's "`temporal: unknown field `hostport`, expected …`" into the full dotted
/// key and the list of valid keys, and drops the path before a removed key's message.
fn explain(message: &str) -> Option<Explained> {
    const MARK: &str = "unknown field `";
    let (prefix, rest) = match message.split_once(": ") {
        Some((path, rest))
            if path
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']')) =>
        {
            (Some(path), rest)
        }
        _ => (None, message),
    };
    if let Some(removed) = rest.strip_prefix(REMOVED_MARK) {
        return Some(Explained::Removed(removed.to_owned()));
    }
    let (field, tail) = rest.strip_prefix(MARK)?.split_once('`')?;
    let key = prefix.map_or_else(|| field.to_owned(), |p| format!("{p}.{field}"));
    let hint = tail.trim_start_matches(',').trim();
    let hint = hint
        .strip_prefix("expected ")
        .map_or_else(|| hint.to_owned(), |h| format!("valid keys here: {h}"));
    Some(Explained::Unknown { key, hint })
}
