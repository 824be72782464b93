//! The host's preview of a Ledger review (`device::review`), checked page for page and line
//! for line against what the official Ethereum app 1.22.0 showed on a Nano S Plus
//! (`shared/vectors/nanosp-screens.json`), and its font table against the SDK's
//! (`shared/vectors/nano-font-widths.json`); and which models it previews those pages for.

mod common;

use serde_json::Value;
use xmtp_ledger::device::LedgerModel;
use xmtp_ledger::device::review::{
    MessagePreview, ReviewPage, message_preview, nano_message_pages,
};

fn vectors(name: &str) -> Value {
    let path = common::shared_dir().join("vectors").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_json::from_str(&text).expect("JSON")
}

/// The recorded message pages of a case: the screens titled `Message…`, with the rows
/// Speculos splits at `_` joined again (the recording's notes and reference rule 7: a row
/// the device draws never starts with `_` after another row, because a `_` that does not
/// fit stays at the end of its line).
fn recorded_pages(case: &Value) -> Vec<ReviewPage> {
    case["screens"]
        .as_array()
        .expect("screens")
        .iter()
        .map(|screen| {
            screen
                .as_array()
                .expect("lines")
                .iter()
                .map(|l| l.as_str().expect("line").to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|screen| screen[0].starts_with("Message") && screen[0] != "Message signed")
        .map(|screen| {
            let mut lines: Vec<String> = Vec::new();
            for line in &screen[1..] {
                match lines.last_mut() {
                    Some(last) if line.starts_with('_') => last.push_str(line),
                    _ => lines.push(line.clone()),
                }
            }
            ReviewPage {
                title: screen[0].clone(),
                lines,
            }
        })
        .collect()
}

#[test]
fn every_recorded_review_is_previewed_page_for_page() {
    let file = vectors("nanosp-screens.json");
    let cases = file["cases"].as_array().expect("cases");
    assert!(cases.len() >= 27, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let text = case["text"].as_str().expect("text");
        let expected = recorded_pages(case);
        let previewed = nano_message_pages(text.as_bytes());
        // A Nano X, and a device whose model is not known (a `tcp://` one), get the same
        // pages: the SDK builds one layout for both Nano models.
        for model in [Some(LedgerModel::NanoSPlus), Some(LedgerModel::NanoX), None] {
            let preview = message_preview(model, text.as_bytes());
            if preview != MessagePreview::Pages(expected.clone()) {
                failures.push(format!("{name} on {model:?}: {preview:?}"));
            }
        }
        if previewed != expected {
            failures.push(format!(
                "{name} ({text:?}):\n  recorded  {expected:?}\n  previewed {previewed:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_font_table_is_the_sdks() {
    let file = vectors("nano-font-widths.json");
    let widths = file["widths"].as_object().expect("widths");
    assert_eq!(widths.len(), 95);
    for (code, advance) in widths {
        let c = char::from(code.parse::<u8>().expect("code point"));
        let advance = advance.as_u64().expect("width");
        // A line of that one character repeated: it fits exactly while n * (advance - 1)
        // stays within the 114-pixel line.
        let fit = 114 / (advance - 1);
        let text: String = std::iter::repeat_n(c, usize::try_from(fit + 1).unwrap()).collect();
        if c == ' ' || c == '-' || c == '_' {
            continue; // delimiters keep an overflowing copy on the line
        }
        let pages = nano_message_pages(text.as_bytes());
        assert_eq!(
            pages[0].lines[0].len() as u64,
            fit,
            "{c:?} of advance {advance}: {pages:?}"
        );
    }
}

/// A Stax or Flex (touch screens) pages a message in a layout this tool does not model: the
/// preview gives the text instead, line breaks kept (the app turns whitespace into spaces
/// only on a Nano), or the hex a message that is not text is shown as on every model.
#[test]
fn touch_and_unknown_models_get_the_text_not_pages() {
    let text = "XMTP : Enable Identity\n20216c5a\n\nFor more info: https://xmtp.org/signatures/";
    for model in [
        LedgerModel::Stax,
        LedgerModel::Flex,
        LedgerModel::ApexP,
        LedgerModel::NanoS,
        LedgerModel::Unknown(0x9011),
    ] {
        assert_eq!(
            message_preview(Some(model), text.as_bytes()),
            MessagePreview::Text(vec![
                "XMTP : Enable Identity".into(),
                "20216c5a".into(),
                String::new(),
                "For more info: https://xmtp.org/signatures/".into(),
            ]),
            "{model}"
        );
        assert_eq!(
            message_preview(Some(model), "caf\u{e9}".as_bytes()),
            MessagePreview::Text(vec!["0x636166c3a9".into()]),
            "{model}"
        );
    }
}
