//! Property tests: whatever bytes a device or socket sends, parsing returns a value or a typed
//! error, never panics, and a signature is only ever accepted (by `signer::sign_verified`) when
//! it verifies.

use std::io::Cursor;

use proptest::prelude::*;
use xmtp_ledger::device::tcp::read_reply;
use xmtp_ledger::device::{
    AddressOptions, ApduAnswer, ApduCommand, DerivationPath, DeviceError, EthApp, Transport,
};
use xmtp_ledger::identity::{Address, WalletSignature};
use xmtp_ledger::signer::{Signer, sign_verified};

/// A device that answers every command with the same raw bytes (`data || SW`).
struct Raw(Vec<u8>);

impl Transport for Raw {
    fn exchange(&self, _: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        ApduAnswer::from_bytes(&self.0)
    }
}

/// Account 0 of the test mnemonic at `m/44'/60'/0'/0/0`, over `app`: a signer whose address is
/// known, as `LedgerSigner` knows it after reading it.
struct Account0 {
    app: EthApp,
    path: DerivationPath,
}

impl Signer for Account0 {
    type Error = DeviceError;

    fn address(&self) -> Address {
        account()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, DeviceError> {
        self.app.sign_personal_message(&self.path, text.as_bytes())
    }
}

fn account() -> Address {
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        .parse()
        .unwrap()
}

proptest! {
    #[test]
    fn answers_keep_data_and_status_word(raw in proptest::collection::vec(any::<u8>(), 0..300)) {
        match ApduAnswer::from_bytes(&raw) {
            Ok(answer) => {
                prop_assert!(raw.len() >= 2);
                prop_assert_eq!(answer.data(), &raw[..raw.len() - 2]);
                prop_assert_eq!(answer.status(), u16::from_be_bytes([raw[raw.len() - 2], raw[raw.len() - 1]]));
            }
            Err(error) => {
                prop_assert!(raw.len() < 2);
                let is_malformed = matches!(error, DeviceError::Malformed { .. });
                prop_assert!(is_malformed);
            }
        }
    }

    #[test]
    fn socket_frames_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = read_reply(&mut Cursor::new(raw));
    }

    #[test]
    fn client_parsers_never_panic_and_never_sign_for_garbage(
        data in proptest::collection::vec(any::<u8>(), 0..160),
        status in prop_oneof![Just(0x9000u16), any::<u16>()],
    ) {
        let mut raw = data;
        raw.extend_from_slice(&status.to_be_bytes());
        let app = EthApp::from_transport(Raw(raw));
        let path = DerivationPath::ledger_live(0).unwrap();
        let _ = app.app_configuration();
        let _ = app.app_and_version();
        let _ = app.status();
        let _ = app.get_address(&path, AddressOptions { confirm: false, chain_code: true });
        // Random bytes are never a valid signature of this account over this message.
        let signer = Account0 { app: app.clone(), path };
        prop_assert!(sign_verified(&signer, "message").is_err());
        // A status word other than 9000 always surfaces as that status word.
        if status != 0x9000 {
            let error = app.app_configuration().unwrap_err();
            prop_assert_eq!(error.status_word(), Some(status));
        }
    }

    #[test]
    fn path_text_round_trips(components in proptest::collection::vec(any::<u32>(), 1..=10)) {
        let path = DerivationPath::new(components.clone()).unwrap();
        let parsed: DerivationPath = path.to_string().parse().unwrap();
        prop_assert_eq!(parsed.components(), &components[..]);
        let bytes = path.to_apdu_bytes();
        prop_assert_eq!(bytes.len(), 1 + 4 * components.len());
        prop_assert_eq!(usize::from(bytes[0]), components.len());
    }

    #[test]
    fn path_parser_never_panics(text in "\\PC{0,40}") {
        let _ = text.parse::<DerivationPath>();
    }
}
