//! Inbox ids and the members of an inbox, in the exact string forms XMTP v3 hashes,
//! signs and stores.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::identity::Address;
use crate::proto::identity::associations as pb;

use super::Rule;

/// An inbox id: 64 lowercase hex digits, `sha256(lowercase address + decimal nonce)`
/// for the address and nonce of the inbox's `CreateInbox`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InboxId(String);

impl InboxId {
    /// The inbox id `address` creates with `nonce` (libxmtp
    /// `crates/xmtp_id/src/associations/member.rs`, `Identifier::inbox_id`: the address
    /// is hashed in its lowercase `0x` form, the nonce in decimal).
    pub fn derive(address: &Address, nonce: u64) -> Self {
        let digest = Sha256::digest(format!("{}{nonce}", address.to_lower_hex()));
        Self(hex::encode(digest))
    }

    /// The 64 hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The inbox id `address` creates with `nonce`; see [`InboxId::derive`].
pub fn inbox_id(address: &Address, nonce: u64) -> InboxId {
    InboxId::derive(address, nonce)
}

impl fmt::Display for InboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for InboxId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InboxId({})", self.0)
    }
}

/// Why a string is not an inbox id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an inbox id (64 lowercase hex digits): {0:?}")]
pub struct InvalidInboxId(pub String);

impl FromStr for InboxId {
    type Err = InvalidInboxId;

    /// Exactly 64 lowercase hex digits: the only form the network stores and signs,
    /// so anything else would name another inbox or none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidInboxId(s.chars().take(80).collect()))
        }
    }
}

/// A member of an inbox, or a candidate for membership.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberId {
    /// An Ethereum account (a wallet such as the Ledger's).
    Address(Address),
    /// An installation: the Ed25519 public key of one app's database on one device.
    Installation([u8; 32]),
    /// A passkey's public key. Shown and signed for, but never verified here (see
    /// [`Rule::Unsupported`]).
    Passkey(Vec<u8>),
}

impl MemberId {
    /// What kind of member this is, as the rules and the JSON name it.
    pub fn kind(&self) -> MemberKind {
        match self {
            Self::Address(_) => MemberKind::Address,
            Self::Installation(_) => MemberKind::Installation,
            Self::Passkey(_) => MemberKind::Passkey,
        }
    }

    /// The address, when this member is one.
    pub fn address(&self) -> Option<&Address> {
        match self {
            Self::Address(address) => Some(address),
            _ => None,
        }
    }

    /// Reads a protobuf member identifier, accepting only the canonical forms libxmtp
    /// writes (a lowercase `0x` address, a 32-byte installation key).
    pub(crate) fn from_proto(identifier: Option<&pb::MemberIdentifier>) -> Result<Self, Rule> {
        use pb::member_identifier::Kind;
        match identifier.and_then(|identifier| identifier.kind.as_ref()) {
            Some(Kind::EthereumAddress(address)) => {
                Ok(Self::Address(parse_lower_address(address)?))
            }
            Some(Kind::InstallationPublicKey(key)) => key
                .as_slice()
                .try_into()
                .map(Self::Installation)
                .map_err(|_| Rule::InstallationKeyLength(key.len())),
            Some(Kind::Passkey(passkey)) => Ok(Self::Passkey(passkey.key.clone())),
            None => Err(Rule::Missing("member identifier")),
        }
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> pb::MemberIdentifier {
        use pb::member_identifier::Kind;
        let kind = match self {
            Self::Address(address) => Kind::EthereumAddress(address.to_lower_hex()),
            Self::Installation(key) => Kind::InstallationPublicKey(key.to_vec()),
            Self::Passkey(key) => Kind::Passkey(pb::Passkey {
                key: key.clone(),
                relying_party: None,
            }),
        };
        pb::MemberIdentifier { kind: Some(kind) }
    }
}

impl fmt::Display for MemberId {
    /// The form the signature text shows: a lowercase `0x` address, or lowercase hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Address(address) => f.write_str(&address.to_lower_hex()),
            Self::Installation(key) => f.write_str(&hex::encode(key)),
            Self::Passkey(key) => f.write_str(&hex::encode(key)),
        }
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::Address(_) => "Address",
            Self::Installation(_) => "Installation",
            Self::Passkey(_) => "Passkey",
        };
        write!(f, "{kind}({self})")
    }
}

/// The kinds of member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberKind {
    /// An Ethereum account.
    Address,
    /// An installation key.
    Installation,
    /// A passkey.
    Passkey,
}

impl fmt::Display for MemberKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Address => "address",
            Self::Installation => "installation",
            Self::Passkey => "passkey",
        })
    }
}

/// Parses the only address form XMTP v3 signs and stores: `0x` and 40 lowercase hex
/// digits. libxmtp lowercases every address it writes; a mixed-case one would hash to
/// another inbox id and never match a recovered signer, so it is refused outright.
pub(crate) fn parse_lower_address(text: &str) -> Result<Address, Rule> {
    let not_canonical = || Rule::AddressNotLowercase(text.chars().take(64).collect());
    let digits = text.strip_prefix("0x").ok_or_else(not_canonical)?;
    if digits.len() != 40
        || !digits
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(not_canonical());
    }
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(digits, &mut bytes).map_err(|_| not_canonical())?;
    Ok(Address::from_bytes(bytes))
}
