//! Writes the seed corpus under `fuzz/corpus/<target>/` from real data: the reference vectors
//! (`../shared/vectors/xmtp-v2-keys.json` next to the repository, as the tests read them, made
//! by xmtp-js 13.0.4; or the file named by `XMTP_VECTORS`) and real answers of the software
//! device. Deterministic; re-run after an input format changes:
//!
//! ```sh
//! cd fuzz && cargo run --example make_seeds
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use fuzz_support::{encode_records_u16, personal_messages};
use ledger_app::SoftwareDevice;
use prost::Message;
use serde_json::Value;
use xmtp_ledger::device::tcp::encode_request;
use xmtp_ledger::device::{
    AddressOptions, ApduAnswer, ApduCommand, DerivationPath, DeviceError, EthApp,
    InProcessTransport, Transport,
};
use xmtp_ledger::identity::Address;
use xmtp_ledger::proto::message_api::v1 as api;
use xmtp_ledger::proto::message_contents as pb;

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(target: &str, name: &str, bytes: &[u8]) {
    fs::write(corpus(target).join(name), bytes).unwrap();
}

fn hex(value: &Value) -> Vec<u8> {
    hex::decode(value.as_str().expect("hex string")).expect("hex")
}

/// A transport in front of the software device that keeps every raw answer (`data ‖ SW`).
struct Recorder {
    inner: InProcessTransport,
    answers: Mutex<Vec<Vec<u8>>>,
}

impl Transport for Recorder {
    fn exchange(&self, command: &ApduCommand) -> Result<ApduAnswer, DeviceError> {
        let answer = self.inner.exchange(command)?;
        let mut raw = answer.data().to_vec();
        raw.extend_from_slice(&answer.status().to_be_bytes());
        self.answers.lock().unwrap().push(raw);
        Ok(answer)
    }
}

fn recorder() -> (EthApp, Arc<Recorder>) {
    let recorder = Arc::new(Recorder {
        inner: InProcessTransport::new(Arc::new(SoftwareDevice::with_test_mnemonic())),
        answers: Mutex::new(Vec::new()),
    });
    (EthApp::new(recorder.clone()), recorder)
}

fn raw_answer(device: &SoftwareDevice, apdu: &[u8]) -> Vec<u8> {
    device.exchange(apdu)
}

fn main() {
    let path = std::env::var_os("XMTP_VECTORS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/xmtp-v2-keys.json"),
        PathBuf::from,
    );
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let vectors: Value = serde_json::from_str(&text).expect("json");
    let vectors = vectors["vectors"].as_array().expect("vectors array");
    let v0 = &vectors[0];

    device_seeds();
    official_apdu_seeds();
    identity_seeds(vectors);
    keystore_seeds(vectors);
    auth_seeds(vectors);
    signature_seeds(vectors);
    text_seeds(v0);
    node_seeds(v0);
    node_answer_seeds();
    println!("seeds written under {}/corpus", env!("CARGO_MANIFEST_DIR"));
}

