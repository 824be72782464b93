//! `verify ADDRESS`: is there a valid XMTP identity for ADDRESS on the node?

use sha2::{Digest, Sha256};

use super::args::GlobalArgs;
use super::error::CliError;
use super::inspect::{Report, contact_report};
use super::node_access::{self, newest_valid_contact};
use super::ui::Ui;
use xmtp_ledger::identity::Address;

/// Runs `verify`; exit 0 only for a valid identity.
pub fn run(global: &GlobalArgs, ui: &Ui, address: &str) -> Result<(), CliError> {
    let wallet: Address = address
        .parse()
        .map_err(|e| CliError::Usage(format!("{e}")))?;
    let runtime = node_access::runtime()?;
    let network = node_access::open(global, ui, &runtime)?;
    let (found, problems) = runtime.block_on(newest_valid_contact(network.client(), &wallet))?;
    runtime.block_on(network.shutdown())?;

    let report = match &found {
        Some((contact, _)) => {
            let mut report = contact_report(contact);
            report.problems.extend(problems);
            report
        }
        None => {
            let mut problems = problems;
            problems.insert(
                0,
                format!("no valid contact bundle for {wallet} on the node"),
            );
            Report {
                kind: "contact_bundle",
                valid: false,
                wallet_address: Some(wallet.to_string()),
                identity_public_key: None,
                pre_key_public_key: None,
                problems,
            }
        }
    };
    ui.result(&report, || match &found {
        Some((_, verified)) => format!(
            "{} has a valid XMTP identity (contact bundle v{})\n  identity key   {}\n  fingerprint    {}",
            verified.wallet_address,
            verified.version,
            hex::encode(verified.identity_public_key),
            fingerprint(&verified.identity_public_key),
        ),
        None => format!("{wallet} has no valid XMTP identity: {}", report.problems.join("; ")),
    });
    if report.valid {
        Ok(())
    } else {
        Err(CliError::Verification(format!(
            "no valid XMTP identity for {wallet}"
        )))
    }
}

/// A short form of the identity key to compare by eye: SHA-256, first 16 bytes, in groups.
fn fingerprint(identity_public_key: &[u8; 65]) -> String {
    let digest = Sha256::digest(identity_public_key);
    digest[..16]
        .chunks(2)
        .map(hex::encode)
        .collect::<Vec<_>>()
        .join(":")
}
