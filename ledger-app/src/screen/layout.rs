//! How a Nano S Plus lays a review value (the `Message` of a personal message review) out on
//! its screen: lines of at most [`LINE_WIDTH`] pixels, [`LINES_PER_PAGE`] lines per page under
//! the title.
//!
//! This is a port of LedgerHQ/ledger-secure-sdk v25.12.3 (the SDK of the official Ethereum app
//! 1.22.0), limited to the text such a value can hold. The value of a tag/value pair is shown
//! by `nbgl_stepDrawText` (`lib_nbgl/src/nbgl_step.c`) with the tag as title and the value as
//! sub-text:
//!
//! - the number of pages is `nbgl_getTextNbPagesInWidth(value, NB_MAX_LINES - 1,
//!   AVAILABLE_WIDTH)`;
//! - page *k* starts where *k* calls of `nbgl_getTextMaxLenInNbLines(.., NB_MAX_LINES - 1, ..)`
//!   end (`getSubTextPageAt`, `displayTextPage`), and shows the rest of the value from there;
//! - `nbgl_layoutAddText` (`lib_nbgl/src/nbgl_layout_nanos.c`) gives that rest as many lines as
//!   `nbgl_getTextNbLinesInWidth` counts in it, at most `NB_MAX_LINES - 1`;
//! - `draw_textArea` (`lib_nbgl/src/nbgl_obj.c`) draws each of those lines as far as
//!   `nbgl_getTextMaxLenAndWidth` reaches.
//!
//! The measuring functions are in `lib_nbgl/src/nbgl_fonts.c`. The value here is always
//! printable ASCII (`0x20`–`0x7E`: the app shows whitespace as spaces, or the whole message as
//! hex), so their branches for `\n`, `\f`, `\b` (bold) and multi-byte UTF-8 never run and are
//! left out, and of the word delimiters (`IS_WORD_DELIM`: space, `\n`, `\b`, `\f`, `-`, `_`)
//! only space, `-` and `_` can occur. Every case of `shared/vectors/nanosp-screens.json` is
//! reproduced by this port (`tests/nano_screens.rs`).

use super::font::measured_width;

/// Pixels of text per line: `AVAILABLE_WIDTH`, `SCREEN_WIDTH - 2 * 7` = 128 − 14 on Nano
/// screens (`lib_nbgl/include/nbgl_layout.h`).
pub const LINE_WIDTH: u32 = 114;

/// Value lines per page: `NB_MAX_LINES - 1` = 4 − 1 on Nano screens
/// (`lib_nbgl/include/nbgl_layout.h`); `nbgl_stepDrawText` keeps the first line for the title.
pub const LINES_PER_PAGE: usize = 3;

/// `IS_WORD_DELIM` (`nbgl_fonts.c`), for printable ASCII: after which characters a line may
/// break.
fn is_word_delimiter(byte: u8) -> bool {
    matches!(byte, b' ' | b'-' | b'_')
}

/// Where the lines of a text begin, as the SDK's wrapping counts them.
#[derive(Debug, PartialEq, Eq)]
struct Wrapped {
    /// Offset at which each line after the first begins.
    breaks: Vec<usize>,
    /// Pixels on the last line.
    last_line_width: u32,
}

impl Wrapped {
    /// The lines `nbgl_getTextNbLinesInWidth` counts on Nano screens: one per break, plus the
    /// last line if anything is on it (so `""` has no line at all).
    fn line_count(&self) -> usize {
        self.breaks.len() + usize::from(self.last_line_width != 0)
    }

    /// The pages `nbgl_getTextNbPagesInWidth` counts: one, plus one each time a page's last
    /// line breaks, even when nothing follows the break (case `i114-then-space` of
    /// `nanosp-screens.json`: a final space that overflows the third line makes an empty page).
    fn page_count(&self) -> usize {
        1 + self.breaks.len() / LINES_PER_PAGE
    }

    /// Where page `page` (from 0) begins: after the last line of the page before it, which is
    /// where `nbgl_getTextMaxLenInNbLines(.., LINES_PER_PAGE, ..)` stops.
    fn page_start(&self, page: usize) -> usize {
        match page {
            0 => 0,
            _ => self.breaks[page * LINES_PER_PAGE - 1],
        }
    }
}