fn device_seeds() {
    let device = SoftwareDevice::with_test_mnemonic();
    let path = DerivationPath::ledger_live(0).unwrap();
    let path_bytes = path.to_apdu_bytes();
    let command = |cla, ins, p1, p2, data: &[u8]| {
        ApduCommand::new(cla, ins, p1, p2, data.to_vec())
            .unwrap()
            .to_bytes()
    };
    let config = command(0xE0, 0x06, 0, 0, &[]);
    let app_version = command(0xB0, 0x01, 0, 0, &[]);
    let address = command(0xE0, 0x02, 0, 0, &path_bytes);
    let address_chain = command(0xE0, 0x02, 0, 1, &path_bytes);
    let sign_short: Vec<Vec<u8>> =
        xmtp_ledger::device::eth_app::personal_message_apdus(&path, b"hi")
            .unwrap()
            .iter()
            .map(ApduCommand::to_bytes)
            .collect();
    let sign_long: Vec<Vec<u8>> =
        xmtp_ledger::device::eth_app::personal_message_apdus(&path, &[b'x'; 600])
            .unwrap()
            .iter()
            .map(ApduCommand::to_bytes)
            .collect();

    // apdu_framing: raw answers, socket frames of them, and commands.
    let answers = [
        ("config", raw_answer(&device, &config)),
        ("app_version", raw_answer(&device, &app_version)),
        ("address", raw_answer(&device, &address)),
        ("address_chain", raw_answer(&device, &address_chain)),
        ("signature", {
            let mut last = Vec::new();
            for apdu in &sign_short {
                last = raw_answer(&device, apdu);
            }
            last
        }),
        ("rejected", vec![0x69, 0x85]),
    ];
    for (name, answer) in &answers {
        write("apdu_framing", &format!("answer_{name}"), answer);
        let mut frame = ((answer.len() - 2) as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(answer);
        write("apdu_framing", &format!("frame_{name}"), &frame);
    }
    let two_frames: Vec<u8> = answers
        .iter()
        .take(2)
        .flat_map(|(_, a)| {
            let mut frame = ((a.len() - 2) as u32).to_be_bytes().to_vec();
            frame.extend_from_slice(a);
            frame
        })
        .collect();
    write("apdu_framing", "frames_two", &two_frames);
    write("apdu_framing", "command_address", &address);
    write("apdu_framing", "command_sign_first", &sign_long[0]);
    write("apdu_framing", "request_frame", &encode_request(&config));

    // eth_app_answers: op ‖ options ‖ the device's own answers to what the client sends.
    for op in 0u8..=7 {
        for options in [0u8, 0b0000_0010, 0b0000_1000, 0b0001_1100] {
            let (app, recorder) = recorder();
            let path = DerivationPath::ledger_live(u32::from((options >> 4) & 3)).unwrap();
            let message = &personal_messages()[usize::from((options >> 2) & 3)];
            let expected: Address = app.address(&path).unwrap();
            recorder.answers.lock().unwrap().clear();
            let ops: Vec<u8> = if op == 7 { (0..7).collect() } else { vec![op] };
            for op in ops {
                let options_struct = AddressOptions {
                    confirm: options & 1 != 0,
                    chain_code: options & 2 != 0,
                };
                let ok = match op {
                    0 => app.app_configuration().is_ok(),
                    1 => app.app_and_version().is_ok(),
                    2 => {
                        app.status();
                        true
                    }
                    3 => app.ensure_ethereum_app().is_ok(),
                    4 => app.get_address(&path, options_struct).is_ok(),
                    5 => app.address(&path).is_ok(),
                    _ => app
                        .sign_personal_message(&path, message)
                        .is_ok_and(|s| s.verify_personal_sign(message, &expected).is_ok()),
                };
                assert!(ok, "op {op} options {options:#x}");
            }
            let answers = recorder.answers.lock().unwrap().clone();
            let mut seed = vec![op, options];
            seed.extend(encode_records_u16(answers.iter().map(Vec::as_slice)));
            write(
                "eth_app_answers",
                &format!("op{op}_opt{options:02x}"),
                &seed,
            );
        }
    }
    // A device that answers errors.
    let mut seed = vec![7, 0];
    seed.extend(encode_records_u16([
        &[0x55, 0x15][..],
        &[0x6D, 0x00],
        &[0x69, 0x85],
        &[0x90],
    ]));
    write("eth_app_answers", "errors", &seed);

    // software_device: config ‖ APDU sequences.
    let mut flows: Vec<(&str, Vec<Vec<u8>>)> = vec![
        (
            "queries",
            vec![config.clone(), app_version.clone(), address.clone()],
        ),
        ("address_chain", vec![address_chain.clone()]),
        ("sign_short", sign_short.clone()),
        ("sign_long", sign_long.clone()),
        (
            "interleaved",
            vec![
                sign_long[0].clone(),
                config.clone(),
                sign_long[1].clone(),
                address.clone(),
                sign_long[2].clone(),
            ],
        ),
        (
            "quit_app",
            vec![vec![0xB0, 0xA7, 0, 0], app_version.clone(), config.clone()],
        ),
        ("bad_lc", vec![vec![0xE0, 0x06, 0, 0, 5], vec![0xE0]]),
    ];
    let mut legacy_path = sign_short.clone();
    legacy_path[0][10..14].copy_from_slice(&(0x8000_0000u32 | 61).to_be_bytes());
    flows.push(("sign_other_path", legacy_path));
    for (name, apdus) in &flows {
        for config in [0u8, 0x02, 0x08, 0x20, 0x30, 0x01] {
            let mut seed = vec![config];
            seed.extend(encode_records_u16(apdus.iter().map(Vec::as_slice)));
            write("software_device", &format!("{name}_cfg{config:02x}"), &seed);
        }
    }
}

/// `software_device`: every case the official Ethereum app 1.22.0 answered in Speculos
/// (`../shared/vectors/ethapp-apdus.json`, or the file named by `XMTP_APDU_VECTORS`), after the
/// reset APDU the recording starts each case with; reviews approved or rejected as recorded.
fn official_apdu_seeds() {
    let path = std::env::var_os("XMTP_APDU_VECTORS").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/ethapp-apdus.json"),
        PathBuf::from,
    );
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let recording: Value = serde_json::from_str(&text).expect("json");
    for case in recording["cases"].as_array().expect("cases array") {
        let name: String = case["name"]
            .as_str()
            .expect("name")
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        // Config bit 1: reviews rejected.
        let config = if case["user"] == "reject" { 0x02 } else { 0x00 };
        let mut apdus = vec![vec![0xE0, 0xFF, 0x00, 0x00, 0x00]];
        apdus.extend(case["apdus"].as_array().expect("apdus").iter().map(hex));
        let mut seed = vec![config];
        seed.extend(encode_records_u16(apdus.iter().map(Vec::as_slice)));
        write("software_device", &format!("official_{name}"), &seed);
    }
}

