//! GET APP CONFIGURATION (`E0 06`): `flags, major, minor, patch`.
//!
//! P1, P2 and data are ignored, the app context is not reset and no user action is needed, which
//! makes it the host's cheap liveness probe.

use super::Reply;
use crate::AppVersion;

/// Flag bit: blind signing ("arbitrary data") enabled by the user.
pub const FLAG_BLIND_SIGNING: u8 = 0x01;
/// Flag bit: ERC-20 token information must be provided externally (always set by the app).
pub const FLAG_EXTERNAL_TOKEN_INFO: u8 = 0x02;

pub(crate) fn handle(version: AppVersion, blind_signing: bool) -> Reply {
    let mut flags = FLAG_EXTERNAL_TOKEN_INFO;
    if blind_signing {
        flags |= FLAG_BLIND_SIGNING;
    }
    Reply::ok(vec![flags, version.major, version.minor, version.patch])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_is_flags_then_version() {
        let v = AppVersion::new(1, 22, 0);
        assert_eq!(handle(v, false).into_answer(), [0x02, 1, 0x16, 0, 0x90, 0]);
        assert_eq!(handle(v, true).data, [0x03, 1, 0x16, 0]);
    }
}
