//! Which Ledger the software device stands for: a Nano S Plus or a Nano X. Both show a review
//! page for page and line for line alike, so [`crate::screen`] takes no model.
//!
//! Why the two are one layout (LedgerHQ/ledger-secure-sdk v25.12.3, the SDK of the official
//! Ethereum app 1.22.0):
//!
//! - `Makefile.defines` gives `TARGET_NANOX` and `TARGET_NANOS2` (the Nano S Plus) the same
//!   display defines, in one block: `BAGL_WIDTH=128`, `BAGL_HEIGHT=64`, `SCREEN_SIZE_NANO`,
//!   the fonts `HAVE_BAGL_FONT_OPEN_SANS_REGULAR_11PX`, `..._EXTRABOLD_11PX`,
//!   `..._LIGHT_16PX`, and with NBGL `NBGL_STEP` and `NBGL_USE_CASE`; neither has
//!   `HAVE_SE_TOUCH`, so both build `lib_nbgl/src/nbgl_layout_nanos.c` and
//!   `nbgl_use_case_nanos.c` (each inside `#ifndef HAVE_SE_TOUCH`), not their touch
//!   counterparts.
//! - `lib_nbgl/include/nbgl_types.h`: outside `SCREEN_SIZE_WALLET`, one screen of 128 × 64;
//!   `lib_nbgl/include/nbgl_layout.h`: outside `HAVE_SE_TOUCH`, `AVAILABLE_WIDTH` is
//!   `SCREEN_WIDTH - 2 * 7` and `NB_MAX_LINES` 4.
//! - No file under `lib_nbgl/` tests `TARGET_NANOX` or `TARGET_NANOS2`: everything there
//!   depends on `SCREEN_SIZE_NANO`, `HAVE_SE_TOUCH` or the touch targets only.
//! - `Makefile.standard_app` turns NBGL on for both nano targets alike when an app sets
//!   `ENABLE_NBGL_FOR_NANO_DEVICES`, which app-ethereum 1.22.0's `Makefile` does; the app's
//!   `src/` never tests `TARGET_NANOX` or `TARGET_NANOS2`; its message review
//!   (`src/nbgl/ui_sign_message.c`) differs only under `SCREEN_SIZE_WALLET` (Stax, Flex), and
//!   it turns whitespace into spaces under `SCREEN_SIZE_NANO`, both nano models alike
//!   (`src/features/sign_message/cmd_sign_message.c`, `final_process`).
//!
//! The recordings (`shared/vectors/nanosp-screens.json`) are of a Nano S Plus; the Nano X
//! pages rest on the sources above, not on a recording of their own.
//!
//! Stax and Flex are not modelled: they are touch screens (`HAVE_SE_TOUCH`,
//! `SCREEN_SIZE_WALLET` in `Makefile.defines`) that lay a review out with
//! `lib_nbgl/src/nbgl_use_case.c` in the Inter fonts on 400 × 672 and 480 × 600 screens, page
//! heights and a "more" details view the Nano code has no counterpart of, and nothing here
//! records what they show.

use std::fmt;
use std::str::FromStr;

/// A Ledger model whose review screens the software device reproduces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Model {
    /// Nano S Plus (SDK target `TARGET_NANOS2`): the model the screens were recorded on.
    #[default]
    NanoSPlus,
    /// Nano X (SDK target `TARGET_NANOX`): the same screen, fonts and layout code as the
    /// Nano S Plus (see the module documentation).
    NanoX,
}

impl Model {
    /// Every model, in the order `--model` lists them.
    pub const ALL: [Model; 2] = [Model::NanoSPlus, Model::NanoX];

    /// The short name Speculos and `--model` use: `nanosp`, `nanox`.
    pub fn id(self) -> &'static str {
        match self {
            Self::NanoSPlus => "nanosp",
            Self::NanoX => "nanox",
        }
    }

    /// The model's marketing name: `Nano S Plus`, `Nano X`.
    pub fn name(self) -> &'static str {
        match self {
            Self::NanoSPlus => "Nano S Plus",
            Self::NanoX => "Nano X",
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A model name [`Model`] does not stand for.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// A touch-screen model (`stax`, `flex`): known, but its review pages are not modelled.
    #[error(
        "the {0} is a touch screen whose review pages differ from the Nano's and are not \
         modelled (no recording of them); use nanosp or nanox"
    )]
    Touch(&'static str),
    /// Not a model name at all.
    #[error("unknown model {0:?} (nanosp, nanox)")]
    Unknown(String),
}

impl FromStr for Model {
    type Err = ModelError;

    /// Parses `nanosp` or `nanox`; `stax` and `flex` are refused as not modelled.
    fn from_str(text: &str) -> Result<Self, ModelError> {
        match text {
            "nanosp" => Ok(Self::NanoSPlus),
            "nanox" => Ok(Self::NanoX),
            "stax" => Err(ModelError::Touch("Stax")),
            "flex" => Err(ModelError::Touch("Flex")),
            other => Err(ModelError::Unknown(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_touch_models_are_refused() {
        for model in Model::ALL {
            assert_eq!(model.id().parse::<Model>(), Ok(model));
        }
        assert_eq!(Model::default(), Model::NanoSPlus);
        assert_eq!(Model::NanoX.to_string(), "Nano X");
        assert_eq!("stax".parse::<Model>(), Err(ModelError::Touch("Stax")));
        assert_eq!("flex".parse::<Model>(), Err(ModelError::Touch("Flex")));
        assert!(matches!(
            "nanos".parse::<Model>(),
            Err(ModelError::Unknown(_))
        ));
    }
}
