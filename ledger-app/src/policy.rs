//! Who presses the buttons: the approval policy for reviews (personal messages and address
//! display with P1=1).

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;

use crate::Screen;
use crate::screen::{CONFIRM, REJECT, REJECT_MESSAGE, SIGN_MESSAGE};

/// A decision function: sees the review screens (from the first screen to the reject page) and
/// returns `true` to approve, `false` to reject.
///
/// It runs on the thread that called [`crate::SoftwareDevice::exchange`], while that exchange
/// waits, exactly like a host waiting for a user. It may read the device's settings and screen
/// log, but must not call `exchange` on the same device (a real device cannot take a second
/// command during a review either; here it would deadlock).
pub type Decide = dyn Fn(&[Screen]) -> bool + Send + Sync;

/// How reviews are answered. Settable at runtime with
/// [`crate::SoftwareDevice::set_approval`].
#[derive(Clone, Default)]
pub enum ApprovalPolicy {
    /// Approve every review (the default: tests and CI).
    #[default]
    Approve,
    /// Reject every review: the device answers `0x6985`.
    Reject,
    /// Ask a function (a test's closure, or [`ask_on_tty`] for a person).
    Ask(Arc<Decide>),
}

impl ApprovalPolicy {
    /// A policy that calls `decide` for each review.
    pub fn ask(decide: impl Fn(&[Screen]) -> bool + Send + Sync + 'static) -> Self {
        Self::Ask(Arc::new(decide))
    }

    /// A policy that asks on the process's controlling terminal (see [`ask_on_tty`]).
    pub fn ask_on_tty() -> Self {
        Self::ask(ask_on_tty)
    }

    /// Applies the policy to one review.
    pub fn decide(&self, screens: &[Screen]) -> bool {
        match self {
            Self::Approve => true,
            Self::Reject => false,
            Self::Ask(decide) => decide(screens),
        }
    }
}

impl fmt::Debug for ApprovalPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Approve => f.write_str("Approve"),
            Self::Reject => f.write_str("Reject"),
            Self::Ask(_) => f.write_str("Ask(..)"),
        }
    }
}

/// Shows the review on `/dev/tty` as the device does, one screen at a time in a box, and
/// lets the person walk it with the device's buttons (see [`walk_review`]).
///
/// The controlling terminal is used rather than stdin/stdout so that a person can approve even
/// when the server's output is piped into a test harness. Input typed before the screens are
/// shown is discarded. Returns `false` (reject) when there is no terminal or on end of input.
pub fn ask_on_tty(screens: &[Screen]) -> bool {
    let tty = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
    {
        Ok(tty) => tty,
        Err(e) => {
            eprintln!("ledger-app: no terminal to ask on ({e}); rejecting the review");
            return false;
        }
    };
    let mut out = match tty.try_clone() {
        Ok(out) => out,
        Err(e) => {
            eprintln!("ledger-app: cannot write to the terminal ({e}); rejecting the review");
            return false;
        }
    };
    // Keys pressed before the review was shown (an Enter meant for the host's prompt, a
    // `y` typed ahead) must not answer it: the person decides after seeing the screens.
    #[cfg(unix)]
    let _ = rustix::termios::tcflush(&tty, rustix::termios::QueueSelector::IFlush);
    walk_review(screens, &mut BufReader::new(tty), &mut out)
}

/// The keys of [`walk_review`], as shown under each screen.
pub const REVIEW_KEYS: &str =
    "[Enter] or r: right   l: left   b: both buttons   y / n: approve / reject at once";

/// Walks a review as on the device: one screen at a time, drawn in a box; `r` (or Enter)
/// is the right button, `l` the left one, `b` both buttons, which approve on the approve
/// page (`Sign message`, `Confirm`) and reject on the reject page, and do nothing
/// elsewhere (as on the device). `y` and `n` answer at once. End of input rejects.
pub fn walk_review(screens: &[Screen], input: &mut dyn BufRead, out: &mut dyn Write) -> bool {
    if screens.is_empty() {
        return false;
    }
    let width = screens
        .iter()
        .flat_map(|s| std::iter::once(s.title.as_str()).chain(s.lines()))
        .map(|line| line.chars().count())
        .max()
        .unwrap_or(0)
        .max(20);
    let mut at = 0;
    loop {
        let screen = &screens[at];
        let mut rows = vec![screen.title.clone()];
        rows.extend(screen.lines().map(str::to_owned));
        // The device's screen: a title and up to three lines.
        rows.resize(rows.len().max(4), String::new());
        let mut drawn = format!(
            "\n=== software Ledger: review, screen {} of {} ===\n┌{}┐\n",
            at + 1,
            screens.len(),
            "─".repeat(width + 2)
        );
        for row in rows {
            let pad = width - row.chars().count();
            drawn.push_str(&format!("│ {row}{} │\n", " ".repeat(pad)));
        }
        drawn.push_str(&format!("└{}┘\n{REVIEW_KEYS}\n> ", "─".repeat(width + 2)));
        if out
            .write_all(drawn.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            return false;
        }
        let mut key = String::new();
        match input.read_line(&mut key) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        match key.trim().to_ascii_lowercase().as_str() {
            "" | "r" => at = (at + 1).min(screens.len() - 1),
            "l" => at = at.saturating_sub(1),
            "b" => match screen.title.as_str() {
                SIGN_MESSAGE | CONFIRM => return true,
                REJECT_MESSAGE | REJECT => return false,
                _ => {}
            },
            "y" | "yes" => return true,
            "n" | "no" => return false,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_policies_and_closures_decide() {
        let screens = [Screen::title("Review message")];
        assert!(ApprovalPolicy::Approve.decide(&screens));
        assert!(!ApprovalPolicy::Reject.decide(&screens));
        let only_reviews = ApprovalPolicy::ask(|s| s[0].title == "Review message");
        assert!(only_reviews.decide(&screens));
        assert!(!only_reviews.decide(&[Screen::title("Verify Ethereum address")]));
        assert_eq!(format!("{only_reviews:?}"), "Ask(..)");
    }

    fn review() -> Vec<Screen> {
        vec![
            Screen::title("Review message"),
            Screen::with_lines("Message", ["hello world"]),
            Screen::title(SIGN_MESSAGE),
            Screen::title(REJECT_MESSAGE),
        ]
    }

    fn walk(keys: &str) -> (bool, String) {
        let mut out = Vec::new();
        let decision = walk_review(&review(), &mut keys.as_bytes(), &mut out);
        (decision, String::from_utf8(out).unwrap())
    }

    #[test]
    fn both_buttons_decide_only_on_the_sign_and_reject_pages() {
        // Both buttons on the first screens do nothing; on "Sign message" they approve.
        assert!(walk("b\n\nb\nr\nb\n").0);
        // Past the sign page, to the reject page.
        assert!(!walk("r\nr\nr\nb\n").0);
        // Left goes back: from the reject page to the sign page.
        assert!(walk("r\nr\nr\nl\nb\n").0);
        // End of input, or a plain n: rejected.
        assert!(!walk("r\n").0);
        assert!(!walk("n\n").0);
        assert!(walk("y\n").0);
    }

    #[test]
    fn each_screen_is_drawn_in_a_box_with_its_position() {
        let (_, drawn) = walk("r\nn\n");
        assert!(drawn.contains("screen 1 of 4"), "{drawn}");
        assert!(drawn.contains("│ Message              │"), "{drawn}");
        assert!(drawn.contains("│ hello world          │"), "{drawn}");
        assert!(drawn.contains(REVIEW_KEYS), "{drawn}");
    }
}