fn identity_seeds(vectors: &[Value]) {
    for v in vectors {
        let label = v["label"].as_str().unwrap().replace('#', "_");
        for (name, bytes) in [
            ("contact_v1", hex(&v["contact_bundle_v1"])),
            ("contact_v2", hex(&v["contact_bundle_v2"])),
            ("private_bundle", hex(&v["private_key_bundle"])),
            ("identity_key", hex(&v["identity"]["signed_public_key_v1"])),
            ("pre_key", hex(&v["pre_key"]["signed_public_key_v1"])),
        ] {
            write("identity_decoders", &format!("{label}_{name}"), &bytes);
        }
        // The v2 signed keys inside the v2 contact bundle.
        let contact = pb::ContactBundle::decode(hex(&v["contact_bundle_v2"]).as_slice()).unwrap();
        if let Some(pb::contact_bundle::Version::V2(v2)) = contact.version {
            let bundle = v2.key_bundle.unwrap();
            write(
                "identity_decoders",
                &format!("{label}_signed_identity_key"),
                &bundle.identity_key.unwrap().encode_to_vec(),
            );
            write(
                "identity_decoders",
                &format!("{label}_signed_pre_key"),
                &bundle.pre_key.unwrap().encode_to_vec(),
            );
        }
    }
}

fn keystore_seeds(vectors: &[Value]) {
    let v = &vectors[0];
    let mut seed = vec![0];
    seed.extend(hex(&v["storage"]["encrypted_private_key_bundle"]));
    write("keystore", "open_vector", &seed);
    let mut seed = vec![0];
    seed.extend(hex(
        &v["storage"]["encrypted_private_key_bundle_canonical_v"],
    ));
    write("keystore", "open_vector_canonical_v", &seed);
    for (i, v) in vectors.iter().enumerate() {
        let mut seed = vec![1];
        seed.extend(hex(&v["private_key_bundle"]));
        write("keystore", &format!("seal_bundle_{i}"), &seed);
    }
}

