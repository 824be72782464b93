//! What a Nano S Plus running the Ethereum app (≥ 1.18, NBGL) shows during a review, as a list
//! of [`Screen`]s that tests and the approval policy can read.
//!
//! Personal message review (`src/nbgl/ui_sign_message.c`): `Review message`, then the message as
//! one tag/value pair `Message` spread over as many pages as needed, then `Sign message` and
//! `Reject message`; after the choice a status screen `Message signed` or `Message rejected`,
//! then the home screen ([`home`]).
//! The message is shown as text only when every byte is printable ASCII or whitespace (C
//! `isprint`/`isspace`); on Nano screens every whitespace byte (`\n` included) is shown as a
//! space. Otherwise the whole message is shown as `0x` + lower-case hex.
//!
//! Paging: the real device wraps words to its 128×64 screen; this model cuts the display text
//! into pages of exactly [`MESSAGE_PAGE_CHARS`] characters, so concatenating the page texts in
//! order gives back the full display text ([`reviewed_message`] does that). A message that fits
//! one page has the title `Message`; longer ones have `Message (1/N)` … `Message (N/N)`.
//!
//! Address display (`GET ETH PUBLIC ADDRESS` with P1=1): `Verify Ethereum address`, `Address`
//! (`0x` + EIP-55), `Chain ID` when the host sent one that differs from the app's (1), then
//! `Confirm` / `Reject`; status `Address verified` or `Address verification cancelled`, then
//! the home screen.

pub mod font;

/// One screen (or page) of the device: its title line and the text under it (often empty).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Screen {
    /// Title line, e.g. `Review message`, `Message (1/2)`, `Sign message`.
    pub title: String,
    /// Body text; for message pages, one page of the display text.
    pub text: String,
}

impl Screen {
    /// A screen with a title and body.
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
}

impl std::fmt::Display for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.text.is_empty() {
            f.write_str(&self.title)
        } else {
            write!(f, "{}: {}", self.title, self.text)
        }
    }
}

/// Characters of display text per `Message` page.
pub const MESSAGE_PAGE_CHARS: usize = 64;

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
    // The display text is ASCII, so byte chunks are character chunks.
    let pages: Vec<&[u8]> = if text.is_empty() {
        vec![&[][..]]
    } else {
        text.as_bytes().chunks(MESSAGE_PAGE_CHARS).collect()
    };
    let count = pages.len();
    let mut screens = Vec::with_capacity(count + 3);
    screens.push(Screen::title(REVIEW_MESSAGE));
    for (i, page) in pages.iter().enumerate() {
        let title = if count == 1 {
            MESSAGE.to_owned()
        } else {
            format!("{MESSAGE} ({}/{count})", i + 1)
        };
        screens.push(Screen::new(title, String::from_utf8_lossy(page)));
    }
    screens.push(Screen::title(SIGN_MESSAGE));
    screens.push(Screen::title(REJECT_MESSAGE));
    screens
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

/// Reassembles the display text of the last personal message review found in `screens` (the
/// concatenated `Message` pages), or `None` if there is none.
pub fn reviewed_message(screens: &[Screen]) -> Option<String> {
    let start = screens.iter().rposition(|s| s.title == REVIEW_MESSAGE)?;
    Some(
        screens[start + 1..]
            .iter()
            .take_while(|s| s.title == MESSAGE || s.title.starts_with("Message ("))
            .map(|s| s.text.as_str())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const XMTP_TEXT: &str =
        "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";

    #[test]
    fn xmtp_text_is_two_pages_with_newlines_as_spaces() {
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
            reviewed_message(&screens).unwrap(),
            "XMTP : Create Identity 0a0b  For more info: https://xmtp.org/signatures/"
        );
        assert_eq!(screens[1].text.len(), MESSAGE_PAGE_CHARS);
    }

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
        let pages = expected.len().div_ceil(MESSAGE_PAGE_CHARS);
        assert_eq!(screens.len(), pages + 3);
        assert_eq!(screens[1].title, format!("Message (1/{pages})"));
        assert_eq!(reviewed_message(&screens).unwrap(), expected);
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
