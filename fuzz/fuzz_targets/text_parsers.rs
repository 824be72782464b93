//! Target `text_parsers`: text a user, a file or a peer hands us: Ethereum addresses,
//! BIP-32 paths, `--device` specs and content topics.
//!
//! The input, as UTF-8 (lossily), goes to `xmtp_ledger::identity::Address::from_str`,
//! `xmtp_ledger::device::DerivationPath::from_str`, `xmtp_ledger::device::DeviceSpec::from_str`
//! and `xmtp_ledger::identity::topic::restricted_topic_owner`.
//!
//! Invariants, besides never panicking:
//! - a parsed address re-parses from its EIP-55 form and from its lower-case form to the same
//!   address, and the contact and private-store topics built from it name it as their owner;
//! - a parsed path prints as `m/...` text that parses back to the same path; its APDU
//!   encoding is `count ‖ u32be…` (1 + 4n bytes, 1 ≤ n ≤ 10), which the software device's path
//!   reader (`ledger_app::DerivationPath::read_apdu`) reads back to the same components with
//!   nothing left over;
//! - a parsed device spec prints as text that parses back to the same spec;
//! - a restricted topic's owner is a substring of the topic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmtp_ledger::device::{DerivationPath, DeviceSpec};
use xmtp_ledger::identity::Address;
use xmtp_ledger::identity::topic::{contact_topic, private_store_topic, restricted_topic_owner};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();

    if let Ok(address) = text.parse::<Address>() {
        let checksum = address.to_checksum();
        assert_eq!(
            checksum.parse::<Address>().expect("EIP-55 form parses"),
            address
        );
        assert_eq!(
            checksum
                .to_lowercase()
                .parse::<Address>()
                .expect("lower case parses"),
            address
        );
        assert_eq!(address.to_string(), checksum);
        for topic in [contact_topic(&address), private_store_topic(&address)] {
            assert_eq!(restricted_topic_owner(&topic), Some(checksum.as_str()));
        }
    }

    if let Ok(path) = text.parse::<DerivationPath>() {
        let n = path.components().len();
        assert!((1..=10).contains(&n));
        let printed = path.to_string();
        assert_eq!(
            printed
                .parse::<DerivationPath>()
                .expect("printed path parses"),
            path
        );
        let bytes = path.to_apdu_bytes();
        assert_eq!(bytes.len(), 1 + 4 * n);
        assert_eq!(bytes.len(), path.encoded_len());
        let (device_path, rest) =
            ledger_app::DerivationPath::read_apdu(&bytes).expect("the device reads the path");
        assert_eq!(device_path.components(), path.components());
        assert!(rest.is_empty());
    }

    if let Ok(spec) = text.parse::<DeviceSpec>() {
        assert_eq!(
            spec.to_string().parse::<DeviceSpec>().expect("round trip"),
            spec
        );
    }

    if let Some(owner) = restricted_topic_owner(text) {
        assert!(text.contains(owner));
    }
});
