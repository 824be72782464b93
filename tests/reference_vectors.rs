//! Vectors from the public XMTP repositories and the derived end-to-end vectors, as listed
//! in `../shared/reference/xmtp-v2-protocol.md` §9 (section numbers below refer to it).

use prost::Message;
use sha2::{Digest, Sha256};
use xmtp_ledger::identity::auth::{self, TokenPolicy};
use xmtp_ledger::identity::{
    Address, AuthToken, CompactSignature, ContactBundle, KeySignature, PrivateKeyBundleV1,
    PrivateKeyV1, SignedPublicKey, WalletSignature, eip191, topic,
};
use xmtp_ledger::keystore::{EncryptedBundle, SealedBox, derive_key};
use xmtp_ledger::proto::message_contents as pb;
use xmtp_ledger::signer::{LocalKeySigner, Signer};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

fn h32(s: &str) -> [u8; 32] {
    h(s).try_into().expect("32 bytes")
}

const ALICE: &str = "0a8a030ac20108c192a3f7923112220a2068d2eb2ef8c50c4916b42ce638c5610e44ff4eb3ecb098c9dacf032625c72f101a940108c192a3f7923112460a440a40fc9822283078c323c9319c45e60ab42c65f6e1744ed8c23c52728d456d33422824c98d307e8b1c86a26826578523ba15fe6f04a17fca176664ee8017ec8ba59310011a430a410498dc2315dd45d99f5e900a071e7b56142de344540f07fbc73a0f9a5d5df6b52eb85db06a3825988ab5e04746bc221fcdf5310a44d9523009546d4bfbfbb89cfb12c20108eb92a3f7923112220a20788be9da8e1a1a08b05f7cbf22d86980bc056b130c482fa5bd26ccb8d29b30451a940108eb92a3f7923112460a440a40a7afa25cb6f3fbb98f9e5cd92a1df1898452e0dfa1d7e5affe9eaf9b72dd14bc546d86c399768badf983f07fa7dd16eee8d793357ce6fccd676807d87bcc595510011a430a410422931e6295c3c93a5f6f5e729dc02e1754e916cb9be16d36dc163a300931f42a0cd5fde957d75c2068e1980c5f86843daf16aba8ae57e8160b8b9f0191def09e";
const BOB: &str = "0a88030ac001088cd68df7923112220a209057f8d813314a2aae74e6c4c30f909c1c496b6037ce32a12c613558a8e961681a9201088cd68df7923112440a420a40501ae9b4f75d5bb5bae3ca4ecfda4ede9edc5a9b7fc2d56dc7325b837957c23235cc3005b46bb9ef485f106404dcf71247097ed509635590f4b7987b833d03661a430a4104e61a7ae511567f4a2b5551221024b6932d6cdb8ecf3876ec64cf29be4291dd5428fc0301963cdf6939978846e2c35fd38fcb70c64296a929f166ef6e4e91045712c20108b8d68df7923112220a2027707399474d417bf6aae4baa3d73b285bf728353bc3e156b0e32461ebb48f8c1a940108b8d68df7923112460a440a40fb96fa38c3f013830abb61cf6b39776e0475eb1379c66013569c3d2daecdd48c7fbee945dcdbdc5717d1f4ffd342c4d3f1b7215912829751a94e3ae11007e0a110011a430a4104952b7158cfe819d92743a4132e2e3ae867d72f6a08292aebf471d0a7a2907f3e9947719033e20edc9ca9665874bd88c64c6b62c01928065f6069c5c80c699924";

