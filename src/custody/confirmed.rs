//! The accounts a person has checked on the device screen (`address --confirm`): a
//! small JSON file of derivation path and address pairs, which a policy with
//! `require_confirmed_address` consults. A pair, not a path: the same path on another
//! device or behind another passphrase is another account, and must be shown again.

use serde::{Deserialize, Serialize};

use crate::device::DerivationPath;
use crate::identity::Address;

/// The largest file read: thousands of accounts.
pub const MAX_CONFIRMED_BYTES: usize = 1 << 20;

/// Why the file was refused.
#[derive(Debug, thiserror::Error)]
#[error("not a confirmed-accounts file: {0}")]
pub struct ConfirmedError(String);

/// One account shown and approved on the device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmedAccount {
    /// The derivation path, as [`DerivationPath`] prints it.
    pub hd_path: String,
    /// The address the device showed (EIP-55).
    pub address: String,
    /// When it was first confirmed (RFC 3339).
    pub confirmed_at: String,
}

/// Every confirmed account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmedAccounts {
    /// In the order they were first confirmed.
    pub accounts: Vec<ConfirmedAccount>,
}

impl ConfirmedAccounts {
    /// Parses the file's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConfirmedError> {
        if bytes.len() > MAX_CONFIRMED_BYTES {
            return Err(ConfirmedError(format!(
                "larger than {MAX_CONFIRMED_BYTES} bytes"
            )));
        }
        serde_json::from_slice(bytes).map_err(|e| ConfirmedError(e.to_string()))
    }

    /// The file's bytes (pretty JSON, a final newline).
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Whether `address` at `path` was confirmed.
    pub fn contains(&self, path: &DerivationPath, address: &Address) -> bool {
        let path = path.to_string();
        self.accounts
            .iter()
            .any(|a| a.hd_path == path && a.address.parse::<Address>().is_ok_and(|a| a == *address))
    }

    /// Records `address` at `path` as confirmed at `time`; `false` if it already was.
    pub fn add(&mut self, path: &DerivationPath, address: &Address, time: &str) -> bool {
        if self.contains(path, address) {
            return false;
        }
        self.accounts.push(ConfirmedAccount {
            hd_path: path.to_string(),
            address: address.to_checksum(),
            confirmed_at: time.to_owned(),
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refuse_unknown_fields() {
        let path = DerivationPath::ledger_live(3).unwrap();
        let address: Address = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
            .parse()
            .unwrap();
        let mut confirmed = ConfirmedAccounts::default();
        assert!(confirmed.add(&path, &address, "t"));
        assert!(!confirmed.add(&path, &address, "t"));
        let back = ConfirmedAccounts::from_json(&confirmed.to_json()).unwrap();
        assert!(back.contains(&path, &address));
        assert!(!back.contains(&DerivationPath::ledger_live(4).unwrap(), &address));
        assert!(ConfirmedAccounts::from_json(b"{\"accounts\":[],\"x\":1}").is_err());
        assert!(ConfirmedAccounts::from_json(b"[").is_err());
    }
}
