//! XMTP v3 identity, pure (no I/O): inbox ids, the "XMTP : Authenticate to inbox" text
//! a wallet signs, the signatures of identity updates, and [`AssociationState`], which
//! replays an inbox's whole log and enforces every rule.
//!
//! Formats and rules follow libxmtp (`crates/xmtp_id/src/associations/`, tag
//! `node-bindings-1.10.0`) and xmtp/proto (`identity/associations/*.proto`); the facts
//! and their sources are gathered in `shared/reference/xmtp-v3-identity.md`.
//!
//! | module | its one job |
//! | --- | --- |
//! | `member` | [`InboxId`] and [`MemberId`] in their exact string forms |
//! | `text` | building and strictly parsing the signature text ([`SignatureText`]) |
//! | `error` | [`Rule`] and [`LogError`]: which rule an update breaks, and where |
//! | `update` | the text of a signed update; [`UnsignedUpdate`], what a wallet signs alone |
//! | `signature` | checking one signature over the text, and who made it |
//! | `state` | [`AssociationState`]: replaying a log under the rules |

mod error;
mod member;
mod signature;
mod state;
mod text;
mod update;

pub use error::{LogError, Rule};
pub use member::{InboxId, InvalidInboxId, MemberId, MemberKind, inbox_id};
pub use signature::INSTALLATION_KEY_CONTEXT;
pub use state::{
    AssociationState, Installation, MAX_INBOX_UPDATES, MAX_INSTALLATIONS_PER_INBOX, Member,
};
pub use text::{FOOTER, HEADER, MAX_TEXT_BYTES, SignatureText, TextAction, TextError, format_time};
pub use update::{MAX_CLIENT_TIMESTAMP_NS, UnsignedUpdate, WalletAction, update_text};
