//! Known-answer tests: the bytes a real Ethereum app (1.22.0, Speculos) gives, reproduced over
//! the APDU interface.

mod common;

use common::*;
use ledger_app::{AppVersion, DeviceConfig, SPECULOS_MNEMONIC, SoftwareDevice};

fn speculos_device() -> SoftwareDevice {
    SoftwareDevice::new(DeviceConfig::new(SPECULOS_MNEMONIC)).unwrap()
}

#[test]
fn app_configuration_is_1_22_0_without_blind_signing() {
    let device = SoftwareDevice::with_test_mnemonic();
    assert_eq!(
        device.exchange(&app_config()),
        [0x02, 0x01, 0x16, 0x00, 0x90, 0x00]
    );
    // The 4-byte form without Lc is accepted too.
    assert_eq!(
        device.exchange(&[0xE0, 0x06, 0x00, 0x00]),
        [0x02, 0x01, 0x16, 0x00, 0x90, 0x00]
    );

    device.set_blind_signing(true);
    device.set_app_version(AppVersion::new(1, 20, 3));
    assert_eq!(
        device.exchange(&app_config()),
        [0x03, 0x01, 0x14, 0x03, 0x90, 0x00]
    );
}

#[test]
fn app_and_version_names_the_ethereum_app() {
    let device = SoftwareDevice::with_test_mnemonic();
    let answer = device.exchange(&[0xB0, 0x01, 0x00, 0x00]);
    let mut expected = vec![0x01, 8];
    expected.extend_from_slice(b"Ethereum");
    expected.push(6);
    expected.extend_from_slice(b"1.22.0");
    expected.extend_from_slice(&[0x01, 0x00, 0x90, 0x00]);
    assert_eq!(answer, expected);
}

#[test]
fn test_mnemonic_account_0_is_the_hardhat_address() {
    let device = SoftwareDevice::with_test_mnemonic();
    let answer = device.exchange(&get_address(&path("m/44'/60'/0'/0/0"), false, false));
    assert_eq!(sw(&answer), 0x9000);
    let data = data(&answer);
    assert_eq!(data.len(), 107, "no chain code requested");
    assert_eq!(data[0], 65);
    assert_eq!(data[1], 0x04, "uncompressed point");
    assert_eq!(data[66], 40);
    assert_eq!(&data[67..], b"f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
}

#[test]
fn xmtp_create_identity_signature_matches_the_observed_device_answer() {
    let device = SoftwareDevice::with_test_mnemonic();
    let vrs = sign(&device, &path("m/44'/60'/0'/0/0"), XMTP_TEXT.as_bytes());
    assert_eq!(vrs[0], 28);
    let mut rsv = vrs[1..].to_vec();
    rsv.push(vrs[0]);
    assert_eq!(
        hex::encode(rsv),
        "5c18e354ed7466546ee23bc6d8d40142079ad930d88e05019c60a0ed200618ac\
         23485508048e94a4399373821e124147447ed304e451669ea2355e373fb33b37\
         1c"
    );
}

#[test]
fn direct_signing_matches_the_apdu_answer() {
    let device = SoftwareDevice::with_test_mnemonic();
    let p = path("m/44'/60'/2'/0/0");
    let over_apdus = sign(&device, &p, XMTP_TEXT.as_bytes());
    let direct = device
        .sign_personal_message(&p, XMTP_TEXT.as_bytes())
        .unwrap();
    assert_eq!(over_apdus, direct);
    assert_eq!(device.apdu_count(), 1, "direct signing sends no APDU");
}

#[test]
fn speculos_default_seed_addresses() {
    let device = speculos_device();
    for (p, expected) in [
        (
            "m/44'/60'/0'/0/0",
            "Dad77910DbDFdE764fC21FCD4E74D71bBACA6D8D",
        ),
        (
            "m/44'/60'/1'/0/0",
            "463e4e114AA57F54f2Fd2C3ec03572C6f75d84C2",
        ),
        ("m/44'/60'/0'/0", "fe984369CE3919aA7Bb4f431082D027b4f8ed70c"),
        ("m/44'/60'/0'/1", "bf868c9926bC3ed99417a7AFD96f75Ef6736aF89"),
    ] {
        let answer = device.exchange(&get_address(&path(p), false, false));
        assert_eq!(sw(&answer), 0x9000, "{p}");
        assert_eq!(&data(&answer)[67..], expected.as_bytes(), "{p}");
        assert_eq!(device.address(&path(p)).unwrap(), format!("0x{expected}"));
    }
}

#[test]
fn speculos_public_key_and_chain_code() {
    let device = speculos_device();
    let answer = device.exchange(&get_address(&path("m/44'/60'/0'/0/0"), false, true));
    assert_eq!(sw(&answer), 0x9000);
    let data = data(&answer);
    assert_eq!(data.len(), 139);
    assert_eq!(
        hex::encode(&data[1..66]),
        "04ef5b152e3f15eb0c50c9916161c2309e54bd87b9adce722d69716bcdef85f547\
         678e15ab40a78919c7284e67a17ee9a96e8b9886b60f767d93023bac8dbc16e4"
    );
    assert_eq!(
        hex::encode(&data[107..]),
        "428489ee70680fa137392bc8399c4da9e39e92f058eb9e790f736142bba7e9d6"
    );
}

#[test]
fn speculos_hello_signature() {
    let device = speculos_device();
    let vrs = sign(&device, &path("m/44'/60'/0'/0/0"), b"hello");
    assert_eq!(
        hex::encode(&vrs),
        "1c\
         78102957e4f0af2335932abce078c918b6a5d616a7fc420ce4dee18d5b87fb20\
         59eefea29646b134dee818e27a4d9dce1c1cb08f2015621989bc9585191183ad"
    );
}

#[test]
fn speculos_app_test_message_signature() {
    let device = speculos_device();
    let vrs = sign(
        &device,
        &path("m/44'/60'/0'/0/0"),
        b"Example `personal_sign` message",
    );
    assert_eq!(
        hex::encode(&vrs),
        "1c\
         916099cf0d9c21911c85f0770a47a9696a8189e78c259cf099749748c507baae\
         0d72234bc0ac2e94c5f7a5f4f9cd8610a52be4ea55515a85b9703f1bb158415c"
    );
}

#[test]
fn signatures_are_low_s_and_recover_to_the_device_address() {
    let device = SoftwareDevice::with_test_mnemonic();
    // secp256k1 n / 2.
    let half_n =
        hex::decode("7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0").unwrap();
    let account = path("m/44'/60'/3'/0/0");
    let expected = device.address(&account).unwrap().to_lowercase();
    for i in 0..40u32 {
        let message = format!("message number {i}");
        let vrs = sign(&device, &account, message.as_bytes());
        assert!(vrs[0] == 27 || vrs[0] == 28, "v = {}", vrs[0]);
        assert!(vrs[33..65] <= half_n[..], "high s for {message:?}");
        assert_eq!(
            recover_address(message.as_bytes(), &vrs),
            Some(expected.clone())
        );
    }
}

#[test]
fn passphrase_changes_the_keys() {
    let plain = SoftwareDevice::with_test_mnemonic();
    let with = SoftwareDevice::new(DeviceConfig::test_mnemonic().with_passphrase("x")).unwrap();
    let p = path("m/44'/60'/0'/0/0");
    assert_ne!(plain.address(&p).unwrap(), with.address(&p).unwrap());
}