/// §9.1: the legacy PrivateKey from xmtp-js's tests and its Create Identity text.
#[test]
fn legacy_key_and_create_identity_text() {
    let encoded = h(
        "08aaa9dad3ed2f12220a206fd789a6ee2376bb6595b4ebace57c7a79e6e4f1f12c8416d611399eda6c74cb1a4c08aaa9dad3ed2f1a430a4104e208133ea0973a9968fe5362e5ac0a8bbbe2aa16d796add31f3d027a1b894389873d7f282163bceb1fc3ca60d589d1e667956c40fed4cdaa7edc1392d2100b8a",
    );
    let key = pb::PrivateKey::decode(encoded.as_slice()).unwrap();
    let public =
        xmtp_ledger::identity::PublicKeyV1::from_proto(key.public_key.as_ref().unwrap()).unwrap();
    let text = public.create_identity_text();
    assert_eq!(
        text,
        "XMTP : Create Identity\n08aaa9dad3ed2f1a430a4104e208133ea0973a9968fe5362e5ac0a8bbbe2aa16d796add31f3d027a1b894389873d7f282163bceb1fc3ca60d589d1e667956c40fed4cdaa7edc1392d2100b8a\n\nFor more info: https://xmtp.org/signatures/"
    );
    assert_eq!(text.len(), 220);
    assert_eq!(
        hex::encode(eip191::personal_message_digest(text.as_bytes())),
        "957b080dfefda3f595c4e8cb65e0878b222042d63fff9891d3af6f22ae1bcf2d"
    );
    let derived = PrivateKeyV1::from_secret_bytes(
        &h("6fd789a6ee2376bb6595b4ebace57c7a79e6e4f1f12c8416d611399eda6c74cb"),
        1644342711466,
    )
    .unwrap();
    assert_eq!(derived.public_key(), &public);
}

/// §9.4 and §9.5: complete bundles exported by xmtp-js decode, verify to their wallets
/// and re-encode to the same bytes (including Bob's omitted recovery id 0).
#[test]
fn js_sdk_bundles_verify_and_round_trip() {
    let cases = [
        (ALICE, "0xF56d1F3b1290204441Cb3843C2Cac1C2f5AEd690"),
        (BOB, "0x3De402A325323Bb97f00cE3ad5bFAc96A11F9A34"),
        (
            "0a88030ac20108eec0888ae33112220a201cd19d1d6e129cb8f8ba4bd85aae10ffcc97a3de939d85f9bc378d47e6ba83711a940108eec0888ae33112460a440a40130cfb1cd667f48585f90372fe4b529da318e83221a3bfd1446ef6cf00d173543fed831d1517d310b05bd5ab138fde22af50a3ffce1aa72da8c7084e9bab0e4910011a430a4104c4eb77c3b2eaacaca12e2b55c6c42dc33f4518a5690bb49cd6ae0e0a652e59fbc9defd98242d30a0737a13c3461cac1edc0f8e3007d65b1637382088ac1cd3d712c00108a4c1888ae33112220a2062e553bceac5247e7bebfdcc8c31959965603e442f79c6346028060ab2129e931a920108a4c1888ae33112440a420a40d12c6ab6eb1874edd3044fdc753543516130bd4d1db11024bd81cd9c2c4bb6b6138e85ed313f387ea7707e09090659b580ee22f42f022c4521e4a11ab7abddfc1a430a4104175097c31bbe1700729f1f1ede87b8bd21a5bc62e4bb4c963e0de885080048bd31138b657fd9146aa8255f1c57c4fa1f8cb7b30bed8803eed48d6a3e67e71ccf",
            "0xA38A1f04B29dea1de621E17447fB4efB11BFfBdf",
        ),
    ];
    for (encoded, wallet) in cases {
        let bundle = PrivateKeyBundleV1::decode(&h(encoded)).unwrap();
        assert_eq!(bundle.verify().unwrap().to_string(), wallet);
        assert_eq!(hex::encode(bundle.encode().as_slice()), encoded);
    }
}

/// §9.4: re-signing the pre-key with the identity key reproduces xmtp-js's bytes (RFC 6979).
#[test]
fn pre_key_signatures_are_deterministic() {
    for encoded in [ALICE, BOB] {
        let bundle = PrivateKeyBundleV1::decode(&h(encoded)).unwrap();
        let stored = *bundle.current_pre_key().public_key().signature().unwrap();
        let mut resigned = bundle.current_pre_key().clone();
        bundle.identity_key().sign_key(&mut resigned).unwrap();
        assert_eq!(resigned.public_key().signature(), Some(&stored));
    }
}

