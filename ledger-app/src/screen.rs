//! What a Nano S Plus running the Ethereum app (≥ 1.18, NBGL) shows during a review, as a list
//! of [`Screen`]s that tests and the approval policy can read: each screen's title line and the
//! lines under it, exactly as the device draws them. A Nano X shows the same: the SDK builds
//! the same screen size, fonts and layout code for both ([`crate::model`] names the files).
//!
//! Personal message review (app-ethereum 1.22.0 `src/nbgl/ui_sign_message.c`): `Review
//! message`, then the message as one tag/value pair `Message` spread over as many pages as
//! needed, then `Sign message` and `Reject message`; after the choice a status screen `Message
//! signed` or `Message rejected`, then the home screen ([`home`]). Reference:
//! `shared/reference/nano-screens.md`; every case of `shared/vectors/nanosp-screens.json`
//! (screens the official app 1.22.0 showed in Speculos) is reproduced, page for page and line
//! for line (`tests/nano_screens.rs`).
//!
//! What is shown ([`message_display_text`]): the message as text only when every byte is
//! printable ASCII or whitespace (C `isprint`/`isspace`), each whitespace byte (`\n` included)
//! shown as one space, nothing merged or trimmed; otherwise the whole message as `0x` +
//! lower-case hex (cases `non-ascii-utf8`, `byte-0x7f`, `nul-byte`).
//!
//! How it is laid out (`layout`, a port of the SDK's wrapping): lines of at most 114 pixels in
//! the regular 11 px font ([`font`]), broken after the last space, `-` or `_` that fits (which
//! stays at the end of its line), or inside a word longer than a line; three lines per page
//! under the title `Message` (one page) or `Message (i/n)`.
//!
//! Address display (`GET ETH PUBLIC ADDRESS` with P1=1): `Verify Ethereum address`, `Address`
//! (`0x` + EIP-55), `Chain ID` when the host sent one that differs from the app's (1), then
//! `Confirm` / `Reject`; status `Address verified` or `Address verification cancelled`, then
//! the home screen. These are not laid out in lines (no recording of them): the address is one
//! line of text here.

use std::fmt;

pub mod font;
mod layout;

pub use layout::{LINE_WIDTH, LINES_PER_PAGE};

/// One screen (or page) of the device: its title line and the lines under it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Screen {
    /// Title line, e.g. `Review message`, `Message (1/2)`, `Sign message`.
    pub title: String,
    /// The lines under the title, separated by `\n` (empty: none). For message pages these are
    /// the lines as the device draws them, spaces at their ends included. The device never
    /// draws a `\n` (it shows whitespace as spaces), so the separator cannot be confused with
    /// the text.
    pub text: String,
}

impl Screen {
    /// A screen with a title and body (lines separated by `\n`).
    pub fn new(title: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            text: text.into(),
        }
    }

    /// A screen with only a title.
    pub fn title(title: impl Into<String>) -> Self {
        Self::new(title, "")
    }

    /// A screen with a title and these lines under it.
    pub fn with_lines<L: AsRef<str>>(
        title: impl Into<String>,
        lines: impl IntoIterator<Item = L>,
    ) -> Self {
        let mut text = String::new();
        for (i, line) in lines.into_iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            text.push_str(line.as_ref());
        }
        Self::new(title, text)
    }

    /// The lines under the title, in order (none for a title-only screen).
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.text.split('\n').filter(|line| !line.is_empty())
    }
}

/// One line: the title and each line under it, separated by ` | `, exactly as displayed (so
/// a line's final spaces come before its ` | `), e.g.
/// `Message (1/3) | XMTP : Enable  | Identity  | f7f8b124e31134928f`.
impl fmt::Display for Screen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.title)?;
        for line in self.lines() {
            write!(f, " | {line}")?;
        }
        Ok(())
    }
}

/// First screen of a personal message review.
pub const REVIEW_MESSAGE: &str = "Review message";
/// Title of the message pages (followed by ` (i/N)` when there are several).
pub const MESSAGE: &str = "Message";
/// The approve page of a personal message review.
pub const SIGN_MESSAGE: &str = "Sign message";
/// The reject page of a personal message review.
pub const REJECT_MESSAGE: &str = "Reject message";
/// Status screen after approval.
pub const MESSAGE_SIGNED: &str = "Message signed";
/// Status screen after rejection.
pub const MESSAGE_REJECTED: &str = "Message rejected";
/// Title of the app's home screen: the app's name.
pub const HOME: &str = "Ethereum";
/// Text under [`HOME`] (`nbgl_use_case_nanos.c` of the SDK, for an app without a tagline).
pub const HOME_TEXT: &str = "app is ready";
/// First screen of an address display.
pub const VERIFY_ADDRESS: &str = "Verify Ethereum address";
/// The address page.
pub const ADDRESS: &str = "Address";
/// The chain id page (only when the host sent a chain id other than 1).
pub const CHAIN_ID: &str = "Chain ID";
/// The approve page of an address display.
pub const CONFIRM: &str = "Confirm";
/// The reject page of an address display.
pub const REJECT: &str = "Reject";
/// Status screen after the address was confirmed.
pub const ADDRESS_VERIFIED: &str = "Address verified";
/// Status screen after the address was rejected.
pub const ADDRESS_REJECTED: &str = "Address verification cancelled";

