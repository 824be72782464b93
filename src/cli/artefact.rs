//! What an XMTP v2 key artefact is and whether it checks out, from its bytes alone: the
//! report `inspect` and `verify` print.

use prost::Message;
use serde::Serialize;

use xmtp_ledger::identity::{
    Address, ContactBundle, IdentityError, PrivateKeyBundleV1, PublicKeyV1, SignedPublicKey,
};
use xmtp_ledger::identity::{auth, fingerprint};
use xmtp_ledger::keystore::EncryptedBundle;

/// The result of inspecting (or verifying) one artefact; also the `--json` contract.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Report {
    /// What the bytes are, e.g. `contact_bundle_v2`.
    pub kind: &'static str,
    /// Every signature that can be checked without a device checks out.
    pub valid: bool,
    /// The wallet that signed the identity key, EIP-55.
    pub wallet_address: Option<String>,
    /// The identity key, 65-byte uncompressed, lowercase hex.
    pub identity_public_key: Option<String>,
    /// The identity key's fingerprint (see [`fingerprint`]), to compare by eye.
    pub identity_fingerprint: Option<String>,
    /// The (current) pre-key, 65-byte uncompressed, lowercase hex: the one a contact
    /// bundle names.
    pub pre_key_public_key: Option<String>,
    /// For a private key bundle: every pre-key it holds, newest (current) first (the
    /// older ones are kept to read messages sealed to them before a rotation); `null`
    /// for anything else.
    pub pre_key_public_keys: Option<Vec<String>>,
    /// What is wrong, for a person to read: any problem makes the report invalid.
    pub problems: Vec<String>,
    /// What is worth knowing but not wrong (e.g. that a file holds private keys).
    pub notes: Vec<String>,
}

