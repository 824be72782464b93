//! `inspect FILE|DIR|-`: decode and check any XMTP v2 key artefact, or the tool's own
//! files, without a device or node.

use std::path::Path;

use super::artefact::{Report, inspect};
use super::error::CliError;
use super::input::{decode_flexible, read_input};
use super::inspect_own;
use super::ui::Ui;
use xmtp_ledger::identity::Address;

/// Runs `inspect FILE|DIR|-`: exit 0 when every check passes, 4 otherwise (also when
/// `expect_address` is given and the artefact names another wallet, or none that can be
/// checked without the device).
pub fn run(ui: &Ui, input: &Path, expect_address: Option<&str>) -> Result<(), CliError> {
    const MAX_INPUT_BYTES: u64 = 4 << 20;
    let expected: Option<Address> = expect_address
        .map(|text| {
            text.parse()
                .map_err(|e| CliError::Usage(format!("--expect-address: {e}")))
        })
        .transpose()?;
    let mut report = if input != Path::new("-") && input.is_dir() {
        inspect_own::directory_report(input)?
    } else {
        let raw = read_input(input, MAX_INPUT_BYTES)
            .map_err(CliError::io(format!("reading {}", input.display())))?;
        match inspect_own::description_report(&raw) {
            Some(report) => report,
            None => {
                let decoded = decode_flexible(raw);
                inspect(&decoded.bytes, decoded.bearer)
            }
        }
    };
    if let Some(expected) = expected {
        check_expected_wallet(&mut report, &expected);
    }
    ui.result(&report, || human(&report));
    if report.valid {
        Ok(())
    } else {
        Err(CliError::Verification(format!(
            "{} does not check out",
            input.display()
        )))
    }
}

/// Makes the report invalid unless it names `expected` as its wallet.
fn check_expected_wallet(report: &mut Report, expected: &Address) {
    let problem = match &report.wallet_address {
        Some(found) if *found == expected.to_string() => return,
        Some(found) => format!("names wallet {found}, not the expected {expected}"),
        None => format!(
            "names no wallet that can be checked against {expected} without the device \
             (an encrypted bundle: `xmtp-ledger unlock --from-file` opens it)"
        ),
    };
    report.problems.push(problem);
    report.valid = false;
}

/// The report for a person: kind and verdict, the keys, then problems and notes apart.
fn human(report: &Report) -> String {
    let mut lines = vec![format!(
        "{}: {}",
        report.kind,
        if report.valid { "valid" } else { "INVALID" }
    )];
    let fields = [
        ("wallet", &report.wallet_address),
        ("identity key", &report.identity_public_key),
        ("fingerprint", &report.identity_fingerprint),
        ("pre-key", &report.pre_key_public_key),
    ];
    for (name, value) in fields {
        if let Some(value) = value {
            lines.push(format!("  {name:<13}{value}"));
        }
    }
    if let Some(pre_keys) = &report.pre_key_public_keys {
        lines.push(format!(
            "  pre-keys     {} held, newest first; its contact bundle names the first",
            pre_keys.len()
        ));
        lines.extend(
            pre_keys
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, key)| format!("  older #{i:<6}{key}")),
        );
    }
    lines.extend(report.problems.iter().map(|p| format!("  problem: {p}")));
    lines.extend(report.notes.iter().map(|n| format!("  note: {n}")));
    lines.join("\n")
}