/// §9.6: the storage-encryption vector from libxmtp ("generated from xmtp-js").
#[test]
fn libxmtp_storage_decrypt_vector() {
    let secret = h(
        "7ce6121ed4756aaf8dd0b116ceb7f44ab2f11d4f4caf5924e4bd070353739e6a3c8b039cde75edc2134c7ff76bca5d7ade3fe59bd791f3e73edc97e188c1e4521c",
    );
    let salt = h32("8b2d6b2957ad0fa3fa0ec298c8b4e2308cc6015d50fd40f429450f8bc54dbd35");
    assert_eq!(
        hex::encode(*derive_key(&secret, &salt)),
        "7233318b036a0b45fa47bad66a7d339f1282d4f6e9be020c99b461a980b49160"
    );
    let sealed = SealedBox {
        hkdf_salt: salt,
        gcm_nonce: h("37f568081c6b294c36a6b3b7").try_into().unwrap(),
        payload: h(
            "1da6127e0e33bad3d84b1803894d532ea27d8ab3b77d605d46395fcf55c7b49805ee39b8fab9207e324f9a5c326b7807075a131f7c60589291758c1993ac3b1ed5a4bb35e2300093f6fe7ac2abf6f83e3eb08e00e65f0de2d78fedeb693b8b5749b010f068078e1c7be2e4b307ff463d4605dc1427f96ef2262a0e4ad613e87f9d719597b9129517b4fc3e1f1ff95a264d18bc266f8f1f894649508d91f8619e35279cb3879ede9475a528fed2428a878d9f500da9eccadfb2b988c09eed9d6ba2cf6fe40e3730bf7cbec930c2ad5263df7c671e4f8baeeab9e9b45b35f8c4bce74de59009fab8739228eed987b31ce31ff6cbdd688c2055ba3b919b205c59c3b3240d15dc4b527e3b3ebb3ebccb05130e6b42ec80e7b9b49f0d46baf5ae55d1dc5b734c2dee798da6cd6656ba90113fdd0a27aebdb6fbd7de66b0cffbe912d1d9e27b22e77ca8eb13f82bfd2b3adfd8e59c46f115a49727fd1a104d8010ed248bfac0e23632a9b5120fb385c25ff8e76d715df1bc02e6534f2792209796b60c070c4997bfe6aa49f934c8b042624a0377e3ef495c50510f63b934",
        ),
    };
    let plaintext = sealed.open(&secret).unwrap();
    assert_eq!(
        hex::encode(plaintext.as_slice()),
        "0a88030ac00108b08b90bfe53012220a20b1d1ae465df4258351c462ea592723753a366263146c69120b4901e4c7a56c8b1a920108b08b90bfe53012440a420a401051d42da81190bbbe080f0cef3356cb476ecf87b112b22a4623f1d22ac358fa08a6160720051acf6ac651335c9114a052a7885ecfaf7c9725f9700075ac22b11a430a41046520443dc4358499e8f0269567bcc27d7264771de694eb84d5c5334e152ede227f3a1606b6dd47129d7c999a6655855cb02dc2b32ee9bf02c01578277dd4ddeb12c20108d88b90bfe53012220a20744cabc19d4d84d9753eed7091bc3047d2e46578cce75193add548f530c7f1d31a940108d88b90bfe53012460a440a409e12294d043420f762ed24e7d21f26328f0f787a964d07f7ebf288f2ab9f750b76b820339ff8cffd4be83adf7177fd29265c4479bf9ab4dc8ed9e5af399a9fab10011a430a4104e0f94416fc0431050a7f4561f8dfdd89e23d24c1d05c50710ef0524316a3bd5ed938c0f111133348fc2aeff399838ce3bd8505182e8582efc6beda0d5144330f"
    );
    let bundle = PrivateKeyBundleV1::decode(&plaintext).unwrap();
    assert_eq!(
        bundle.verify().unwrap().to_string(),
        "0x201B3F7Bcd3d9b0fC17b4570666cb16584233274"
    );
    let encoded = sealed.to_proto().encode_to_vec();
    assert!(hex::encode(&encoded).starts_with("0ace030a208b2d6b29"));
}

