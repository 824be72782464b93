//! `inbox sign`: the wallet signs a text an app produced, once it was parsed strictly and
//! shown action by action: the Ledger is the signer of a libxmtp app here, never a
//! general-purpose one.

use crate::flow::{SignaturePrompt, sign_inbox_update};
use crate::identity::{Address, WalletSignature};
use crate::signer::Signer;
use crate::v3::{SignatureText, TextAction};

use super::super::Progress;
use super::InboxError;

/// A text and the account's verified signature of it.
#[derive(Debug)]
pub struct SignedText {
    /// The text, as fields.
    pub text: SignatureText,
    /// The account that signed.
    pub address: Address,
    /// Its signature, checked to recover to `address` over exactly the text.
    pub signature: WalletSignature,
}

/// Has the signer sign `parsed`, a text parsed strictly (`str::parse`, which refuses
/// anything but a well-formed "XMTP : Authenticate to inbox" text and prints back the
/// exact bytes it read): refuses one that creates an inbox for another address
/// ([`InboxError::NotOwner`]: that signature could never be valid), announces it, and
/// returns the signer's verified signature of its exact bytes.
pub fn sign_text<S: Signer>(
    signer: &S,
    parsed: SignatureText,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<SignedText, InboxError<S::Error>> {
    let account = signer.address();
    for action in &parsed.actions {
        if let TextAction::CreateInbox { owner } = action
            && *owner != account
        {
            return Err(InboxError::NotOwner {
                owner: *owner,
                account,
            });
        }
    }
    let mut prompt = |prompt: SignaturePrompt<'_>| progress(Progress::Signature(prompt));
    let text = parsed.to_string();
    let signature = sign_inbox_update(signer, &text, &mut prompt, (1, 1))?;
    Ok(SignedText {
        text: parsed,
        address: account,
        signature,
    })
}
