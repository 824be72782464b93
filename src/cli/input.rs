//! Reading bytes a person hands us: a file or stdin, as hex, base64 or raw.

use std::io::Read;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use xmtp_ledger::identity::Address;

use super::error::CliError;

/// What was read, and the auth-token prefix if the text was a `Bearer …` header.
pub struct InputBytes {
    /// The decoded bytes.
    pub bytes: Vec<u8>,
    /// The text started with `Bearer ` (an authorization header value).
    pub bearer: bool,
}

/// Reads `path` (or stdin for `-`), limited to `max` bytes.
pub fn read_input(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut raw = Vec::new();
    if path == Path::new("-") {
        std::io::stdin().take(max + 1).read_to_end(&mut raw)?;
    } else {
        std::fs::File::open(path)?
            .take(max + 1)
            .read_to_end(&mut raw)?;
    }
    if raw.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "input is larger than {max} bytes"
        )));
    }
    Ok(raw)
}

/// The largest address list read (about 300,000 addresses).
const MAX_ADDRESS_LIST_BYTES: u64 = 16 * 1024 * 1024;

/// Addresses from `path` (or stdin for `-`), one per line, each with its line number;
/// blank lines and lines starting with `#` are skipped. A line that is not an address
/// is a usage error naming it.
pub fn read_address_list(path: &Path) -> Result<Vec<(usize, Address)>, CliError> {
    let name = if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let raw = read_input(path, MAX_ADDRESS_LIST_BYTES)
        .map_err(CliError::io(format!("reading addresses from {name}")))?;
    let text =
        String::from_utf8(raw).map_err(|_| CliError::Usage(format!("{name} is not UTF-8 text")))?;
    let mut addresses = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let address = line
            .parse()
            .map_err(|e| CliError::Usage(format!("{name} line {}: {e}", index + 1)))?;
        addresses.push((index + 1, address));
    }
    Ok(addresses)
}

/// Decodes text as hex (optionally `0x`), then base64 (standard or URL-safe); anything
/// that is not such text is taken as raw bytes.
pub fn decode_flexible(raw: Vec<u8>) -> InputBytes {
    let Ok(text) = std::str::from_utf8(&raw) else {
        return InputBytes {
            bytes: raw,
            bearer: false,
        };
    };
    let mut text = text.trim();
    let bearer = text.starts_with("Bearer ");
    if bearer {
        text = text["Bearer ".len()..].trim();
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let hex_digits = compact.strip_prefix("0x").unwrap_or(&compact);
    if !hex_digits.is_empty()
        && hex_digits.len().is_multiple_of(2)
        && hex_digits.chars().all(|c| c.is_ascii_hexdigit())
        && let Ok(bytes) = hex::decode(hex_digits)
    {
        return InputBytes { bytes, bearer };
    }
    if let Ok(bytes) = STANDARD.decode(&compact) {
        return InputBytes { bytes, bearer };
    }
    if let Ok(bytes) = URL_SAFE_NO_PAD.decode(compact.trim_end_matches('=')) {
        return InputBytes { bytes, bearer };
    }
    InputBytes {
        bytes: raw,
        bearer: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_hex_base64_and_raw() {
        assert_eq!(decode_flexible(b"0a0b\n".to_vec()).bytes, vec![0x0a, 0x0b]);
        assert_eq!(decode_flexible(b"0x0A0B".to_vec()).bytes, vec![0x0a, 0x0b]);
        assert_eq!(
            decode_flexible(b"CgsM".to_vec()).bytes,
            vec![0x0a, 0x0b, 0x0c]
        );
        let token = decode_flexible(b"Bearer CgsM".to_vec());
        assert!(token.bearer);
        assert_eq!(token.bytes, vec![0x0a, 0x0b, 0x0c]);
        assert_eq!(
            decode_flexible(vec![0xff, 0x00, 0x12]).bytes,
            vec![0xff, 0x00, 0x12]
        );
    }
}