/// §9.8: recovery vectors.
#[test]
fn recovery_vectors() {
    let signature = CompactSignature::new(&h("8268b9c8d7629e9bbbd392004c337a5d7c99d1e59cf26a4a4f024935462cbf277f34e41be8fbcc9a5ffe69adcd0461e04b740df4180ce4864222236d735234a3"), 1).unwrap();
    // The message is "Hello world" (0x48 = capital H).
    let digest: [u8; 32] = Sha256::digest(h("48656c6c6f20776f726c64")).into();
    assert_eq!(
        hex::encode(signature.recover_public_key(&digest).unwrap()),
        "04fd927bcc71326a7a294f202133d94f4064f38ede547bc9449ed7307eecc23a845214a6c2880d64a352ec8410f90f5263fb00d6536aa27c7441d4fd6b97f4e518"
    );

    let text = "XMTP : Create Identity\n0880c6bbc1f689eeab171a430a41041e3af709a2fa6c493fdb44e329cbeea04d09f1ffe5ad4e013b8feb0186c22a52dc1186d4b585bde9191282099e16fc6eed800334a8bc453c6ea074664aa8edec\n\nFor more info: https://xmtp.org/signatures/";
    let signature = CompactSignature::new(&h("d5ea9e13675a39295d82b0ee9fe2782b0754f93666e280e75451e84306953aac5979d039126d5e516ebb4b5150b8d128b7e3b71f9dce1d4939a2456c52fbf3fc"), 0).unwrap();
    assert_eq!(
        signature
            .recover_personal_sign_address(text.as_bytes())
            .unwrap()
            .to_string(),
        "0x13d0b11D0157F1740e139171C98FFF95b83AD107"
    );
}

/// §9.9: a v2 SignedPublicKey with wallet_ecdsa_compact (libxmtp).
#[test]
fn v2_signed_public_key() {
    let key = SignedPublicKey::decode(&h("0a4f08c0c3a5aecb99e7d5171a430a4104d854aefcc6e1dba8efa63ee9ce6c359b5784082b5b245b515dd543f145051ff9ba817790042c364cb95f3d17e74807a91246714fad520d2592c92baeb4217d2b124612440a40078864ac9bf7e6fffdf74e32d4e2294eefb788f77a589bf5dbb7d7ca2a59a28060607883114626e7021b5b1d426e808c012ad9b902b5d0648f8fdb9fae01e9bf1001")).unwrap();
    assert_eq!(key.created_ns(), 1705629286927000000);
    assert!(matches!(key.signature(), KeySignature::Wallet(s) if s.recovery() == 1));
    assert_eq!(
        key.wallet_address().unwrap().to_string(),
        "0x220CA99fb7faFA18CB623d924794dDE47B4bc2e9"
    );
}

