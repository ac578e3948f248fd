//! The page's files, compiled into the binary: no file is read at run time and nothing is
//! fetched from the internet, so the board works air-gapped and always matches the server.
//! They hold no data: the page reads everything from the API once it runs.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// The board (served at `/board` to a signed-in browser).
pub const INDEX_HTML: &str = include_str!("../../assets/board/index.html");
/// The sign-in form; `<!--error-->` marks where a message goes.
pub const SIGN_IN_HTML: &str = include_str!("../../assets/board/sign-in.html");

/// `/board/assets/{file}`: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "board.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/board/board.js"),
    ),
    (
        "board.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/board/board.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/board/icon.svg"),
    ),
];

/// The content type and bytes of an asset.
pub fn find(name: &str) -> Option<(&'static str, &'static [u8])> {
    FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, content_type, bytes)| (*content_type, *bytes))
}

/// `GET /board/assets/{file}`. Public and cacheable for a few minutes: no data in them.
pub(crate) async fn asset(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    if !state.board_page.settings.enabled {
        return super::page::disabled();
    }
    match find(&file) {
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            bytes,
        )
            .into_response(),
        None => crate::ApiError::not_found("no such board asset").into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_the_pages_name_is_served() {
        for page in [INDEX_HTML, SIGN_IN_HTML] {
            for part in page.split("/board/assets/").skip(1) {
                let name = part.split('"').next().unwrap_or_default();
                assert!(find(name).is_some(), "{name} is named but not served");
            }
        }
        assert!(find("../Cargo.toml").is_none());
    }

    #[test]
    fn nothing_comes_from_elsewhere() {
        let all = [INDEX_HTML.as_bytes(), SIGN_IN_HTML.as_bytes()]
            .into_iter()
            .chain(FILES.iter().map(|(_, _, bytes)| *bytes));
        for bytes in all {
            let text = String::from_utf8_lossy(bytes);
            for forbidden in ["http://", "https://", "//cdn", "innerHTML", "eval("] {
                // The SVG namespace is an identifier, not a fetch.
                let text = text.replace("http://www.w3.org/2000/svg", "");
                assert!(!text.contains(forbidden), "{forbidden} in an asset");
            }
        }
    }
}
