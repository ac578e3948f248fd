//! Reading a text file through the Contents API
//! (`GET /repos/{owner}/{repo}/contents/{path}`) and decoding its answer.

use gdt_metrics::labels::Endpoint;
use http::Method;
use serde::Deserialize;

use crate::client::transport::Request;
use crate::error::Error;
use crate::types::FileContent;
use crate::Client;

impl Client {
    /// Reads a text file at `git_ref` (`GET /repos/{owner}/{repo}/contents/{path}?ref=...`;
    /// an empty `git_ref` means the default branch).
    ///
    /// Returns `None` when GitHub answers 404 — which it also does when the
    /// ref does not exist or the repository is not visible. A directory, a
    /// submodule, a symlink pointing outside the repository, a file over 1 MB
    /// or content that is not UTF-8 is an [`Error::Unexpected`] naming the
    /// path.
    pub async fn get_file(
        &self,
        owner: &str,
        repo: &str,
        path: &str,
        git_ref: &str,
    ) -> Result<Option<FileContent>, Error> {
        let mut segments = vec!["contents"];
        segments.extend(path.split('/').filter(|s| !s.is_empty()));
        if segments.len() == 1 {
            return Err(Error::Config(format!(
                "a file path is required to read repository contents (got {path:?})"
            )));
        }
        let mut url = self.repo_endpoint(owner, repo, &segments)?;
        if !git_ref.is_empty() {
            url.query_pairs_mut().append_pair("ref", git_ref);
        }
        match self
            .execute(&Request::new(Endpoint::Contents, Method::GET, url))
            .await
        {
            Ok(resp) => decode_file(&resp.body, path).map(Some),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// A single entry of the Contents API. A directory answers with an array of
/// these instead, which is rejected before this is decoded.
#[derive(Deserialize)]
struct Entry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    path: String,
    #[serde(default)]
    sha: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

/// Turns the Contents API answer for `path` into a [`FileContent`]: checks it
/// is a file, decodes the base64 `content` (GitHub wraps it with newlines)
/// and requires UTF-8.
fn decode_file(body: &[u8], path: &str) -> Result<FileContent, Error> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        Error::Unexpected(format!("could not decode the contents of {path:?}: {e}"))
    })?;
    if value.is_array() {
        return Err(Error::Unexpected(format!(
            "{path:?} is a directory, not a file"
        )));
    }
    let entry: Entry = serde_json::from_value(value).map_err(|e| {
        Error::Unexpected(format!("could not decode the contents of {path:?}: {e}"))
    })?;
    if entry.kind != "file" {
        return Err(Error::Unexpected(format!(
            "{path:?} is a {}, not a file",
            entry.kind
        )));
    }
    let encoding = entry.encoding.as_deref().unwrap_or("base64");
    if encoding != "base64" {
        // Files of 1-100 MB come with `"encoding": "none"` and no content.
        return Err(Error::Unexpected(format!(
            "GitHub did not include the content of {path:?} ({} bytes, encoding {encoding:?}); \
             files over 1 MB cannot be read through the Contents API as JSON",
            entry.size
        )));
    }
    let bytes = decode_base64(entry.content.as_deref().unwrap_or_default()).map_err(|e| {
        Error::Unexpected(format!(
            "could not decode the base64 content of {path:?}: {e}"
        ))
    })?;
    let text = String::from_utf8(bytes)
        .map_err(|e| Error::Unexpected(format!("{path:?} is not UTF-8 text: {e}")))?;
    Ok(FileContent {
        path: if entry.path.is_empty() {
            path.to_owned()
        } else {
            entry.path
        },
        sha: entry.sha,
        size: entry.size,
        text,
    })
}

/// Decodes standard base64, ignoring the whitespace GitHub inserts (a newline every 60
/// characters) and tolerating missing padding.
fn decode_base64(input: &str) -> Result<Vec<u8>, String> {
    use base64::engine::{
        general_purpose::GeneralPurpose, DecodePaddingMode, GeneralPurposeConfig,
    };
    use base64::Engine as _;
    const ENGINE: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: Vec<u8> = input.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    ENGINE.decode(compact).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_vectors() {
        let cases: &[(&str, &str)] = &[
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
            ("Zm9vYg", "foob"),
            ("Zm9v\nYmFy\n", "foobar"),
            ("Zm9v\r\nYmE=\n", "fooba"),
        ];
        for (encoded, plain) in cases {
            assert_eq!(
                decode_base64(encoded).as_deref(),
                Ok(plain.as_bytes()),
                "{encoded:?}"
            );
        }
        assert_eq!(
            decode_base64("//79").as_deref(),
            Ok(&[0xff, 0xfe, 0xfd][..])
        );
    }

    #[test]
    fn base64_rejects_garbage() {
        for bad in ["Zm9v!", "Z", "Zm9vY", "Zg==Zg==", "Zg==="] {
            assert!(decode_base64(bad).is_err(), "{bad:?}");
        }
    }

    fn entry(kind: &str, content: &str) -> Vec<u8> {
        serde_json::json!({
            "type": kind, "encoding": "base64", "size": 3, "name": "a", "path": "d/a",
            "content": content, "sha": "s1"
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn files_decode_and_other_kinds_are_errors() {
        let f = decode_file(&entry("file", "Zm9v\n"), "d/a").expect("file");
        assert_eq!((f.path.as_str(), f.sha.as_str(), f.size), ("d/a", "s1", 3));
        assert_eq!(f.text, "foo");

        let err = decode_file(b"[]", "d").expect_err("directory");
        assert!(err.to_string().contains("\"d\" is a directory"), "{err}");
        let err = decode_file(&entry("submodule", ""), "d/a").expect_err("submodule");
        assert!(err.to_string().contains("is a submodule"), "{err}");
        // 0xff 0xfe is no UTF-8.
        let err = decode_file(&entry("file", "//4="), "d/a").expect_err("binary");
        assert!(
            matches!(err, Error::Unexpected(ref m) if m.contains("\"d/a\" is not UTF-8")),
            "{err:?}"
        );
        let big = serde_json::json!({
            "type": "file", "encoding": "none", "size": 2_000_000, "path": "big", "content": "", "sha": "s"
        })
        .to_string();
        let err = decode_file(big.as_bytes(), "big").expect_err("too big");
        assert!(err.to_string().contains("over 1 MB"), "{err}");
    }
}
