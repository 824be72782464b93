//! What a Nano S Plus shows, checked against what the official Ethereum app 1.22.0 showed in
//! Speculos (`shared/vectors/nanosp-screens.json`) and against the SDK's font
//! (`shared/vectors/nano-font-widths.json`); and the same recordings for a Nano X, which the
//! SDK builds with the same screen, fonts and layout code (`ledger_app::model`).

mod common;

use common::*;
use ledger_app::screen::{self, font};
use ledger_app::{DeviceConfig, Model, SoftwareDevice};

/// The glyph table in `src/screen/font.rs` is the SDK's, width for width.
#[test]
fn font_table_is_the_sdk_font() {
    let file = read_vectors("nano-font-widths.json");
    let widths = file["widths"].as_object().expect("`widths` object");
    assert_eq!(
        widths.len(),
        font::ADVANCE_WIDTHS.len(),
        "characters in the file"
    );
    for (code, width) in widths {
        let code: u8 = code.parse().expect("code point of an ASCII character");
        let width = width.as_u64().expect("a width in pixels");
        assert_eq!(
            font::advance_width(code).map(u64::from),
            Some(width),
            "width of {:?}",
            char::from(code)
        );
    }
}

/// The account the recordings signed with (`source` of `nanosp-screens.json`).
const ACCOUNT_0: &str = "m/44'/60'/0'/0/0";

/// A screen as lines: the title, then each line under it.
type Lines = Vec<String>;

/// The recorded screens of a case, from a JSON array of arrays of lines.
fn recorded(value: &serde_json::Value) -> Vec<Lines> {
    value
        .as_array()
        .expect("an array of screens")
        .iter()
        .map(|screen| {
            screen
                .as_array()
                .expect("a screen is an array of lines")
                .iter()
                .map(|line| line.as_str().expect("a line is a string").to_owned())
                .collect()
        })
        .collect()
}

/// Undoes a recording artefact (notes of `nanosp-screens.json`, case `underscores`, and
/// `shared/reference/nano-screens.md` rule 7): Speculos reports a row as several lines where a
/// glyph starts below the bottom of the glyphs before it on that row, which `_` does (`snake` /
/// `_case_identifier_`); the device shows one row. A drawn row never begins with `_` after
/// another row (it breaks after the last delimiter, and a `_` that does not fit stays on its
/// row), so a reported line that begins with `_` continues the line before it.
fn join_underscore_splits(screen: Lines) -> Lines {
    let mut joined: Lines = Vec::with_capacity(screen.len());
    for (i, line) in screen.into_iter().enumerate() {
        match joined.last_mut() {
            // Index 0 is the title.
            Some(previous) if i > 1 && line.starts_with('_') => previous.push_str(&line),
            _ => joined.push(line),
        }
    }
    joined
}

/// One screen on one line for a diff, each line quoted so that its final spaces show.
fn show(screen: &[String]) -> String {
    let mut out = screen.first().cloned().unwrap_or_default();
    for line in &screen[1.min(screen.len())..] {
        out.push_str(&format!(" | {line:?}"));
    }
    out
}

/// Screen-by-screen comparison: `None` when equal, else every screen, differing ones marked
/// `-` (recorded) and `+` (software device).
fn screen_diff(expected: &[Lines], got: &[Lines]) -> Option<String> {
    if expected == got {
        return None;
    }
    let mut out = String::from("    screens (- recorded on the app, + software device):\n");
    for i in 0..expected.len().max(got.len()) {
        match (expected.get(i), got.get(i)) {
            (Some(e), Some(g)) if e == g => out.push_str(&format!("        {}\n", show(e))),
            (e, g) => {
                if let Some(e) = e {
                    out.push_str(&format!("      - {}\n", show(e)));
                }
                if let Some(g) = g {
                    out.push_str(&format!("      + {}\n", show(g)));
                }
            }
        }
    }
    Some(out)
}

/// Runs one recorded case on a software device standing for `model`; returns what differs,
/// if anything.
fn check_case(case: &serde_json::Value, model: Model) -> Result<(), String> {
    let name = case["name"].as_str().expect("case name");
    let text = case["text"].as_str().expect("case text");
    let mut problems = Vec::new();

    // Approve like the recording: right on every screen, both buttons on `Sign message`.
    let mut config = DeviceConfig::test_mnemonic();
    config.model = model;
    let device = SoftwareDevice::new(config).expect("the test mnemonic");
    assert_eq!(device.model(), model);
    let p = path(ACCOUNT_0);
    let apdus = personal_sign_apdus(&p, text.as_bytes(), 255);
    let expected_apdus = case["apdus"].as_u64().expect("apdus") as usize;
    if apdus.len() != expected_apdus {
        problems.push(format!(
            "    APDUs: recorded {expected_apdus}, sent {}\n",
            apdus.len()
        ));
    }
    let answers: Vec<Vec<u8>> = apdus.iter().map(|a| device.exchange(a)).collect();
    let last = answers.last().expect("at least one APDU");
    if let Some(bad) = answers[..answers.len() - 1]
        .iter()
        .find(|a| a.as_slice() != [0x90, 0x00])
    {
        problems.push(format!("    intermediate APDU answered {bad:02x?}\n"));
    }
    // The app answers v || r || s; the file has r || s || v.
    if sw(last) != 0x9000 || last.len() != 67 {
        problems.push(format!("    signing answered {last:02x?}\n"));
    } else {
        let vrs = data(last);
        let rsv = hex::encode([&vrs[1..], &vrs[..1]].concat());
        let recorded_signature = case["signature"].as_str().expect("signature");
        if rsv != recorded_signature {
            problems.push(format!(
                "    signature: recorded {recorded_signature}, made {rsv}\n"
            ));
        }
    }

    // The recording never scrolled onto `Reject message`, which the review shows after `Sign
    // message`; everything else the device showed, in order, was recorded.
    let got: Vec<Lines> = device
        .screens()
        .iter()
        .filter(|s| s.title != screen::REJECT_MESSAGE)
        .map(|s| {
            std::iter::once(s.title.clone())
                .chain(s.lines().map(str::to_owned))
                .collect()
        })
        .collect();
    let expected: Vec<Lines> = recorded(&case["screens"])
        .into_iter()
        .chain(recorded(&case["after_signed"]))
        .map(join_underscore_splits)
        .collect();
    problems.extend(screen_diff(&expected, &got));

    if problems.is_empty() {
        Ok(())
    } else {
        let shown: String = format!("{text:?}").chars().take(70).collect();
        Err(format!(
            "case `{name}` (text {shown}…):\n{}",
            problems.concat()
        ))
    }
}

/// Every case the official app 1.22.0 was recorded on: the same screens, page for page and
/// line for line, from `Review message` to the home screen after `Message signed` (and the
/// same APDU count and signature).
#[test]
fn every_recorded_review_is_reproduced_line_for_line() {
    check_every_case(Model::NanoSPlus);
}

/// The Nano X shows what the Nano S Plus showed: no recording of its own, but the SDK
/// compiles the same layout for both (`ledger_app::model`), and so must the software device.
#[test]
fn a_nano_x_shows_every_recorded_review_as_the_nano_s_plus() {
    check_every_case(Model::NanoX);
}

fn check_every_case(model: Model) {
    let file = read_vectors("nanosp-screens.json");
    let cases = file["cases"].as_array().expect("`cases` array");
    assert!(cases.len() >= 27, "{} recorded cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| check_case(c, model).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{model}: {} of {} recorded cases differ:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
