//! Glyph widths of the font a Nano S Plus writes review text in: Open Sans Regular 11 px
//! (`BAGL_FONT_OPEN_SANS_REGULAR_11px_1bpp`).
//!
//! Source: LedgerHQ/ledger-secure-sdk v25.12.3 (the SDK the official Ethereum app 1.22.0 is built
//! with), `lib_nbgl/include/fonts/nbgl_font_open_sans_regular_11.json` (the `width` of each
//! `nbgl_font_character`), and the font descriptor in `nbgl_font_open_sans_regular_11.inc`
//! (first character `0x20`, last `0x7E`, kerning 1). The same figures are in
//! `shared/vectors/nano-font-widths.json`, which `tests/nano_screens.rs` checks this table
//! against.

/// First character the font has (`first_char` of the font descriptor).
pub const FIRST_CHAR: u8 = 0x20;
/// Last character the font has (`last_char` of the font descriptor).
pub const LAST_CHAR: u8 = 0x7E;
/// `char_kerning` of the font descriptor: `getCharWidth` (`lib_nbgl/src/nbgl_fonts.c`)
/// subtracts it from every advance width when it measures text.
pub const KERNING: u8 = 1;

/// Advance width in pixels of each character from [`FIRST_CHAR`] to [`LAST_CHAR`], in order
/// (the `width` field of the SDK's JSON, before [`KERNING`] is taken off).
#[rustfmt::skip]
pub const ADVANCE_WIDTHS: [u8; (LAST_CHAR - FIRST_CHAR + 1) as usize] = [
    4, 4, 5, 8, 7, 10, 10, 3,   // ' ' '!' '"' '#' '$' '%' '&' '\''
    4, 4, 7, 7, 4, 5, 4, 5,     // '(' ')' '*' '+' ',' '-' '.' '/'
    7, 7, 7, 7, 9, 7, 7, 7,     // '0' '1' '2' '3' '4' '5' '6' '7'
    7, 7, 4, 4, 7, 7, 7, 6,     // '8' '9' ':' ';' '<' '=' '>' '?'
    11, 8, 8, 8, 9, 7, 7, 9,    // '@' 'A' 'B' 'C' 'D' 'E' 'F' 'G'
    9, 4, 4, 8, 7, 11, 9, 10,   // 'H' 'I' 'J' 'K' 'L' 'M' 'N' 'O'
    8, 10, 8, 7, 8, 9, 8, 11,   // 'P' 'Q' 'R' 'S' 'T' 'U' 'V' 'W'
    8, 7, 7, 5, 5, 5, 7, 6,     // 'X' 'Y' 'Z' '[' '\\' ']' '^' '_'
    7, 7, 8, 6, 8, 7, 6, 7,     // '`' 'a' 'b' 'c' 'd' 'e' 'f' 'g'
    8, 4, 4, 7, 4, 11, 8, 8,    // 'h' 'i' 'j' 'k' 'l' 'm' 'n' 'o'
    8, 8, 5, 6, 5, 8, 7, 10,    // 'p' 'q' 'r' 's' 't' 'u' 'v' 'w'
    7, 7, 6, 5, 7, 5, 7,        // 'x' 'y' 'z' '{' '|' '}' '~'
];

/// The advance width of `byte` in the font, or `None` when the font has no such character.
pub fn advance_width(byte: u8) -> Option<u8> {
    (FIRST_CHAR..=LAST_CHAR)
        .contains(&byte)
        .then(|| ADVANCE_WIDTHS[usize::from(byte - FIRST_CHAR)])
}

/// The pixels `byte` takes on a line when the SDK measures text: its advance width minus
/// [`KERNING`], and 0 for a character the font lacks (as `getCharWidth` in
/// `lib_nbgl/src/nbgl_fonts.c` answers; such a character is then skipped).
pub fn measured_width(byte: u8) -> u32 {
    advance_width(byte).map_or(0, |w| u32::from(w - KERNING))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The examples the reference (`shared/reference/nano-screens.md`, rule 3) gives, in
    /// measured pixels.
    #[test]
    fn measured_widths_match_the_reference_examples() {
        for (chars, px) in [
            ("ilIj ", 3),
            ("012356789", 6),
            ("4", 8),
            ("a", 6),
            ("b", 7),
            ("c", 5),
            ("d", 7),
            ("e", 6),
            ("f", 5),
            ("WmM@", 10),
        ] {
            for b in chars.bytes() {
                assert_eq!(measured_width(b), px, "{:?}", char::from(b));
            }
        }
        assert_eq!(advance_width(0x1F), None);
        assert_eq!(advance_width(0x7F), None);
        assert_eq!(measured_width(0x7F), 0);
    }
}