impl Report {
    /// An empty, invalid report of `kind`.
    pub fn new(kind: &'static str) -> Self {
        Self {
            kind,
            valid: false,
            wallet_address: None,
            identity_public_key: None,
            identity_fingerprint: None,
            pre_key_public_key: None,
            pre_key_public_keys: None,
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// Recognises and checks the bytes. Kinds are tried from the most to the least
/// constrained encoding, because protobuf decoding alone accepts many byte strings.
pub fn inspect(bytes: &[u8], bearer: bool) -> Report {
    if !bearer {
        if let Ok(encrypted) = EncryptedBundle::decode(bytes) {
            let mut report = Report::new("encrypted_private_key_bundle");
            report.valid = true;
            report.notes.push(format!(
                "encrypted: `xmtp-ledger unlock --from-file` decrypts it with the wallet that \
                 signs \"XMTP : Enable Identity\" for wallet pre-key {}",
                hex::encode(encrypted.wallet_pre_key)
            ));
            return report;
        }
        if let Ok(bundle) = PrivateKeyBundleV1::decode(bytes) {
            let mut report = Report::new("private_key_bundle");
            report.identity_public_key =
                Some(hex::encode(bundle.identity_key().public_key().point()));
            report.identity_fingerprint =
                Some(fingerprint(bundle.identity_key().public_key().point()));
            report.pre_key_public_key =
                Some(hex::encode(bundle.current_pre_key().public_key().point()));
            report.pre_key_public_keys = Some(
                bundle
                    .pre_keys()
                    .iter()
                    .map(|key| hex::encode(key.public_key().point()))
                    .collect(),
            );
            match bundle.verify() {
                Ok(wallet) => {
                    report.valid = true;
                    report.wallet_address = Some(wallet.to_string());
                }
                Err(e) => report.problems.push(e.to_string()),
            }
            report
                .notes
                .push("this file holds PRIVATE keys in clear: keep it secret or delete it".into());
            return report;
        }
        match ContactBundle::decode(bytes) {
            Ok(contact) => return contact_report(&contact),
            // The shape of a contact bundle, with a key inside that does not decode: say
            // so, rather than "not a contact bundle".
            Err(e) => {
                if let Some(kind) = contact_shape(bytes) {
                    let mut report = Report::new(kind);
                    report
                        .problems
                        .push(format!("a key inside does not decode: {e}"));
                    return report;
                }
            }
        }
        if private_bundle_shape(bytes)
            && let Err(e) = PrivateKeyBundleV1::decode(bytes)
        {
            let mut report = Report::new("private_key_bundle");
            report
                .problems
                .push(format!("a key inside does not decode: {e}"));
            report.notes.push(
                "this file may hold PRIVATE keys in clear: keep it secret or delete it".into(),
            );
            return report;
        }
    }
    if let Ok(verified) = auth::verify_token_bytes(
        bytes,
        0,
        auth::TokenPolicy {
            // Offline inspection checks signatures, not age: an old token is still well formed.
            max_age: std::time::Duration::MAX,
            max_future_skew: std::time::Duration::MAX,
        },
    ) {
        let mut report = Report::new("auth_token");
        report.valid = true;
        report.wallet_address = Some(verified.wallet.to_string());
        report.identity_public_key = Some(hex::encode(verified.identity_key.point()));
        report.identity_fingerprint = Some(fingerprint(verified.identity_key.point()));
        return report;
    }
    if let Ok(key) = SignedPublicKey::decode(bytes) {
        return identity_key_report("signed_public_key_v2", key.point(), key.wallet_address());
    }
    if let Ok(key) = PublicKeyV1::decode(bytes) {
        return identity_key_report("signed_public_key_v1", key.point(), key.wallet_address());
    }
    let mut report = Report::new("unknown");
    report.problems.push(
        "not a contact bundle, signed public key, private key bundle, encrypted private key \
         bundle or auth token"
            .into(),
    );
    report
}

/// The kind of contact bundle `bytes` are shaped as: a `ContactBundle` whose version
/// holds a key bundle with both keys present (whether or not the keys decode).
fn contact_shape(bytes: &[u8]) -> Option<&'static str> {
    use xmtp_ledger::proto::message_contents as pb;
    match pb::ContactBundle::decode(bytes).ok()?.version? {
        pb::contact_bundle::Version::V1(v1) => {
            let keys = v1.key_bundle?;
            (keys.identity_key.is_some() && keys.pre_key.is_some()).then_some("contact_bundle_v1")
        }
        pb::contact_bundle::Version::V2(v2) => {
            let keys = v2.key_bundle?;
            (keys.identity_key.is_some() && keys.pre_key.is_some()).then_some("contact_bundle_v2")
        }
    }
}

/// Whether `bytes` are shaped as a `PrivateKeyBundle{v1}` with an identity key and at
/// least one pre-key (whether or not the keys decode).
fn private_bundle_shape(bytes: &[u8]) -> bool {
    use xmtp_ledger::proto::message_contents as pb;
    let Ok(mut bundle) = pb::PrivateKeyBundle::decode(bytes) else {
        return false;
    };
    let shaped = matches!(
        &bundle.version,
        Some(pb::private_key_bundle::Version::V1(v1))
            if v1.identity_key.is_some() && !v1.pre_keys.is_empty()
    );
    // The decoded copy may hold private scalars.
    if let Some(pb::private_key_bundle::Version::V1(v1)) = &mut bundle.version {
        for key in v1.identity_key.iter_mut().chain(v1.pre_keys.iter_mut()) {
            if let Some(pb::private_key::Union::Secp256k1(secret)) = &mut key.union {
                zeroize::Zeroize::zeroize(&mut secret.bytes);
            }
        }
    }
    shaped
}

/// The report for a single identity key: valid when its wallet signature recovers.
fn identity_key_report(
    kind: &'static str,
    point: &[u8; 65],
    wallet: Result<Address, IdentityError>,
) -> Report {
    let mut report = Report::new(kind);
    report.identity_public_key = Some(hex::encode(point));
    report.identity_fingerprint = Some(fingerprint(point));
    match wallet {
        Ok(wallet) => {
            report.valid = true;
            report.wallet_address = Some(wallet.to_string());
        }
        Err(e) => report
            .problems
            .push(format!("not a wallet-signed identity key: {e}")),
    }
    report
}

/// The report for a contact bundle: decoded, then every signature checked.
pub fn contact_report(contact: &ContactBundle) -> Report {
    let (kind, identity, pre_key) = match contact {
        ContactBundle::V1(b) => (
            "contact_bundle_v1",
            *b.identity_key.point(),
            *b.pre_key.point(),
        ),
        ContactBundle::V2(b) => (
            "contact_bundle_v2",
            *b.identity_key.point(),
            *b.pre_key.point(),
        ),
    };
    let mut report = Report::new(kind);
    report.identity_public_key = Some(hex::encode(identity));
    report.identity_fingerprint = Some(fingerprint(&identity));
    report.pre_key_public_key = Some(hex::encode(pre_key));
    match contact.verify() {
        Ok(verified) => {
            report.valid = true;
            report.wallet_address = Some(verified.wallet_address.to_string());
        }
        Err(e) => report.problems.push(e.to_string()),
    }
    report
}