/// §9.10 (a): Alice's published contact bundles and an auth token.
#[test]
fn alice_contacts_and_token() {
    let bundle = PrivateKeyBundleV1::decode(&h(ALICE)).unwrap();
    let public = bundle.public_bundle();
    assert_eq!(
        hex::encode(public.encode_contact_v1()),
        "0ab1020aae020a940108c192a3f7923112460a440a40fc9822283078c323c9319c45e60ab42c65f6e1744ed8c23c52728d456d33422824c98d307e8b1c86a26826578523ba15fe6f04a17fca176664ee8017ec8ba59310011a430a410498dc2315dd45d99f5e900a071e7b56142de344540f07fbc73a0f9a5d5df6b52eb85db06a3825988ab5e04746bc221fcdf5310a44d9523009546d4bfbfbb89cfb12940108eb92a3f7923112460a440a40a7afa25cb6f3fbb98f9e5cd92a1df1898452e0dfa1d7e5affe9eaf9b72dd14bc546d86c399768badf983f07fa7dd16eee8d793357ce6fccd676807d87bcc595510011a430a410422931e6295c3c93a5f6f5e729dc02e1754e916cb9be16d36dc163a300931f42a0cd5fde957d75c2068e1980c5f86843daf16aba8ae57e8160b8b9f0191def09e"
    );
    assert_eq!(
        hex::encode(public.to_signed_bundle().unwrap().encode_contact_v2()),
        "12b5020ab2020a96010a4c08c192a3f792311a430a410498dc2315dd45d99f5e900a071e7b56142de344540f07fbc73a0f9a5d5df6b52eb85db06a3825988ab5e04746bc221fcdf5310a44d9523009546d4bfbfbb89cfb124612440a40fc9822283078c323c9319c45e60ab42c65f6e1744ed8c23c52728d456d33422824c98d307e8b1c86a26826578523ba15fe6f04a17fca176664ee8017ec8ba59310011296010a4c08eb92a3f792311a430a410422931e6295c3c93a5f6f5e729dc02e1754e916cb9be16d36dc163a300931f42a0cd5fde957d75c2068e1980c5f86843daf16aba8ae57e8160b8b9f0191def09e12460a440a40a7afa25cb6f3fbb98f9e5cd92a1df1898452e0dfa1d7e5affe9eaf9b72dd14bc546d86c399768badf983f07fa7dd16eee8d793357ce6fccd676807d87bcc59551001"
    );
    let token = AuthToken::create(bundle.identity_key(), 1700000000000000000).unwrap();
    assert_eq!(
        token.header_value(),
        "Bearer CpQBCMGSo/eSMRJGCkQKQPyYIigweMMjyTGcReYKtCxl9uF0TtjCPFJyjUVtM0IoJMmNMH6LHIaiaCZXhSO6Ff5vBKF/yhdmZO6AF+yLpZMQARpDCkEEmNwjFd1F2Z9ekAoHHntWFC3jRFQPB/vHOg+aXV32tS64XbBqOCWYirXgR0a8Ih/N9TEKRNlSMAlUbUv7+7ic+xI2CioweEY1NmQxRjNiMTI5MDIwNDQ0MUNiMzg0M0MyQ2FjMUMyZjVBRWQ2OTAQgICoseOf58sXGkQKQgpAf+UwkWhGPeycCbR20+dkFZP9kz0eA7+k/Mu/kYsbZxVeE+OVocIa4EEZVJ3pSZvDe4bO4NiCQYoFV0b36Apv5Q=="
    );
}

