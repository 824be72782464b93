//! The account on the software device, called in-process through real APDU framing, for
//! tests of the session layer against a real node ([`super::node::BlockingHarness`]).

use std::cell::Cell;
use std::sync::Arc;

use ledger_app::screen::reviewed_message;
use ledger_app::{ApprovalPolicy, SoftwareDevice};

use xmtp_ledger::device::{
    DerivationPath, DeviceError, DeviceErrorKind, EthApp, InProcessTransport, LedgerSigner,
};
use xmtp_ledger::flow::FlowError;
use xmtp_ledger::identity::{Address, WalletSignature, topic};
use xmtp_ledger::network::{Query, auth_token_now};
use xmtp_ledger::session::SessionError;
use xmtp_ledger::signer::Signer;
use xmtp_ledger::wire::Publication;

use super::node::BlockingHarness;

/// Every envelope on `wallet`'s two topics, oldest first.
pub fn envelopes_of(rig: &BlockingHarness, wallet: &Address) -> Vec<Vec<u8>> {
    let topics = [
        topic::private_store_topic(wallet),
        topic::contact_topic(wallet),
    ];
    let mut pages = rig.client.pages(Query::topics(topics).ascending());
    let mut all = Vec::new();
    while let Some(page) = pages.next_page().expect("query") {
        all.extend(page.into_iter().map(|e| e.message));
    }
    all
}

/// The account on the software device, called in-process through real APDU framing
/// (`--device emulator`), counting the signatures it is asked for. Its person approves
/// every review unless told to reject those whose message contains a text.
pub struct Wallet {
    pub device: Arc<SoftwareDevice>,
    pub signer: LedgerSigner,
    asked: Cell<usize>,
}

impl Wallet {
    pub fn new() -> Self {
        let device = Arc::new(SoftwareDevice::with_test_mnemonic());
        let app = EthApp::from_transport(InProcessTransport::new(Arc::clone(&device)));
        let path = DerivationPath::ledger_live(0).expect("path");
        let signer = LedgerSigner::connect(app, path).expect("signer");
        Self {
            device,
            signer,
            asked: Cell::new(0),
        }
    }

    /// From now on, reviews whose message contains `text` are rejected on the device.
    pub fn reject_containing(&self, text: &'static str) {
        self.device
            .set_approval(ApprovalPolicy::ask(move |screens| {
                !reviewed_message(screens).is_some_and(|message| message.contains(text))
            }));
    }

    pub fn asked(&self) -> usize {
        self.asked.get()
    }
}

impl Signer for Wallet {
    type Error = DeviceError;

    fn address(&self) -> Address {
        self.signer.address()
    }

    fn personal_sign(&self, text: &str) -> Result<WalletSignature, DeviceError> {
        self.asked.set(self.asked.get() + 1);
        self.signer.personal_sign(text)
    }
}

/// The session failed because the person rejected on the device.
pub fn rejected(error: &SessionError<DeviceError>) -> bool {
    matches!(error, SessionError::Flow(FlowError::Signer(e)) if e.kind() == DeviceErrorKind::Rejected)
}

pub const CREATE: &str = "XMTP : Create Identity";
pub const ENABLE: &str = "XMTP : Enable Identity";

pub fn identity_key(bundle: &xmtp_ledger::identity::PrivateKeyBundleV1) -> Vec<u8> {
    bundle.identity_key().public_key().point().to_vec()
}

/// Publishes `publications` with `bundle`'s token, as an earlier run (or another tool)
/// would have.
pub fn publish_raw(
    rig: &BlockingHarness,
    bundle: &xmtp_ledger::identity::PrivateKeyBundleV1,
    publications: &[Publication],
) {
    let token = auth_token_now(bundle.identity_key()).expect("token");
    rig.client
        .publish_publications(&token, publications)
        .expect("publish");
}
