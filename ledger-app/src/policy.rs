//! Who presses the buttons: the approval policy for reviews (personal messages and address
//! display with P1=1).

use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;

use crate::Screen;

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

/// Shows the review screens on `/dev/tty` and reads `y`/`n` from it.
///
/// The controlling terminal is used rather than stdin/stdout so that a person can approve even
/// when the server's output is piped into a test harness. Input typed before the screens are
/// shown is discarded. Returns `false` (reject) when there is no terminal, on end of input or
/// on anything other than `y`/`yes`.
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
    let mut prompt = String::from("\n=== software Ledger: review ===\n");
    for screen in screens {
        prompt.push_str("  | ");
        prompt.push_str(&screen.to_string());
        prompt.push('\n');
    }
    prompt.push_str("Approve? [y/N] ");
    if out
        .write_all(prompt.as_bytes())
        .and_then(|()| out.flush())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    if BufReader::new(tty).read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
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
}
