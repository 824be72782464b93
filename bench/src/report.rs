//! Statistics and the Markdown output.

use crate::*;

// ----- statistics and output ---------------------------------------------------------------

/// Nearest-rank percentile (`p` in 0..=100) of unsorted samples; `None` when empty.
pub(crate) fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

pub(crate) fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50.0).unwrap_or_default()
}

/// `1.23 ms`, `456 µs`, `2.50 s`.
pub(crate) fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns >= 1_000_000_000 {
        format!("{:.2} s", d.as_secs_f64())
    } else if ns >= 1_000_000 {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else if ns >= 1_000 {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    } else {
        format!("{ns} ns")
    }
}

/// `1,234,567`.
pub(crate) fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate per second, rounded to 3 significant digits and grouped: `12,300/s`.
pub(crate) fn format_rate(count: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 {
        return "n/a".into();
    }
    let rate = count as f64 / secs;
    let rounded = if rate >= 1000.0 {
        let scale = 10f64.powi(rate.log10().floor() as i32 - 2);
        (rate / scale).round() * scale
    } else {
        rate.round()
    };
    format!("{}/s", group_thousands(rounded as u64))
}

/// `12,300 envelopes/s`.
pub(crate) fn format_rate_of(count: u64, elapsed: Duration, unit: &str) -> String {
    format_rate(count, elapsed).replace("/s", &format!(" {unit}/s"))
}

pub(crate) fn format_kib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// A Markdown table; `|` in cells is escaped.
pub(crate) fn markdown_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| {} |",
        headers
            .iter()
            .map(|h| cell(h))
            .collect::<Vec<_>>()
            .join(" | ")
    );
    let _ = writeln!(
        out,
        "|{}|",
        headers
            .iter()
            .map(|_| " --- ")
            .collect::<Vec<_>>()
            .join("|")
    );
    for row in rows {
        let mut cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
        cells.resize(headers.len(), String::new());
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    out
}

// ----- measurements ------------------------------------------------------------------------

/// One row: what, result, how.
pub(crate) type Row = Vec<String>;

pub(crate) fn row(what: &str, result: String, notes: String) -> Row {
    vec![what.to_owned(), result, notes]
}
