//! What a Ledger shows when asked to `personal_sign` a text: the pages of its review, so
//! that the host can tell the person, before the device asks, exactly what to compare.
//!
//! The layout is that of the Ethereum app 1.22.0 on a Nano S Plus (SDK v25.12.3), as
//! recorded screen by screen from the app itself (`shared/vectors/nanosp-screens.json`)
//! and described by `shared/reference/nano-screens.md`, whose rule numbers the comments
//! below cite. This is the host's own implementation of those rules; the software device
//! (`ledger-app`) has a separate one, and both are tested against the same recordings.
//!
//! A Nano X pages a message the same way ([`LedgerModel::has_nano_layout`] says why).
//! A Stax or Flex does not, and its pages are not modelled: [`message_preview`] then gives
//! the text as such a device holds it, line breaks kept.

use super::model::LedgerModel;

/// What the host can show, before a device asks, of the review of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MessagePreview {
    /// The message pages, as a Nano S Plus or Nano X lays them out.
    Pages(Vec<ReviewPage>),
    /// A model whose pages are not modelled (a touch screen, or one this tool does not
    /// know): the text's lines as the app holds it for display, without pages. On a touch
    /// screen the app keeps whitespace as it is (it turns it into spaces only under
    /// `SCREEN_SIZE_NANO`: app-ethereum 1.22.0 `src/features/sign_message/cmd_sign_message.c`
    /// `final_process`), so line breaks stay line breaks; a message that is not text is `0x`
    /// + hex on every model.
    Text(Vec<String>),
}

/// The preview of `message`'s review on `model`: its pages on a Nano S Plus or Nano X, and
/// also when the model is not known (`None`: a `tcp://` device does not say it), where the
/// caller should say that it assumes the Nano layout; otherwise its text.
pub fn message_preview(model: Option<LedgerModel>, message: &[u8]) -> MessagePreview {
    match model {
        Some(model) if !model.has_nano_layout() => {
            MessagePreview::Text(if is_shown_as_text(message) {
                String::from_utf8_lossy(message)
                    .split('\n')
                    .map(str::to_owned)
                    .collect()
            } else {
                vec![displayed_text(message)]
            })
        }
        _ => MessagePreview::Pages(nano_message_pages(message)),
    }
}

/// The usable width of a text line, in pixels: 128 minus a 7-pixel margin on each side
/// (rule 3).
pub const LINE_WIDTH: u32 = 114;

/// Text lines under the title of a page (rule 5).
pub const LINES_PER_PAGE: usize = 3;

/// Advance widths, in pixels, of the printable ASCII characters `' '..='~'` in the Nano's
/// regular font, from LedgerHQ/ledger-secure-sdk v25.12.3
/// `lib_nbgl/include/fonts/nbgl_font_open_sans_regular_11.json` (also in
/// `shared/vectors/nano-font-widths.json`, which a test holds this table to).
const ADVANCE: [u8; 95] = [
    4, 4, 5, 8, 7, 10, 10, 3, 4, 4, 7, 7, 4, 5, 4, 5, // ' '..='/'
    7, 7, 7, 7, 9, 7, 7, 7, 7, 7, 4, 4, 7, 7, 7, 6, // '0'..='?'
    11, 8, 8, 8, 9, 7, 7, 9, 9, 4, 4, 8, 7, 11, 9, 10, // '@'..='O'
    8, 10, 8, 7, 8, 9, 8, 11, 8, 7, 7, 5, 5, 5, 7, 6, // 'P'..='_'
    7, 7, 8, 6, 8, 7, 6, 7, 8, 4, 4, 7, 4, 11, 8, 8, // '`'..='o'
    8, 8, 5, 6, 5, 8, 7, 10, 7, 7, 6, 5, 7, 5, 7, // 'p'..='~'
];

