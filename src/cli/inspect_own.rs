//! `inspect` of the tool's own files: `identity.json` (the public description `init --out`
//! writes) and the whole directory `init --out` writes, checked against each other.

use std::path::Path;

use serde::Deserialize;

use super::artefact::{Report, inspect};
use super::error::CliError;
use super::input::{decode_flexible, read_input};
use super::out_dir::{CONTACT_V1, CONTACT_V2, IDENTITY_JSON, PRIVATE_STORE};
use xmtp_ledger::identity::{Address, fingerprint, topic};

const MAX_FILE_BYTES: u64 = 1 << 20;

/// `identity.json` as `init --out` and `IdentityOutput` write it.
#[derive(Debug, Deserialize)]
struct Description {
    address: String,
    hd_path: String,
    identity_public_key: String,
    #[serde(default)]
    identity_fingerprint: Option<String>,
    pre_key_public_keys: Vec<String>,
    contact_topic: String,
    private_store_topic: String,
}

/// A report for `raw` if it is an `identity.json`; `None` for anything else.
pub fn description_report(raw: &[u8]) -> Option<Report> {
    let description: Description = serde_json::from_slice(raw).ok()?;
    let mut report = Report::new("identity_json");
    check_description(&description, &mut report);
    report.valid = report.problems.is_empty();
    report.notes.push(
        "identity.json describes an identity but proves nothing: the signatures are in the \
         contact bundles beside it (inspect the directory)"
            .into(),
    );
    Some(report)
}

/// Fills `report` from `description`, with a problem for each field that does not parse
/// or does not agree with the others.
fn check_description(description: &Description, report: &mut Report) {
    match description.address.parse::<Address>() {
        Ok(wallet) => {
            report.wallet_address = Some(wallet.to_string());
            if description.contact_topic != topic::contact_topic(&wallet)
                || description.private_store_topic != topic::private_store_topic(&wallet)
            {
                report
                    .problems
                    .push("its topics are not those of its address".into());
            }
        }
        Err(e) => report.problems.push(format!("address: {e}")),
    }
    if description
        .hd_path
        .parse::<xmtp_ledger::device::DerivationPath>()
        .is_err()
    {
        report
            .problems
            .push(format!("hd_path {:?} is not a path", description.hd_path));
    }
    match point(&description.identity_public_key) {
        Some(identity) => {
            report.identity_public_key = Some(hex::encode(identity));
            report.identity_fingerprint = Some(fingerprint(&identity));
            if let Some(stated) = &description.identity_fingerprint
                && *stated != fingerprint(&identity)
            {
                report
                    .problems
                    .push("identity_fingerprint is not the identity key's".into());
            }
        }
        None => report
            .problems
            .push("identity_public_key is not a secp256k1 public key".into()),
    }
    if description.pre_key_public_keys.is_empty() {
        report.problems.push("it lists no pre-key".into());
    }
    for key in &description.pre_key_public_keys {
        if point(key).is_none() {
            report
                .problems
                .push(format!("pre-key {key:.16}… is not a secp256k1 public key"));
        }
    }
    report.pre_key_public_key = description.pre_key_public_keys.first().cloned();
}

/// The 65-byte uncompressed point `text` (hex) holds, if it is one on the curve.
fn point(text: &str) -> Option<[u8; 65]> {
    let bytes: [u8; 65] = hex::decode(text).ok()?.try_into().ok()?;
    (bytes[0] == 0x04 && k256::PublicKey::from_sec1_bytes(&bytes).is_ok()).then_some(bytes)
}

/// The report for a directory `init --out` wrote: each file checked, then the files
/// against each other (the contacts name the keys and wallet `identity.json` describes).
/// That the private store holds those keys needs the device: `publish` checks it.
pub fn directory_report(dir: &Path) -> Result<Report, CliError> {
    let read = |name: &str| -> Result<Option<Vec<u8>>, CliError> {
        let path = dir.join(name);
        match read_input(&path, MAX_FILE_BYTES) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(CliError::io(format!("reading {}", path.display()))(e)),
        }
    };
    let mut report = Report::new("init_out_dir");
    let mut missing = Vec::new();

    let description = match read(IDENTITY_JSON)? {
        Some(raw) => match serde_json::from_slice::<Description>(&raw) {
            Ok(description) => {
                check_description(&description, &mut report);
                Some(description)
            }
            Err(e) => {
                report.problems.push(format!(
                    "{IDENTITY_JSON}: not what `init --out` writes: {e}"
                ));
                None
            }
        },
        None => {
            missing.push(IDENTITY_JSON);
            None
        }
    };
    for name in [CONTACT_V1, CONTACT_V2] {
        let Some(raw) = read(name)? else {
            missing.push(name);
            continue;
        };
        let file = inspect(&decode_flexible(raw).bytes, false);
        let expected_kind = if name == CONTACT_V1 {
            "contact_bundle_v1"
        } else {
            "contact_bundle_v2"
        };
        if file.kind != expected_kind {
            report
                .problems
                .push(format!("{name}: a {}, not a {expected_kind}", file.kind));
        }
        report
            .problems
            .extend(file.problems.iter().map(|p| format!("{name}: {p}")));
        let agrees = |ours: &Option<String>, theirs: &Option<String>| {
            ours.is_none() || theirs.is_none() || ours == theirs
        };
        if !agrees(&report.wallet_address, &file.wallet_address) {
            report.problems.push(format!(
                "{name} was signed by {}, but {IDENTITY_JSON} names {}",
                file.wallet_address.as_deref().unwrap_or("?"),
                report.wallet_address.as_deref().unwrap_or("?")
            ));
        }
        if !agrees(&report.identity_public_key, &file.identity_public_key)
            || !agrees(&report.pre_key_public_key, &file.pre_key_public_key)
        {
            report.problems.push(format!(
                "{name} names other keys than {IDENTITY_JSON} and the other contact"
            ));
        }
        report.wallet_address = report.wallet_address.take().or(file.wallet_address);
        report.identity_public_key = report
            .identity_public_key
            .take()
            .or(file.identity_public_key);
        report.identity_fingerprint = report
            .identity_fingerprint
            .take()
            .or(file.identity_fingerprint);
        report.pre_key_public_key = report.pre_key_public_key.take().or(file.pre_key_public_key);
    }
    match read(PRIVATE_STORE)? {
        Some(raw) => {
            let file = inspect(&decode_flexible(raw).bytes, false);
            if file.kind != "encrypted_private_key_bundle" {
                report.problems.push(format!(
                    "{PRIVATE_STORE}: a {}, not an encrypted private key bundle",
                    file.kind
                ));
            }
        }
        None => missing.push(PRIVATE_STORE),
    }
    if !missing.is_empty() {
        report.problems.push(format!(
            "missing {} (is this a directory `init --out` wrote?)",
            missing.join(", ")
        ));
    }
    if description.is_some() {
        report.notes.push(format!(
            "{PRIVATE_STORE} is encrypted: that it holds these keys is checked by \
             `xmtp-ledger publish {}` with the device",
            dir.display()
        ));
    }
    report.valid = report.problems.is_empty();
    Ok(report)
}
