//! What a Nano S Plus shows, checked against what the official Ethereum app 1.22.0 showed in
//! Speculos (`shared/vectors/nanosp-screens.json`) and against the SDK's font
//! (`shared/vectors/nano-font-widths.json`).

mod common;

use common::*;
use ledger_app::screen::font;

/// The glyph table in `src/screen/font.rs` is the SDK's, width for width.
#[test]
fn font_table_is_the_sdk_font() {
    let file = read_vectors("nano-font-widths.json");
    let widths = file["widths"].as_object().expect("`widths` object");
    assert_eq!(
        widths.len(),
        font::ADVANCE_WIDTHS.len(),
        "characters in the file"
    );
    for (code, width) in widths {
        let code: u8 = code.parse().expect("code point of an ASCII character");
        let width = width.as_u64().expect("a width in pixels");
        assert_eq!(
            font::advance_width(code).map(u64::from),
            Some(width),
            "width of {:?}",
            char::from(code)
        );
    }
}