fn auth_seeds(vectors: &[Value]) {
    let v = &vectors[0];
    let bearer = v["auth_token"]["bearer"].as_str().unwrap();
    let mut seed = vec![0];
    seed.extend(STANDARD.decode(bearer).unwrap());
    write("auth_token", "token_vector", &seed);
    let mut seed = vec![0];
    seed.extend(format!("Bearer {bearer}").as_bytes());
    write("auth_token", "header_vector", &seed);
    // Mode 1: auth data the target signs with the vector's identity key (clock: the vector's
    // token time + 60 s).
    let created: u64 = v["auth_token"]["created_ms"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = created * 1_000_000 + 60_000_000_000;
    let wallet = v["address"].as_str().unwrap();
    for (name, wallet_addr, created_ns) in [
        ("signed_fresh", wallet.to_owned(), now - 1_000_000_000),
        ("signed_lowercase", wallet.to_lowercase(), now),
        ("signed_expired", wallet.to_owned(), now - 3_600_000_000_001),
        ("signed_future", wallet.to_owned(), now + 300_000_000_001),
    ] {
        let mut seed = vec![1];
        seed.extend(
            api::AuthData {
                wallet_addr,
                created_ns,
            }
            .encode_to_vec(),
        );
        write("auth_token", name, &seed);
    }
}

fn signature_seeds(vectors: &[Value]) {
    for (i, v) in vectors.iter().enumerate() {
        let identity = hex(&v["identity"]["wallet_signature_rsv"]);
        write("signatures", &format!("wallet_{i}"), &identity);
        write(
            "signatures",
            &format!("wallet_hex_{i}"),
            format!("0x{}", hex::encode(&identity)).as_bytes(),
        );
        let mut compact = identity[..64].to_vec();
        compact.extend_from_slice(&u32::from(identity[64] - 27).to_be_bytes());
        write("signatures", &format!("compact_{i}"), &compact);
        write(
            "signatures",
            &format!("storage_{i}"),
            &hex(&v["storage"]["wallet_signature_rsv"]),
        );
    }
}

fn text_seeds(v: &Value) {
    let address = v["address"].as_str().unwrap();
    for (name, text) in [
        ("address", address.to_owned()),
        ("address_lower", address.to_lowercase()),
        ("path", "m/44'/60'/0'/0/0".to_owned()),
        ("path_h", "m/44h/60H/1'/0/7".to_owned()),
        ("path_long", "m/1/2/3/4/5/6/7/8/9/10".to_owned()),
        ("spec_hid", "hid:0001ABC".to_owned()),
        ("spec_tcp", "tcp://127.0.0.1:9999".to_owned()),
        ("spec_tcp6", "tcp://[::1]:9999/".to_owned()),
        ("spec_emulator", "emulator".to_owned()),
        (
            "topic_contact",
            v["topics"]["contact"].as_str().unwrap().to_owned(),
        ),
        (
            "topic_private",
            v["topics"]["private_store"].as_str().unwrap().to_owned(),
        ),
    ] {
        write("text_parsers", name, text.as_bytes());
    }
}

fn node_seeds(v: &Value) {
    let envelope = |topic: &str, ts: u64, message: &[u8]| api::Envelope {
        content_topic: topic.to_owned(),
        timestamp_ns: ts,
        message: message.to_vec(),
    };
    let contact = hex(&v["contact_bundle_v1"]);
    let publish = |envelopes: Vec<api::Envelope>| api::PublishRequest { envelopes }.encode_to_vec();
    let seeds: Vec<(&str, u8, Vec<u8>)> = vec![
        (
            "publish_own_contact",
            0,
            publish(vec![envelope(
                "/xmtp/0/contact-@W/proto",
                1_700_000_000_000_000_000,
                &contact,
            )]),
        ),
        (
            "publish_open_topics",
            0,
            publish(vec![
                envelope("/xmtp/0/m-abc/proto", 5, b"one"),
                envelope("/xmtp/0/m-abc/proto", 5, b"two"),
                envelope("/xmtp/0/mE-eph/proto", 6, b"gone"),
            ]),
        ),
        (
            "publish_someone_elses",
            0,
            publish(vec![envelope(
                v["topics"]["contact"].as_str().unwrap(),
                1,
                b"x",
            )]),
        ),
        ("query", 2, {
            api::QueryRequest {
                content_topics: vec!["/xmtp/0/m-abc/proto".into()],
                start_time_ns: 1,
                end_time_ns: 0,
                paging_info: Some(api::PagingInfo {
                    limit: 1,
                    cursor: None,
                    direction: api::SortDirection::Ascending as i32,
                }),
            }
            .encode_to_vec()
        }),
        ("query_cursor", 2, {
            api::QueryRequest {
                content_topics: vec!["/xmtp/0/m-abc/proto".into()],
                start_time_ns: 0,
                end_time_ns: 10,
                paging_info: Some(api::PagingInfo {
                    limit: 0,
                    cursor: Some(api::Cursor {
                        cursor: Some(api::cursor::Cursor::Index(api::IndexCursor {
                            digest: vec![0xAB; 32],
                            sender_time_ns: 5,
                        })),
                    }),
                    direction: api::SortDirection::Descending as i32,
                }),
            }
            .encode_to_vec()
        }),
        ("batch", 3, {
            let query = |topic: &str| api::QueryRequest {
                content_topics: vec![topic.into()],
                ..Default::default()
            };
            api::BatchQueryRequest {
                requests: vec![
                    query("/xmtp/0/m-abc/proto"),
                    query("/xmtp/0/contact-x/proto"),
                ],
            }
            .encode_to_vec()
        }),
        (
            "subscribe",
            4,
            api::SubscribeRequest {
                content_topics: vec!["/xmtp/0/m-abc/proto".into()],
            }
            .encode_to_vec(),
        ),
    ];
    for (name, op, body) in seeds {
        let mut seed = vec![op];
        seed.extend(body);
        write("node_requests", name, &seed);
    }
    // op 5: REST, raw: endpoint ‖ records (header?, body).
    let rest_seeds: [(&str, u8, &[u8], &str); 8] = [
        (
            "rest_publish",
            32,
            b"",
            r#"{"envelopes":[{"contentTopic":"/xmtp/0/m-rest/proto","timestampNs":"7","message":"aGVsbG8="}]}"#,
        ),
        (
            "rest_publish_no_token",
            0,
            b"Bearer x",
            r#"{"envelopes":[{"content_topic":"/xmtp/0/m-rest/proto","timestamp_ns":8,"message":"aGk"}]}"#,
        ),
        (
            "rest_query",
            1,
            b"",
            r#"{"contentTopics":["/xmtp/0/m-rest/proto"],"pagingInfo":{"limit":2,"direction":"SORT_DIRECTION_ASCENDING","cursor":{"index":{"digest":"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=","senderTimeNs":"3"}}}}"#,
        ),
        (
            "rest_batch",
            2,
            b"",
            r#"{"requests":[{"contentTopics":["/xmtp/0/m-abc/proto"]},{"content_topics":["/xmtp/0/m-rest/proto"],"start_time_ns":"1"}]}"#,
        ),
        (
            "rest_subscribe",
            3,
            b"",
            r#"{"contentTopics":["/xmtp/0/m-rest/proto"]}"#,
        ),
        ("rest_subscribe_all", 4, b"", ""),
        ("rest_get", 1 | 8, b"", ""),
        ("rest_options", 16, b"", ""),
    ];
    for (name, endpoint, header, body) in rest_seeds {
        let mut seed = vec![5, endpoint];
        if header.is_empty() {
            seed.extend(encode_records_u16([body.as_bytes()]));
        } else {
            seed.extend(encode_records_u16([header, body.as_bytes()]));
        }
        write("node_requests", name, &seed);
    }
    // ops 6 and 7: form ‖ QueryRequest / BatchQueryRequest, sent over REST and gRPC.
    let query = api::QueryRequest {
        content_topics: vec!["/xmtp/0/m-abc/proto".into(), "/xmtp/0/m-rest/proto".into()],
        start_time_ns: 1,
        end_time_ns: 0,
        paging_info: Some(api::PagingInfo {
            limit: 1,
            cursor: Some(api::Cursor {
                cursor: Some(api::cursor::Cursor::Index(api::IndexCursor {
                    digest: vec![0xFB; 32],
                    sender_time_ns: 9,
                })),
            }),
            direction: api::SortDirection::Ascending as i32,
        }),
    };
    for form in [0u8, 0x0F] {
        let mut seed = vec![6, form];
        seed.extend(query.encode_to_vec());
        write(
            "node_requests",
            &format!("rest_vs_grpc_query_{form:02x}"),
            &seed,
        );
        let mut seed = vec![7, form];
        seed.extend(
            api::BatchQueryRequest {
                requests: vec![query.clone(), api::QueryRequest::default()],
            }
            .encode_to_vec(),
        );
        write(
            "node_requests",
            &format!("rest_vs_grpc_batch_{form:02x}"),
            &seed,
        );
    }
    // op 1: a header and a request.
    let mut seed = vec![1];
    let header = format!("Bearer {}", v["auth_token"]["bearer"].as_str().unwrap());
    seed.extend(encode_records_u16([
        header.as_bytes(),
        publish(vec![envelope("/xmtp/0/m-abc/proto", 9, b"hdr")]).as_slice(),
    ]));
    write("node_requests", "publish_stale_token", &seed);
}

/// `node_answers`: query answers a hostile node might send, behind the 6-byte query shape.
fn node_answer_seeds() {
    let page = |envelopes: Vec<api::Envelope>, cursor: bool| {
        api::QueryResponse {
            envelopes,
            paging_info: Some(api::PagingInfo {
                limit: 100,
                cursor: cursor.then(|| api::Cursor {
                    cursor: Some(api::cursor::Cursor::Index(api::IndexCursor {
                        digest: vec![0xab; 32],
                        sender_time_ns: 7 << 16,
                    })),
                }),
                direction: api::SortDirection::Descending as i32,
            }),
        }
        .encode_to_vec()
    };
    let env = |topic: &str, ts: u64, message: &[u8]| api::Envelope {
        content_topic: topic.into(),
        timestamp_ns: ts,
        message: message.to_vec(),
    };
    let topics = [
        "/xmtp/0/contact-a/proto",
        "/xmtp/0/m-b/proto",
        "/xmtp/0/m-other/proto",
    ];
    let oversized: Vec<_> = (0..150u64)
        .map(|i| env(topics[(i % 3) as usize], (200 - i) << 16, &i.to_le_bytes()))
        .collect();
    let shapes: [(&str, [u8; 6], Vec<u8>); 3] = [
        (
            "oversized_mixed_topics",
            [5, 0, 0, 0, 0, 0],
            page(oversized, true),
        ),
        (
            "time_bounds",
            [0, 1, 0, 50, 0, 150],
            page(
                vec![
                    env(topics[0], u64::MAX, b"far"),
                    env(topics[0], 100 << 16, b"in"),
                ],
                false,
            ),
        ),
        (
            "empty_with_cursor",
            [1, 0, 0, 0, 0, 0],
            page(Vec::new(), true),
        ),
    ];
    for (name, shape, answer) in shapes {
        let mut input = shape.to_vec();
        input.extend_from_slice(&answer);
        write("node_answers", name, &input);
    }
}