/// The width a printable ASCII character takes on a line: its advance minus the font's
/// 1-pixel kerning (rule 3).
fn width(c: u8) -> u32 {
    debug_assert!((0x20..=0x7e).contains(&c));
    u32::from(ADVANCE[usize::from(c - 0x20)]) - 1
}

/// One screen: a title and up to [`LINES_PER_PAGE`] lines, as the device draws them
/// (trailing spaces kept).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewPage {
    /// The bold first line, e.g. `Message (2/5)`.
    pub title: String,
    /// The text lines.
    pub lines: Vec<String>,
}

/// The message pages a Nano S Plus shows for `message`, between `Review message` and
/// `Sign message`.
pub fn nano_message_pages(message: &[u8]) -> Vec<ReviewPage> {
    let shown = displayed_text(message);
    let mut lines = wrap(shown.as_bytes());
    if lines.is_empty() {
        lines.push(String::new());
    }
    let pages: Vec<&[String]> = lines.chunks(LINES_PER_PAGE).collect();
    let count = pages.len();
    pages
        .iter()
        .enumerate()
        .map(|(i, page)| ReviewPage {
            title: if count == 1 {
                "Message".to_owned()
            } else {
                format!("Message ({}/{count})", i + 1)
            },
            // An empty line is not drawn (rule 6's extra page has none).
            lines: page.iter().filter(|l| !l.is_empty()).cloned().collect(),
        })
        .collect()
}

/// The text as the app shows it (rule 2): all of it as `0x` + hex if any byte is neither
/// printable ASCII nor whitespace, else each whitespace character as one space.
pub fn displayed_text(message: &[u8]) -> String {
    if is_shown_as_text(message) {
        message
            .iter()
            .map(|&b| if is_whitespace(b) { ' ' } else { char::from(b) })
            .collect()
    } else {
        format!("0x{}", hex::encode(message))
    }
}

/// C `isspace` (rule 2).
fn is_whitespace(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Whether the app shows `message` as text rather than hex (rule 2): every byte printable
/// ASCII or whitespace.
fn is_shown_as_text(message: &[u8]) -> bool {
    message
        .iter()
        .all(|&b| (0x20..=0x7e).contains(&b) || is_whitespace(b))
}

/// Whether the line may break after `c` (rule 4).
fn delimiter(c: u8) -> bool {
    matches!(c, b' ' | b'-' | b'_')
}

/// Breaks printable ASCII `text` into lines of at most [`LINE_WIDTH`] pixels (rule 4):
/// characters are added until the next would overflow; the line then ends after the last
/// delimiter on it (which stays at its end), or after the overflowing character itself if
/// that is a delimiter; with no delimiter, before the overflowing character. When the
/// text's last character is a delimiter that overflowed, an empty line follows: it is
/// invisible on its page, or makes the title-only page of rule 6 when it starts one.
fn wrap(text: &[u8]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let mut used = 0;
        let mut last_delimiter = None;
        let mut end = start;
        while end < text.len() && used + width(text[end]) <= LINE_WIDTH {
            used += width(text[end]);
            if delimiter(text[end]) {
                last_delimiter = Some(end);
            }
            end += 1;
        }
        let next = if end == text.len() {
            end
        } else if delimiter(text[end]) {
            // An overflowing delimiter stays on its line.
            end + 1
        } else if let Some(at) = last_delimiter {
            at + 1
        } else {
            end
        };
        lines.push(String::from_utf8_lossy(&text[start..next]).into_owned());
        if next == text.len() && end < text.len() {
            lines.push(String::new());
        }
        start = next;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_text_is_one_untitled_page() {
        let pages = nano_message_pages(b"hello\nworld");
        assert_eq!(
            pages,
            [ReviewPage {
                title: "Message".into(),
                lines: vec!["hello world".into()],
            }]
        );
    }

    #[test]
    fn non_text_is_shown_as_hex() {
        assert_eq!(displayed_text(&[0xc3, 0xa9]), "0xc3a9");
        assert_eq!(displayed_text(b"a\tb"), "a b");
    }
}
