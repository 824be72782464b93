//! `xmtp-ledger emulator --model`, what a host learns of the model, and the emulator after
//! the Ethereum app exits (a message approved at a derivation path the OS refuses).

mod common;

use std::sync::Arc;

use common::cli::{ACCOUNT_0, Service, Setup, command};
use xmtp_ledger::device::{
    DerivationPath, DeviceErrorKind, EthApp, TcpOptions, TcpTransport, Transport,
};

#[test]
fn touch_models_are_refused_saying_why() {
    for (model, name) in [("stax", "Stax"), ("flex", "Flex")] {
        let flag = command()
            .args(["emulator", "--listen", "127.0.0.1:0", "--model", model])
            .output()
            .expect("run");
        let variable = command()
            .args(["emulator", "--listen", "127.0.0.1:0"])
            .env("XMTP_LEDGER_EMULATOR_MODEL", model)
            .output()
            .expect("run");
        for output in [flag, variable] {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{model}: {stderr}");
            assert!(output.stdout.is_empty(), "never listened: {model}");
            assert!(
                stderr.contains(&format!("--model {model}: the {name} is a touch screen"))
                    && stderr.contains("not modelled"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn help_says_what_each_model_rests_on() {
    let help = command()
        .args(["emulator", "--help"])
        .output()
        .expect("run");
    let help = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for said in [
        "nanosp: Nano S Plus: every screen as recorded",
        "nanox: Nano X: the Nano S Plus screens. Not recorded on a Nano X",
        "stax: Refused: a touch screen whose review pages are not modelled",
        "flex: Refused: a touch screen",
        "[default: nanosp]",
    ] {
        assert!(help.contains(said), "{said:?} missing from: {help}");
    }
}

#[test]
fn the_ready_file_names_the_model() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (args, model) in [(&[][..], "nanosp"), (&["--model", "nanox"][..], "nanox")] {
        let file = dir.path().join(format!("{model}.json"));
        let mut all = args.to_vec();
        all.extend(["--ready-file", file.to_str().expect("utf-8 path")]);
        let _device = Service::emulator(&all);
        let ready: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&file).expect("ready file")).expect("JSON");
        assert_eq!(ready["model"], model, "{ready}");
    }
}

/// The software device in this process says it is a Nano S Plus, and the preview before each
/// approval says the pages are that model's (over `tcp://` it says they are assumed:
/// `cli_prompts.rs`).
#[test]
fn the_in_process_device_previews_the_nano_s_plus_layout() {
    let setup = Setup::new();
    let out = setup.dir.path().join("out");
    let run = command()
        .args(["--device", "emulator", "--network", &setup.network_flag()])
        .args(["init", "--out", out.to_str().expect("utf-8 path")])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "signature 1 of 2 for {ACCOUNT_0} (m/44'/60'/0'/0/0): the Ledger shows 'Review \
             message', then 5 pages (Nano S Plus layout):"
        )),
        "{stderr}"
    );
}

/// On a real device the app exits to the dashboard, and someone has to open it again; the
/// emulator's person does that at once, so the next connection finds the Ethereum app (before,
/// the emulator stayed on its dashboard until restarted).
#[test]
fn after_the_app_exits_the_next_connection_finds_it_open_again() {
    let device = Service::emulator(&["--model", "nanox"]);
    let connect = || {
        let transport =
            TcpTransport::connect_with(device.addr.as_str(), TcpOptions::default()).expect("tcp");
        assert_eq!(
            transport.model(),
            None,
            "a tcp:// link does not say its model"
        );
        EthApp::new(Arc::new(transport))
    };
    // 44'/501' (Solana) is a path the Ethereum app's OS refuses: the review is approved,
    // then the app exits without answering.
    let refused: DerivationPath = "m/44'/501'/0'/0'".parse().expect("path");
    let error = connect()
        .sign_personal_message(&refused, b"hello")
        .expect_err("no answer");
    assert_eq!(error.kind(), DeviceErrorKind::Disconnected, "{error}");

    let app = connect();
    let config = app
        .ensure_ethereum_app()
        .expect("the Ethereum app is open again");
    assert_eq!(config.version.to_string(), "1.22.0");
    let account: DerivationPath = "m/44'/60'/0'/0/0".parse().expect("path");
    assert_eq!(
        app.address(&account).expect("address").to_string(),
        ACCOUNT_0
    );
}