/// The wrapping walk of `nbgl_getTextNbPagesInWidth`, `nbgl_getTextNbLinesInWidth` and
/// `nbgl_getTextMaxLenInNbLines`: characters are added until the next would pass
/// [`LINE_WIDTH`]; the line then breaks after the last delimiter on it, and the text after that
/// delimiter is measured again on the next line; with no delimiter, the character that did not
/// fit begins the next line. The three SDK functions walk a printable text identically and
/// differ only in what they count (the tests below check this against literal ports).
fn wrap(text: &[u8]) -> Wrapped {
    let mut breaks = Vec::new();
    let mut width = 0;
    let mut last_delimiter = None;
    let mut i = 0;
    while let Some(&byte) = text.get(i) {
        let at = i;
        i += 1;
        // Remembered before the width test: a delimiter that does not fit still ends its line
        // (case `i38-space-abc`: the space after 38 `i` is the end of line one).
        if is_word_delimiter(byte) {
            last_delimiter = Some(at);
        }
        let char_width = measured_width(byte);
        if char_width == 0 {
            continue;
        }
        if width + char_width > LINE_WIDTH {
            if let Some(delimiter) = last_delimiter.take() {
                i = delimiter + 1;
                width = 0;
                breaks.push(i);
            } else {
                // A word longer than a line is cut where it overflows, with no hyphen (case
                // `hex-64-no-spaces`); the character that did not fit is the first of the
                // next line.
                width = char_width;
                breaks.push(at);
            }
        } else {
            width += char_width;
        }
    }
    Wrapped {
        breaks,
        last_line_width: width,
    }
}

/// How many bytes of `text` one drawn line takes: `nbgl_getTextMaxLenAndWidth` with wrapping,
/// as `draw_textArea` calls it for each line. It breaks like [`wrap`] except that a delimiter
/// with nothing before it on the line (`widthAtlastDelimiter == 0`) is not a place to break.
/// That matters only on a line that begins with a delimiter (the value's first line, or the
/// line after a delimiter that did not fit when another delimiter follows it) and has no other
/// delimiter before it overflows; no recorded case has such a line.
fn drawn_line_len(text: &[u8]) -> usize {
    let mut len = 0;
    let mut width = 0;
    let mut len_at_last_delimiter = 0;
    let mut width_at_last_delimiter = 0;
    for &byte in text {
        let char_width = measured_width(byte);
        if char_width == 0 {
            len += 1;
            continue;
        }
        if is_word_delimiter(byte) {
            len_at_last_delimiter = len;
            width_at_last_delimiter = width;
        }
        if width + char_width > LINE_WIDTH {
            if width_at_last_delimiter > 0 {
                return len_at_last_delimiter + 1;
            }
            return len;
        }
        len += 1;
        width += char_width;
    }
    len
}

