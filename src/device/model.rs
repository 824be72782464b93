//! Which Ledger model a device is, and whether the host can preview its review pages.
//!
//! The model comes from the USB product id (`hid`), from the software device in this process,
//! or not at all: a Speculos-compatible `tcp://` socket carries APDUs only, so a device
//! reached that way does not say what it is.

use std::fmt;

/// Ledger hardware models, identified by USB product id (LedgerHQ/ledger-secure-sdk v25.12.3
/// `lib_stusb/include/usbd_ledger.h`: `USBD_LEDGER_PRODUCT_NANOX = 0x4000`, `..._NANOS_PLUS =
/// 0x5000`, `..._STAX = 0x6000`, `..._FLEX = 0x7000`, and the legacy ids `0x0004`..`0x0007`;
/// Speculos's copy of the same header agrees).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LedgerModel {
    /// Ledger Blue.
    Blue,
    /// Nano S (discontinued; Ethereum app support ended with 1.16.1).
    NanoS,
    /// Nano X.
    NanoX,
    /// Nano S Plus.
    NanoSPlus,
    /// Stax.
    Stax,
    /// Flex.
    Flex,
    /// Apex P.
    ApexP,
    /// A product id this version does not know.
    Unknown(u16),
}

impl LedgerModel {
    /// Model from a USB product id: old firmware uses whole "legacy" ids (`0x0001` = Nano S,
    /// `0x0004` = Nano X, ...); current firmware uses `0xMMII`, MM the model and II a bitmask of
    /// enabled interfaces.
    pub fn from_product_id(product_id: u16) -> Self {
        match product_id {
            0x0000 => return Self::Blue,
            0x0001 => return Self::NanoS,
            0x0004 => return Self::NanoX,
            0x0005 => return Self::NanoSPlus,
            0x0006 => return Self::Stax,
            0x0007 => return Self::Flex,
            0x0008 => return Self::ApexP,
            _ => {}
        }
        match product_id >> 8 {
            0x00 => Self::Blue,
            0x10 => Self::NanoS,
            0x40 => Self::NanoX,
            0x50 => Self::NanoSPlus,
            0x60 => Self::Stax,
            0x70 => Self::Flex,
            0x80 => Self::ApexP,
            _ => Self::Unknown(product_id),
        }
    }

    /// Marketing name.
    pub fn name(&self) -> String {
        match self {
            Self::Blue => "Blue".into(),
            Self::NanoS => "Nano S".into(),
            Self::NanoX => "Nano X".into(),
            Self::NanoSPlus => "Nano S Plus".into(),
            Self::Stax => "Stax".into(),
            Self::Flex => "Flex".into(),
            Self::ApexP => "Apex P".into(),
            Self::Unknown(pid) => format!("unknown model (product id {pid:#06x})"),
        }
    }
}

impl LedgerModel {
    /// Whether the Ethereum app shows a review on this model as on the Nano S Plus it was
    /// recorded on (`shared/vectors/nanosp-screens.json`), so that [`super::review`] can
    /// preview its pages: the Nano S Plus and the Nano X. In LedgerHQ/ledger-secure-sdk
    /// v25.12.3 `Makefile.defines` sets one block of display defines for `TARGET_NANOX` and
    /// `TARGET_NANOS2` alike (128 × 64, `SCREEN_SIZE_NANO`, the Open Sans 11 px fonts, no
    /// `HAVE_SE_TOUCH`), and nothing under `lib_nbgl/` tells the two apart; app-ethereum
    /// 1.22.0 branches only on `SCREEN_SIZE_NANO`/`SCREEN_SIZE_WALLET`. Stax and Flex are
    /// touch screens (`nbgl_use_case.c`, Inter fonts, other sizes) with no recording here;
    /// the Nano S and Blue predate NBGL.
    pub fn has_nano_layout(self) -> bool {
        matches!(self, Self::NanoSPlus | Self::NanoX)
    }
}

impl fmt::Display for LedgerModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_from_current_and_legacy_product_ids() {
        let cases = [
            (0x4011, LedgerModel::NanoX),
            (0x4015, LedgerModel::NanoX),
            (0x5011, LedgerModel::NanoSPlus),
            (0x5015, LedgerModel::NanoSPlus),
            (0x6011, LedgerModel::Stax),
            (0x7011, LedgerModel::Flex),
            (0x8011, LedgerModel::ApexP),
            (0x1011, LedgerModel::NanoS),
            (0x0011, LedgerModel::Blue),
            (0x0000, LedgerModel::Blue),
            (0x0001, LedgerModel::NanoS),
            (0x0004, LedgerModel::NanoX),
            (0x0005, LedgerModel::NanoSPlus),
            (0x0006, LedgerModel::Stax),
            (0x0007, LedgerModel::Flex),
            (0x0008, LedgerModel::ApexP),
            (0x9011, LedgerModel::Unknown(0x9011)),
            (0x2011, LedgerModel::Unknown(0x2011)),
        ];
        for (pid, model) in cases {
            assert_eq!(LedgerModel::from_product_id(pid), model, "{pid:#06x}");
        }
        assert_eq!(LedgerModel::NanoSPlus.to_string(), "Nano S Plus");
        assert!(LedgerModel::Unknown(0x9011).to_string().contains("0x9011"));
    }

    #[test]
    fn only_the_nano_s_plus_and_nano_x_have_the_recorded_layout() {
        let nano: Vec<LedgerModel> = [
            LedgerModel::Blue,
            LedgerModel::NanoS,
            LedgerModel::NanoX,
            LedgerModel::NanoSPlus,
            LedgerModel::Stax,
            LedgerModel::Flex,
            LedgerModel::ApexP,
            LedgerModel::Unknown(0x9011),
        ]
        .into_iter()
        .filter(|m| m.has_nano_layout())
        .collect();
        assert_eq!(nano, [LedgerModel::NanoX, LedgerModel::NanoSPlus]);
    }
}