/// Whether the app shows `message` as text: every byte passes C `isprint` or `isspace`.
pub fn is_displayed_as_text(message: &[u8]) -> bool {
    message
        .iter()
        .all(|&b| (0x20..=0x7E).contains(&b) || matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r'))
}

/// The text a Nano shows for `message`: whitespace as spaces, or `0x` + hex when not text.
pub fn message_display_text(message: &[u8]) -> String {
    if is_displayed_as_text(message) {
        message
            .iter()
            .map(|&b| {
                if b.is_ascii_whitespace() || b == 0x0B {
                    ' '
                } else {
                    char::from(b)
                }
            })
            .collect()
    } else {
        format!("0x{}", hex::encode(message))
    }
}

/// The review screens of a personal message, up to and including the reject page.
pub fn personal_message_review(message: &[u8]) -> Vec<Screen> {
    let text = message_display_text(message);
    let pages = layout::pages(&text);
    let count = pages.len();
    let mut screens = Vec::with_capacity(count + 3);
    screens.push(Screen::title(REVIEW_MESSAGE));
    for (i, lines) in pages.into_iter().enumerate() {
        screens.push(Screen::with_lines(message_page_title(i, count), lines));
    }
    screens.push(Screen::title(SIGN_MESSAGE));
    screens.push(Screen::title(REJECT_MESSAGE));
    screens
}

/// The title of page `index` (from 0) of `count` message pages: `Message`, or
/// `Message (i/n)` when there are several (`nbgl_stepDrawText` in the SDK's
/// `lib_nbgl/src/nbgl_step.c`, `"%s (%d/%d)"`). The SDK would shorten a title wider than a
/// line, but every title up to `Message (255/255)` fits: the widest, `Message (249/249)`, is
/// 113 of 114 px in the bold font (SDK `nbgl_font_open_sans_extrabold_11.json`). With the
/// app's heap a message has at most 253 pages (5301 bytes `0x44` and a zero byte, shown as
/// hex). The SDK counts pages in 8 bits; with a heap set larger than the app's, more than 255
/// pages are numbered here as they are, not wrapped as the device would.
fn message_page_title(index: usize, count: usize) -> String {
    if count == 1 {
        MESSAGE.to_owned()
    } else {
        format!("{MESSAGE} ({}/{count})", index + 1)
    }
}

/// The app's home screen, where every review ends: after each status screen the app returns
/// to it (`nbgl_useCaseReviewStatus(.., ui_idle)` in app-ethereum 1.22.0
/// `src/nbgl/ui_sign_message.c` and `src/nbgl/ui_get_public_key.c`; recorded as `after_signed`
/// in every case of `shared/vectors/nanosp-screens.json`).
pub fn home() -> Screen {
    Screen::new(HOME, HOME_TEXT)
}

/// The screens of an address display, up to and including the reject page. `address` is the
/// 40 EIP-55 characters without `0x`; `chain_id` is shown only when it is not 1.
pub fn address_review(address: &str, chain_id: Option<u64>) -> Vec<Screen> {
    let mut screens = vec![
        Screen::title(VERIFY_ADDRESS),
        Screen::new(ADDRESS, format!("0x{address}")),
    ];
    if let Some(id) = chain_id.filter(|&id| id != 1) {
        screens.push(Screen::new(CHAIN_ID, id.to_string()));
    }
    screens.push(Screen::title(CONFIRM));
    screens.push(Screen::title(REJECT));
    screens
}

/// The text of the last personal message review found in `screens`: the lines of its
/// `Message` pages in order, joined as they are (lines keep the spaces they end with), or
/// `None` if there is no review.
///
/// This is the display text ([`message_display_text`], whitespace shown as spaces) for every
/// recorded case and every text whose wrapping never puts a space, `-` or `_` alone on a line
/// of its own. When it does (e.g. a message that starts with a space followed by a word longer
/// than a line, or a double space whose first space ends a full line followed by such a
/// word), the SDK draws that line further than it counts it, and a page after it begins where
/// the count ended, so it repeats what was drawn beyond; this gives the text as displayed,
/// repeats included. No character of the message is ever left out.
pub fn reviewed_message(screens: &[Screen]) -> Option<String> {
    let start = screens.iter().rposition(|s| s.title == REVIEW_MESSAGE)?;
    Some(
        screens[start + 1..]
            .iter()
            .take_while(|s| s.title == MESSAGE || s.title.starts_with("Message ("))
            .flat_map(Screen::lines)
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const XMTP_TEXT: &str =
        "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";

    fn lines(screen: &Screen) -> Vec<&str> {
        screen.lines().collect()
    }

    /// Case `check-py-create-identity-0a0b` of `shared/vectors/nanosp-screens.json`.
    #[test]
    fn xmtp_text_is_two_pages_of_wrapped_lines() {
        let screens = personal_message_review(XMTP_TEXT.as_bytes());
        let titles: Vec<&str> = screens.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Review message",
                "Message (1/2)",
                "Message (2/2)",
                "Sign message",
                "Reject message"
            ]
        );
        assert_eq!(
            lines(&screens[1]),
            ["XMTP : Create ", "Identity 0a0b  For ", "more info: "]
        );
        assert_eq!(lines(&screens[2]), ["https://xmtp.org/sign", "atures/"]);
        assert_eq!(
            reviewed_message(&screens).unwrap(),
            "XMTP : Create Identity 0a0b  For more info: https://xmtp.org/signatures/"
        );
    }

    #[test]
    fn display_puts_the_lines_on_one_line() {
        let screens = personal_message_review(XMTP_TEXT.as_bytes());
        assert_eq!(
            screens[1].to_string(),
            "Message (1/2) | XMTP : Create  | Identity 0a0b  For  | more info: "
        );
        assert_eq!(screens[0].to_string(), "Review message");
        assert_eq!(
            Screen::new("Address", "0xf39F").to_string(),
            "Address | 0xf39F"
        );
    }

    #[test]
    fn with_lines_and_lines_agree() {
        let screen = Screen::with_lines("Message", ["a ", " ", "b"]);
        assert_eq!(screen.text, "a \n \nb");
        assert_eq!(lines(&screen), ["a ", " ", "b"]);
        assert_eq!(
            Screen::with_lines("T", Vec::<String>::new()),
            Screen::title("T")
        );
        assert_eq!(Screen::title("T").lines().count(), 0);
    }

    /// Cases `tab-and-carriage-return` and `vt-ff`.
    #[test]
    fn every_c_whitespace_becomes_a_space_and_short_text_is_one_page() {
        let screens = personal_message_review(b"a\tb\nc\x0bd\x0ce\rf g");
        assert_eq!(screens[1], Screen::new("Message", "a b c d e f g"));
        assert_eq!(screens.len(), 4);
    }

    #[test]
    fn any_non_printable_byte_switches_the_whole_message_to_hex() {
        assert_eq!(message_display_text(b"caf\xc3\xa9"), "0x636166c3a9");
        assert_eq!(message_display_text(b"a\x00"), "0x6100");
        assert_eq!(message_display_text(b"\x7f"), "0x7f");
        assert_eq!(message_display_text(b"~ok"), "~ok");
    }

    #[test]
    fn empty_message_has_one_empty_page() {
        let screens = personal_message_review(b"");
        assert_eq!(screens[1], Screen::title("Message"));
        assert_eq!(reviewed_message(&screens).unwrap(), "");
    }

    #[test]
    fn long_hex_message_round_trips_through_pages() {
        let message: Vec<u8> = (0..=255u8).collect();
        let screens = personal_message_review(&message);
        let expected = format!("0x{}", hex::encode(&message));
        let pages = screens.len() - 3;
        assert!(pages > 1);
        assert_eq!(screens[1].title, format!("Message (1/{pages})"));
        assert!(screens[1..=pages].iter().all(|s| s.lines().count() <= 3));
        assert_eq!(reviewed_message(&screens).unwrap(), expected);
    }

    #[test]
    fn reviewed_message_shows_what_a_lone_delimiter_line_repeats() {
        // The first space ends a full line; the second begins a line the SDK counts as that
        // space alone but draws with 18 `a` after it, so page two repeats them (see
        // `layout::tests::a_page_after_a_lone_delimiter_line_repeats_text`).
        let text = format!("{}  {}", "i".repeat(38), "a".repeat(40));
        let shown = reviewed_message(&personal_message_review(text.as_bytes())).unwrap();
        assert_eq!(shown, format!("{}  {}", "i".repeat(38), "a".repeat(58)));
    }

    #[test]
    fn address_review_shows_chain_id_only_when_not_mainnet() {
        let a = "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
        let plain = address_review(a, Some(1));
        assert_eq!(
            plain,
            vec![
                Screen::title(VERIFY_ADDRESS),
                Screen::new(ADDRESS, format!("0x{a}")),
                Screen::title(CONFIRM),
                Screen::title(REJECT),
            ]
        );
        let other = address_review(a, Some(137));
        assert_eq!(other[2], Screen::new(CHAIN_ID, "137"));
    }
}
