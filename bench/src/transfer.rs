//! Device traffic: APDUs and HID reports per personal_sign against the minimum any host can use.

use crate::*;

// ----- HID framing (reference ledger-ethereum-app.md §3.2) -----------------------------------

/// Bytes in one HID report.
pub(crate) const HID_REPORT_BYTES: usize = 64;
/// Report header: channel (2) + tag (1) + sequence index (2).
pub(crate) const HID_HEADER_BYTES: usize = 5;
/// The message length prefix, in the first report only.
pub(crate) const HID_LENGTH_PREFIX_BYTES: usize = 2;
/// Payload bytes of the first report of a message (57).
pub(crate) const HID_FIRST_PAYLOAD: usize =
    HID_REPORT_BYTES - HID_HEADER_BYTES - HID_LENGTH_PREFIX_BYTES;
/// Payload bytes of each following report (59).
pub(crate) const HID_NEXT_PAYLOAD: usize = HID_REPORT_BYTES - HID_HEADER_BYTES;
/// Largest data field of one short APDU.
pub(crate) const APDU_MAX_DATA: usize = 255;
/// `CLA INS P1 P2 Lc`.
pub(crate) const APDU_HEADER_BYTES: usize = 5;
/// Status word at the end of every answer.
pub(crate) const SW_BYTES: usize = 2;
/// The final personal_sign answer: `v ‖ r ‖ s`.
pub(crate) const SIGNATURE_BYTES: usize = 65;

/// HID reports carrying one message of `len` bytes (a command APDU, or an answer with its
/// status word): the first carries the 2-byte length and 57 bytes, each next one 59.
pub(crate) fn hid_reports(len: usize) -> usize {
    1 + len
        .saturating_sub(HID_FIRST_PAYLOAD)
        .div_ceil(HID_NEXT_PAYLOAD)
}

/// The fewest APDUs and HID reports (commands + answers) any host can use to have the
/// Ethereum app sign a `message_len`-byte personal message with a `path_len`-byte path:
/// the stream `path ‖ u32 len ‖ message` needs `ceil(stream / 255)` short APDUs; `n` APDUs
/// carry `stream + 7n` bytes of HID messages (APDU header + length prefix each), so at
/// least `ceil((stream + 7n) / 59)` command reports (and one per APDU); every intermediate
/// answer is a bare status word (one report) and the last is the 67-byte signature answer.
pub(crate) fn minimum_transfer(path_len: usize, message_len: usize) -> (usize, usize) {
    let stream = path_len + 4 + message_len;
    let apdus = stream.div_ceil(APDU_MAX_DATA).max(1);
    let per_apdu_overhead = APDU_HEADER_BYTES + HID_LENGTH_PREFIX_BYTES;
    let commands = (stream + per_apdu_overhead * apdus)
        .div_ceil(HID_NEXT_PAYLOAD)
        .max(apdus);
    let answers = (apdus - 1) * hid_reports(SW_BYTES) + hid_reports(SIGNATURE_BYTES + SW_BYTES);
    (apdus, commands + answers)
}

pub(crate) fn measure_device_transfer(rows: &mut Vec<Row>) -> BenchResult<()> {
    let device = device();
    let app = EthApp::from_transport(InProcessTransport::new(Arc::clone(&device)));
    let signer = LedgerSigner::connect(app, path())?;
    let identity = generate_identity(&signer, &mut |_| {})?;
    let texts = [
        (
            "Create Identity",
            identity
                .bundle
                .identity_key()
                .public_key()
                .create_identity_text(),
        ),
        (
            "Enable Identity",
            identity.encrypted_bundle.enable_identity_text(),
        ),
    ];
    let path_len = path().to_apdu_bytes().len();
    let mut init_apdus = 0;
    let mut init_reports = 0;
    for (name, text) in &texts {
        // As sent by the client (the address is cached, so only the signature's APDUs).
        let before = device.apdu_count();
        signer.personal_sign(text)?;
        let sent = usize::try_from(device.apdu_count() - before)?;
        // The same commands again, straight into the device, to see each answer's size.
        let commands = personal_message_apdus(&path(), text.as_bytes())?;
        let mut reports = 0;
        for command in &commands {
            let bytes = command.to_bytes();
            let answer = device.exchange(&bytes);
            reports += hid_reports(bytes.len()) + hid_reports(answer.len());
        }
        if commands.len() != sent {
            return Err(format!(
                "{name}: the client sent {sent} APDUs but the chunking function makes {}",
                commands.len()
            )
            .into());
        }
        let (min_apdus, min_reports) = minimum_transfer(path_len, text.len());
        init_apdus += sent;
        init_reports += reports;
        rows.push(row(
            &format!("personal_sign \"XMTP : {name}\" ({} bytes)", text.len()),
            format!("{sent} APDU, {reports} HID reports"),
            format!(
                "minimum {min_apdus} APDU, {min_reports} HID reports (stream {} bytes: path {path_len} + length 4 + text; 64-byte reports, 5-byte header, 2-byte length in the first)",
                path_len + 4 + text.len()
            ),
        ));
    }
    // The address read of a fresh run.
    let address = [0xE0, 0x02, 0x00, 0x00, u8::try_from(path_len)?]
        .into_iter()
        .chain(path().to_apdu_bytes())
        .collect::<Vec<u8>>();
    let answer = device.exchange(&address);
    let address_reports = hid_reports(address.len()) + hid_reports(answer.len());
    rows.push(row(
        "whole init on the device",
        format!(
            "{} APDUs, {} HID reports",
            init_apdus + 1,
            init_reports + address_reports
        ),
        format!(
            "GET ETH PUBLIC ADDRESS ({address_reports} reports) + the two signatures{}",
            if init_apdus == texts.len() {
                "; each text fits one APDU"
            } else {
                ""
            }
        ),
    ));
    Ok(())
}