/// §9.10 (b): a fully synthetic identity covering every step, including the exact
/// encrypted bundle for a known salt and nonce.
#[test]
fn synthetic_identity_end_to_end() {
    let label = |s: &str| -> [u8; 32] { Sha256::digest(s.as_bytes()).into() };
    let wallet = LocalKeySigner::from_private_key(&label("xmtp-v2-spec wallet")).unwrap();
    let address = wallet.address();
    assert_eq!(
        address.to_string(),
        "0x2215674b8323BcceB76447317A48Dc36724B60B6"
    );
    assert_eq!(
        topic::contact_topic(&address),
        "/xmtp/0/contact-0x2215674b8323BcceB76447317A48Dc36724B60B6/proto"
    );

    let mut identity =
        PrivateKeyV1::from_secret_bytes(&label("xmtp-v2-spec identity"), 1700000000000).unwrap();
    assert_eq!(
        hex::encode(identity.public_key().bytes_to_sign()),
        "0880d095ffbc311a430a4104438924c15a38f86525f147cd517125cf5caae06f9629609b67ba96dc2dcc2f9d10f1636c22a0ed0ed016883350e2ea46dee550f03d8f29f1e9248f2e02c0459c"
    );
    let create_text = identity.public_key().create_identity_text();
    assert_eq!(
        hex::encode(eip191::personal_message_digest(create_text.as_bytes())),
        "e4c2a2854614aaff01e4b4d085bf2aff02542f37591b66e4331631eff2a18af9"
    );
    let create = wallet.personal_sign(&create_text).unwrap();
    assert_eq!(
        hex::encode(create.as_bytes()),
        "ff027e6383ecea8dbc19d86ad46ea6e5ff1435b19263a64bd0385c4626cf3d0d662646006df48839e52929887f5014b53ea9169e5c539c0252d14b7dd8ef67d61c"
    );
    identity.set_signature(KeySignature::Ecdsa(create.compact().unwrap()));

    let mut pre_key =
        PrivateKeyV1::from_secret_bytes(&label("xmtp-v2-spec prekey"), 1700000000001).unwrap();
    identity.sign_key(&mut pre_key).unwrap();
    let pre_signature = pre_key.public_key().signature().unwrap().compact();
    assert_eq!(
        hex::encode(pre_signature.bytes()),
        "5e8b3ba34cd9e0f7897f8babe7d4a3994397cf81a07381549a48da8cf14cd8e9135973686ccfbbd8a78eb5ddcf0d2993ad6a0dfe8ed599ba79b7a579b855d5df"
    );
    assert_eq!(pre_signature.recovery(), 1);

    let bundle = PrivateKeyBundleV1::new(identity, vec![pre_key]).unwrap();
    let plaintext = bundle.encode();
    assert_eq!(plaintext.len(), 397);
    assert_eq!(
        hex::encode(plaintext.as_slice()),
        "0a8a030ac2010880d095ffbc3112220a20f617fa12227c53caf011a175840a4f86f9a0b07d0626c93ed1319544098469631a94010880d095ffbc3112460a440a40ff027e6383ecea8dbc19d86ad46ea6e5ff1435b19263a64bd0385c4626cf3d0d662646006df48839e52929887f5014b53ea9169e5c539c0252d14b7dd8ef67d610011a430a4104438924c15a38f86525f147cd517125cf5caae06f9629609b67ba96dc2dcc2f9d10f1636c22a0ed0ed016883350e2ea46dee550f03d8f29f1e9248f2e02c0459c12c2010881d095ffbc3112220a20475dbfa2f6ff461d5be2a27f9e2d2abf5288811f770b2fe66271e76cadd36b201a94010881d095ffbc3112460a440a405e8b3ba34cd9e0f7897f8babe7d4a3994397cf81a07381549a48da8cf14cd8e9135973686ccfbbd8a78eb5ddcf0d2993ad6a0dfe8ed599ba79b7a579b855d5df10011a430a41048e091228509e37cd8422e8777c67ff1434091788e63caebf8554d015105000ef67ef052d0436154f54adc09b1148c06a4aa84794f64190ffb61352924788e7da"
    );

    let wallet_pre_key = label("xmtp-v2-spec walletPreKey");
    let enable = wallet
        .personal_sign(&eip191::enable_identity_text(&wallet_pre_key))
        .unwrap();
    assert_eq!(
        hex::encode(enable.as_bytes()),
        "f85c00f89dfda82ff31e3d057f42fcf61d56419416f308c17904b579401f85ad5da4a63645f97654eedc1225127e30f8c12ec0ea7ec62afcf8de17395ad75ca21c"
    );
    let salt = label("xmtp-v2-spec salt");
    assert_eq!(
        hex::encode(*derive_key(enable.as_bytes(), &salt)),
        "8b952d8ffe69b0d3704ced47e2a19da1cbb1ee12423bf6af60cca835e1d79791"
    );
    let nonce: [u8; 12] = label("xmtp-v2-spec nonce")[..12].try_into().unwrap();
    let encrypted = EncryptedBundle {
        wallet_pre_key,
        sealed: SealedBox::seal_with(&plaintext, enable.as_bytes(), salt, nonce).unwrap(),
    };
    let encoded = encrypted.encode();
    assert_eq!(encoded.len(), 507);
    assert_eq!(
        hex::encode(&encoded),
        "0af8030a20b05a93abea398342d1bc4476b3b55007d04eb72d22a27fe4ab026f49714e915f12d3030ad0030a20a34bfe03c9af845f7c08da8ec1096a6736b79f66aa25621f0936e1cef2dafb32120cbf2dbdff62ace51c0e7369c81a9d03f109546b6681c910235a47beed40a6814a3bb985f0135b16d57be0e5db921ec36ab359c43dcdb5c52aa290bd21a9bfac7378c7defb028384b16d34fb015d39298cc0385e5a81c57f806d7d53066d6cfe3c0a58379d25dc0221aa1424255670251092f2fbb15c562259b36118afc93d1f20e88c511257752c5dd026296542317d6caf8e790c0534770b433eb7a644124db3772cfd670f7f6ff94efc35bab2e42a6d56fd724699595f1a7a8ff12e1a215e01027f206ef91d874596a271c9cfeeac01284bbb86fb72afeaa41f58e599921eccce3d93cdac17b610cd25d5a6c14e027c9d6ed60044e7778e2ac5409538c3bbd8d16ed8c70c8597d10e6d4d8a1b48c0bb29381158cd199c406e8ecd1705f69fd7c630d52fa9e24d7b730c90d0481ce49ce8d444bfcf27540939ddbb2f2e1e9caa51f496ce3cc8a8bbac096d988aa2ae4fcc27adaeca228d2310ca187ab823ae63cccc89eee9793575b02019df7eef4750d429b77530296b640947a2bf5e4faef68c2458dc56b6b039f18d3bc64858d242327773bc746302c400660160bc781b3d77759976b734a77c481ca5a0"
    );
    let reopened = EncryptedBundle::decode(&encoded)
        .unwrap()
        .open(&enable)
        .unwrap();
    assert_eq!(reopened.verify().unwrap(), address);

    let public = bundle.public_bundle();
    assert_eq!(
        hex::encode(public.encode_contact_v1()),
        "0ab1020aae020a94010880d095ffbc3112460a440a40ff027e6383ecea8dbc19d86ad46ea6e5ff1435b19263a64bd0385c4626cf3d0d662646006df48839e52929887f5014b53ea9169e5c539c0252d14b7dd8ef67d610011a430a4104438924c15a38f86525f147cd517125cf5caae06f9629609b67ba96dc2dcc2f9d10f1636c22a0ed0ed016883350e2ea46dee550f03d8f29f1e9248f2e02c0459c1294010881d095ffbc3112460a440a405e8b3ba34cd9e0f7897f8babe7d4a3994397cf81a07381549a48da8cf14cd8e9135973686ccfbbd8a78eb5ddcf0d2993ad6a0dfe8ed599ba79b7a579b855d5df10011a430a41048e091228509e37cd8422e8777c67ff1434091788e63caebf8554d015105000ef67ef052d0436154f54adc09b1148c06a4aa84794f64190ffb61352924788e7da"
    );
    assert_eq!(
        hex::encode(public.to_signed_bundle().unwrap().encode_contact_v2()),
        "12b5020ab2020a96010a4c0880d095ffbc311a430a4104438924c15a38f86525f147cd517125cf5caae06f9629609b67ba96dc2dcc2f9d10f1636c22a0ed0ed016883350e2ea46dee550f03d8f29f1e9248f2e02c0459c124612440a40ff027e6383ecea8dbc19d86ad46ea6e5ff1435b19263a64bd0385c4626cf3d0d662646006df48839e52929887f5014b53ea9169e5c539c0252d14b7dd8ef67d610011296010a4c0881d095ffbc311a430a41048e091228509e37cd8422e8777c67ff1434091788e63caebf8554d015105000ef67ef052d0436154f54adc09b1148c06a4aa84794f64190ffb61352924788e7da12460a440a405e8b3ba34cd9e0f7897f8babe7d4a3994397cf81a07381549a48da8cf14cd8e9135973686ccfbbd8a78eb5ddcf0d2993ad6a0dfe8ed599ba79b7a579b855d5df1001"
    );

    let token = AuthToken::create(bundle.identity_key(), 1700000000123000000).unwrap();
    assert_eq!(
        token.to_base64(),
        "CpQBCIDQlf+8MRJGCkQKQP8CfmOD7OqNvBnYatRupuX/FDWxkmOmS9A4XEYmzz0NZiZGAG30iDnlKSmIf1AUtT6pFp5cU5wCUtFLfdjvZ9YQARpDCkEEQ4kkwVo4+GUl8UfNUXElz1yq4G+WKWCbZ7qW3C3ML50Q8WNsIqDtDtAWiDNQ4upG3uVQ8D2PKfHpJI8uAsBFnBI2CioweDIyMTU2NzRiODMyM0JjY2VCNzY0NDczMTdBNDhEYzM2NzI0QjYwQjYQwKn76+Of58sXGkQKQgpA1PrpAJDEtwKWo6mc085m9MEQU2g/w1Og4Fp4YLwXsGccXbOcmJVZ5IbrsSbKrw8sO5r6ihooKzt1Y1q1MJdT4A=="
    );
    let verified = auth::verify_header(
        &token.header_value(),
        1700000000123000000,
        TokenPolicy::default(),
    )
    .unwrap();
    assert_eq!(verified.wallet, address);
}