/// The lines each page shows of `text` (printable ASCII), page by page. There is always at
/// least one page; a page may show no line at all (the empty text, or the extra page of case
/// `i114-then-space`). Lines keep their delimiters (a line often ends in a space or `-`), so on
/// every recorded case the lines of all pages, concatenated, are `text` again.
pub fn pages(text: &str) -> Vec<Vec<&str>> {
    debug_assert!(
        text.bytes().all(|b| (0x20..=0x7E).contains(&b)),
        "review values are printable ASCII"
    );
    let wrapped = wrap(text.as_bytes());
    (0..wrapped.page_count())
        .map(|page| {
            let start = wrapped.page_start(page);
            // `nbgl_getTextNbLinesInWidth` of the rest of the value: the walk from a line start
            // is the global walk from there, so its lines are the breaks after `start` plus
            // the last line.
            let lines_in_rest = wrapped.line_count() - page * LINES_PER_PAGE;
            let rest = &text[start..];
            let mut lines = Vec::with_capacity(LINES_PER_PAGE);
            let mut at = 0;
            for _ in 0..lines_in_rest.min(LINES_PER_PAGE) {
                let len = drawn_line_len(&rest.as_bytes()[at..]);
                // An empty line draws nothing.
                if len > 0 {
                    lines.push(&rest[at..at + len]);
                }
                at += len;
            }
            lines
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `nbgl_getTextNbPagesInWidth` (`nbgl_fonts.c`), transcribed line by line for printable
    /// ASCII, to check the shared walk against.
    fn sdk_nb_pages(text: &[u8], nb_lines_per_page: usize) -> usize {
        let (mut width, mut nb_lines, mut nb_pages) = (0, 0, 1);
        let mut last_delimiter: Option<usize> = None;
        let mut i = 0;
        while i < text.len() {
            let prev = i;
            let unicode = text[i];
            i += 1;
            if is_word_delimiter(unicode) {
                last_delimiter = Some(prev);
            }
            let char_width = measured_width(unicode);
            if char_width == 0 {
                continue;
            }
            if width + char_width > LINE_WIDTH {
                if let Some(d) = last_delimiter {
                    i = d + 1;
                    last_delimiter = None;
                    width = 0;
                } else {
                    width = char_width;
                }
                nb_lines += 1;
                if nb_lines == nb_lines_per_page {
                    nb_pages += 1;
                    nb_lines = 0;
                }
            } else {
                width += char_width;
            }
        }
        nb_pages
    }

    /// `nbgl_getTextMaxLenInNbLines` (`nbgl_fonts.c`) with wrapping, transcribed line by line
    /// for printable ASCII.
    fn sdk_max_len_in_nb_lines(text: &[u8], mut max_nb_lines: usize) -> usize {
        let mut width = 0;
        let mut last_delimiter: Option<usize> = None;
        let mut i = 0;
        while i < text.len() && max_nb_lines > 0 {
            let previous = i;
            let unicode = text[i];
            i += 1;
            if is_word_delimiter(unicode) {
                last_delimiter = Some(i);
            }
            let char_width = measured_width(unicode);
            if char_width == 0 {
                continue;
            }
            if width + char_width > LINE_WIDTH {
                if let Some(d) = last_delimiter.take() {
                    i = d;
                } else {
                    i = previous;
                }
                width = 0;
                max_nb_lines -= 1;
                continue;
            }
            width += char_width;
        }
        i
    }

    /// `nbgl_getTextNbLinesInWidth` (`nbgl_fonts.c`, `SCREEN_SIZE_NANO`) with wrapping,
    /// transcribed line by line for printable ASCII.
    fn sdk_nb_lines_in_width(text: &[u8]) -> usize {
        let (mut width, mut nb_lines) = (0, 0);
        let mut last_delimiter: Option<usize> = None;
        let mut i = 0;
        while i < text.len() {
            let prev = i;
            let unicode = text[i];
            i += 1;
            if is_word_delimiter(unicode) {
                last_delimiter = Some(prev);
            }
            let char_width = measured_width(unicode);
            if char_width == 0 {
                continue;
            }
            if width + char_width > LINE_WIDTH {
                if let Some(d) = last_delimiter.take() {
                    i = d + 1;
                    width = 0;
                } else {
                    width = char_width;
                }
                nb_lines += 1;
            } else {
                width += char_width;
            }
        }
        nb_lines + usize::from(width != 0)
    }

    /// Texts of words of many lengths (up to several lines) from narrow, wide and digit
    /// characters, joined by runs of delimiters, some starting with a delimiter: from a
    /// fixed-seed xorshift generator, so that every run checks the same texts.
    fn sample_texts() -> Vec<String> {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound as u64) as usize
        };
        let letters = b"iW4a0lm.";
        let word_lengths = [1, 2, 3, 5, 8, 13, 20, 40, 60];
        let separators = [" ", "-", "_", "  ", " -", "_ ", ""];
        let mut texts = Vec::new();
        for _ in 0..5000 {
            let mut text = String::new();
            if next(5) == 0 {
                text.push(char::from(b" -_"[next(3)]));
            }
            for _ in 0..next(30) {
                for _ in 0..word_lengths[next(word_lengths.len())] {
                    text.push(char::from(letters[next(letters.len())]));
                }
                text.push_str(separators[next(separators.len())]);
            }
            texts.push(text);
        }
        texts
    }

    #[test]
    fn the_shared_walk_counts_like_the_sdk_functions() {
        for text in sample_texts() {
            let bytes = text.as_bytes();
            let wrapped = wrap(bytes);
            assert_eq!(
                wrapped.page_count(),
                sdk_nb_pages(bytes, LINES_PER_PAGE),
                "{text:?}"
            );
            for page in 0..wrapped.page_count() {
                let start = wrapped.page_start(page);
                let rest = &bytes[start..];
                assert_eq!(
                    wrapped.line_count() - page * LINES_PER_PAGE,
                    sdk_nb_lines_in_width(rest),
                    "{text:?} page {page}"
                );
                if page + 1 < wrapped.page_count() {
                    assert_eq!(
                        wrapped.page_start(page + 1) - start,
                        sdk_max_len_in_nb_lines(rest, LINES_PER_PAGE),
                        "{text:?} page {page}"
                    );
                }
            }
        }
    }

    /// Whether the walk makes a line of one delimiter alone: a line that begins with a
    /// delimiter (the text's first line, or the line after a delimiter that did not fit) and
    /// has no other delimiter before it overflows. Only there does the drawing break elsewhere.
    fn has_lone_delimiter_line(text: &[u8]) -> bool {
        let breaks = wrap(text).breaks;
        std::iter::once(0)
            .chain(breaks.iter().copied())
            .zip(breaks.iter().copied())
            .any(|(start, end)| end == start + 1 && is_word_delimiter(text[start]))
    }

    #[test]
    fn drawn_pages_cover_the_text_and_give_it_back_unless_a_line_is_a_lone_delimiter() {
        let mut lone = 0;
        for text in sample_texts() {
            let drawn = pages(&text);
            // Each page draws from where it starts at least to where the next one starts (the
            // last page to the end): no character is ever left out.
            let wrapped = wrap(text.as_bytes());
            for (page, lines) in drawn.iter().enumerate() {
                let start = wrapped.page_start(page);
                let end = match page + 1 {
                    next if next < drawn.len() => wrapped.page_start(next),
                    _ => text.len(),
                };
                let drawn_len: usize = lines.iter().map(|line| line.len()).sum();
                assert!(start + drawn_len >= end, "{text:?} page {page}");
            }
            let joined: String = drawn.concat().concat();
            if has_lone_delimiter_line(text.as_bytes()) {
                lone += 1;
            } else {
                assert_eq!(joined, text);
            }
        }
        assert!(
            lone > 10,
            "the samples reach the lone-delimiter case ({lone})"
        );
    }

    #[test]
    fn a_leading_delimiter_alone_is_no_break_for_the_drawing() {
        // The walk breaks after the space; the drawing, with nothing before the space, cuts
        // the line where it overflows instead (`widthAtlastDelimiter > 0` in
        // `nbgl_getTextMaxLenAndWidth`). Not covered by a recorded case.
        let text = format!(" {}", "i".repeat(50));
        assert_eq!(wrap(text.as_bytes()).breaks, [1, 39]);
        assert_eq!(
            pages(&text),
            [vec![
                format!(" {}", "i".repeat(37)).as_str(),
                "i".repeat(13).as_str()
            ]]
        );
    }

    #[test]
    fn a_page_after_a_lone_delimiter_line_repeats_text() {
        // Line one is 38 `i` (114 px) and the first space, which does not fit but stays; the
        // walk makes the second space a line of its own, the drawing puts 18 `a` after it. So
        // page one draws 18 `a` more than the walk counted, and page two, which starts where
        // the walk's three lines end, shows them again. Not covered by a recorded case.
        let text = format!("{}  {}", "i".repeat(38), "a".repeat(40));
        let a = |n: usize| "a".repeat(n);
        assert_eq!(
            pages(&text),
            [
                vec![
                    format!("{} ", "i".repeat(38)).as_str(),
                    format!(" {}", a(18)).as_str(),
                    a(19).as_str()
                ],
                vec![a(19).as_str(), a(2).as_str()],
            ]
        );
    }

    #[test]
    fn lines_fill_to_exactly_the_line_width() {
        // 38 `i` of 3 px are 114 px: one full line; a 39th goes to the next line.
        assert_eq!(pages(&"i".repeat(38)), [vec!["i".repeat(38).as_str()]]);
        assert_eq!(wrap("i".repeat(39).as_bytes()).breaks, [38]);
        assert_eq!(pages(""), [Vec::<&str>::new()]);
    }
}
