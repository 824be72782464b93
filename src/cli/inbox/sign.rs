//! `inbox sign [--text-file FILE|-]`: the Ledger as the signer of any libxmtp app.

use std::path::Path;

use serde::Serialize;

use super::super::args::GlobalArgs;
use super::super::context::open_signer;
use super::super::error::CliError;
use super::super::input::read_input;
use super::super::progress::FlowProgress;
use super::super::ui::Ui;
use super::error::inbox_error;
use super::output::ActionOutput;
use xmtp_ledger::session::inbox::sign_text;
use xmtp_ledger::v3::{MAX_TEXT_BYTES, SignatureText, TextError};

#[derive(Serialize)]
struct SignOutput {
    address: String,
    inbox_id: String,
    signature: String,
    actions: Vec<ActionOutput>,
}

/// Reads an "XMTP : Authenticate to inbox" text, shows its actions, has the device sign
/// it, verifies the signature and prints it (`0x` + 130 hex digits) alone on stdout.
pub fn run(global: &GlobalArgs, ui: &Ui, text_file: &Path) -> Result<(), CliError> {
    let raw = read_input(text_file, MAX_TEXT_BYTES as u64 + 1)
        .map_err(CliError::io(format!("reading {}", text_file.display())))?;
    let text = String::from_utf8(raw).map_err(|_| {
        CliError::Usage("refused: the text is not UTF-8; nothing was sent to the device".into())
    })?;
    // Refused before the device is opened: a wrong text never reaches it.
    let parsed: SignatureText = text
        .parse()
        .map_err(|e: TextError| inbox_error(e.into(), None))?;
    let signer = open_signer(global, ui)?;
    let mut progress = FlowProgress::new(ui);
    let signed =
        sign_text(&signer, parsed, &mut |e| progress.on(e)).map_err(|e| inbox_error(e, None))?;
    progress.done();
    let output = SignOutput {
        address: signed.address.to_string(),
        inbox_id: signed.text.inbox_id.to_string(),
        signature: format!("0x{}", hex::encode(signed.signature.as_bytes())),
        actions: signed.text.actions.iter().map(ActionOutput::new).collect(),
    };
    ui.result(&output, || output.signature.clone());
    Ok(())
}