/// A token whose AuthData names another wallet than the identity key's signer is refused,
/// as is a token whose auth data was signed by another key.
#[test]
fn forged_tokens_are_refused() {
    let alice = PrivateKeyBundleV1::decode(&h(ALICE)).unwrap();
    let bob = PrivateKeyBundleV1::decode(&h(BOB)).unwrap();
    let now = 1700000000000000000;
    let token = AuthToken::create(alice.identity_key(), now).unwrap();
    let mut parsed = xmtp_ledger::proto::message_api::v1::Token::decode(token.as_bytes()).unwrap();
    // Bob's identity key presented with Alice's auth data and signature.
    parsed.identity_key = Some(bob.identity_key().public_key().to_proto());
    let forged = parsed.encode_to_vec();
    assert!(auth::verify_token_bytes(&forged, now, TokenPolicy::default()).is_err());

    let mut parsed = xmtp_ledger::proto::message_api::v1::Token::decode(token.as_bytes()).unwrap();
    let claimed = xmtp_ledger::proto::message_api::v1::AuthData {
        wallet_addr: "0x3De402A325323Bb97f00cE3ad5bFAc96A11F9A34".into(),
        created_ns: now,
    };
    parsed.auth_data_bytes = claimed.encode_to_vec();
    let err =
        auth::verify_token_bytes(&parsed.encode_to_vec(), now, TokenPolicy::default()).unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");
    assert!(auth::verify_header("Basic abc", now, TokenPolicy::default()).is_err());
    assert!(auth::verify_header("Bearer !!!", now, TokenPolicy::default()).is_err());
}

/// A wallet signature over the text parses in both v forms to the same compact signature.
#[test]
fn wallet_signature_forms_agree() {
    let rsv = "5c18e354ed7466546ee23bc6d8d40142079ad930d88e05019c60a0ed200618ac23485508048e94a4399373821e124147447ed304e451669ea2355e373fb33b371c";
    let a = WalletSignature::from_hex(rsv).unwrap();
    let b = WalletSignature::from_hex(&format!("0x{rsv}"))
        .unwrap()
        .with_other_v_form();
    assert_eq!(a.compact().unwrap(), b.compact().unwrap());
    assert_eq!(a.compact().unwrap().recovery(), 1);
    let address: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        .parse()
        .unwrap();
    let text = "XMTP : Create Identity\n0a0b\n\nFor more info: https://xmtp.org/signatures/";
    a.verify_personal_sign(text.as_bytes(), &address).unwrap();
    b.verify_personal_sign(text.as_bytes(), &address).unwrap();
    assert!(ContactBundle::decode(&[0xff, 0x01]).is_err());
}
