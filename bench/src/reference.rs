//! The reference SDK in the same run: `benches/js/sdk-bench.mjs` (`@xmtp/xmtp-js`) times
//! generation + encryption with the same wallet key and verifies the very contact bundle
//! this run verified; the rows give "reference / ours".

use crate::*;

/// The script, from the workspace root.
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../benches/js/sdk-bench.mjs");

/// What this run measured of its own, for the comparison.
pub(crate) struct OwnFigures {
    /// Median of `flow::generate_identity` with `LocalKeySigner`.
    pub(crate) generate_median: Duration,
    /// Mean time to decode and verify `contact_v2`.
    pub(crate) verify_each: Duration,
    /// The encoded v2 contact bundle both sides verify.
    pub(crate) contact_v2: Vec<u8>,
}

/// What the script printed as `key=value` lines.
#[derive(Debug, PartialEq)]
pub(crate) struct ReferenceFigures {
    pub(crate) sdk_version: String,
    pub(crate) node_version: String,
    pub(crate) generate_median: Duration,
    pub(crate) generate_p90: Duration,
    pub(crate) iterations: u64,
    pub(crate) verify_each: Duration,
    pub(crate) verified: u64,
}

pub(crate) fn parse_reference_output(stdout: &str) -> Result<ReferenceFigures, String> {
    let value = |key: &str| -> Result<&str, String> {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(str::trim)
            .ok_or_else(|| format!("the reference script printed no {key}"))
    };
    let number = |key: &str| -> Result<f64, String> {
        let text = value(key)?;
        text.parse::<f64>()
            .ok()
            .filter(|n| n.is_finite() && *n >= 0.0)
            .ok_or_else(|| format!("the reference script's {key} is not a number: {text}"))
    };
    let count = |key: &str| -> Result<u64, String> {
        let text = value(key)?;
        text.parse()
            .map_err(|_| format!("the reference script's {key} is not a count: {text}"))
    };
    Ok(ReferenceFigures {
        sdk_version: value("sdk_version")?.to_string(),
        node_version: value("node_version")?.to_string(),
        generate_median: Duration::from_secs_f64(number("median_ms")? / 1e3),
        generate_p90: Duration::from_secs_f64(number("p90_ms")? / 1e3),
        iterations: count("iterations")?,
        verify_each: Duration::from_secs_f64(number("verify_us")? / 1e6),
        verified: count("verified")?,
    })
}

/// "reference / ours", e.g. `14.2×`.
pub(crate) fn format_ratio(reference: Duration, ours: Duration) -> String {
    if ours.is_zero() {
        return "n/a".into();
    }
    format!("{:.1}×", reference.as_secs_f64() / ours.as_secs_f64())
}

fn run_reference(plan: &Plan, own: &OwnFigures) -> Result<ReferenceFigures, String> {
    let node = std::env::var_os("NODE").unwrap_or_else(|| "node".into());
    let output = Command::new(&node)
        .arg(SCRIPT)
        .arg(plan.reference_iterations.to_string())
        .arg("--contact")
        .arg(hex::encode(&own.contact_v2))
        .arg("--verify-ms")
        .arg(plan.verify_for.as_millis().to_string())
        .output()
        .map_err(|e| format!("could not run {}: {e}", node.to_string_lossy()))?;
    if !output.status.success() {
        return Err(format!(
            "{SCRIPT} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprint!("{stdout}");
    parse_reference_output(&stdout)
}

/// Runs the reference script and adds the two comparison rows. Without Node.js or the
/// SDK (`npm ci --prefix tests/interop`) the rows say why nothing was compared.
pub(crate) fn measure_reference(plan: &Plan, own: &OwnFigures, rows: &mut Vec<Row>) {
    eprintln!("the reference SDK doing the same work (benches/js/sdk-bench.mjs) …");
    match run_reference(plan, own) {
        Ok(reference) => {
            rows.push(row(
                "generate + encrypt: reference SDK / ours",
                format_ratio(reference.generate_median, own.generate_median),
                format!(
                    "`@xmtp/xmtp-js` {} on Node {} with an ethers wallet of the same key: median {} (p90 {}, n = {}) against {} here",
                    reference.sdk_version,
                    reference.node_version,
                    format_duration(reference.generate_median),
                    format_duration(reference.generate_p90),
                    reference.iterations,
                    format_duration(own.generate_median)
                ),
            ));
            rows.push(row(
                "verify a v2 contact bundle: reference SDK / ours",
                format_ratio(reference.verify_each, own.verify_each),
                format!(
                    "the same contact bundle bytes: `decodeContactBundle` + `walletSignatureAddress` + the identity key's `verifyKey` of the pre-key, {} each ({}, n = {}) against {} here",
                    format_duration(reference.verify_each),
                    format_rate_of(1_000, reference.verify_each * 1_000, "identities"),
                    reference.verified,
                    format_duration(own.verify_each)
                ),
            ));
        }
        Err(reason) => {
            eprintln!("reference SDK not measured: {reason}");
            for what in [
                "generate + encrypt: reference SDK / ours",
                "verify a v2 contact bundle: reference SDK / ours",
            ] {
                rows.push(row(what, "not measured".into(), reason.clone()));
            }
        }
    }
}
