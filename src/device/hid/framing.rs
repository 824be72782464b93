//! The Ledger HID framing of APDUs, the one place HID report bytes are built and parsed.
//!
//! Every report is 64 bytes: `channel(2) ‖ tag 0x05 ‖ sequence index(2) ‖ payload`, big-endian,
//! channel `0x0101`, sequence numbers from 0. The payload stream is `u16be(len) ‖ bytes`, cut
//! into 59-byte slices, the last report padded with zeros. Commands are framed that way; the
//! answer (`data ‖ SW`) comes back the same way. hidapi wants each output report prefixed with
//! its report id, `0x00` for a device without numbered reports, hence 65-byte writes.

use zeroize::Zeroize;

/// The channel every report carries.
pub const CHANNEL: u16 = 0x0101;
/// The tag of an APDU report.
pub const TAG_APDU: u8 = 0x05;
/// Size of one HID report on the APDU interface.
pub const REPORT_SIZE: usize = 64;
/// Header bytes of every report: channel, tag, sequence index.
const HEADER: usize = 5;

/// The output reports that carry `apdu`, each with its leading report id `0x00`.
///
/// `apdu` is at most 5 + 255 bytes (an [`super::super::ApduCommand`]), well within the
/// `u16` length and sequence index.
pub fn request_reports(apdu: &[u8]) -> Vec<[u8; REPORT_SIZE + 1]> {
    let len = u16::try_from(apdu.len()).unwrap_or(u16::MAX);
    let mut stream = Vec::with_capacity(2 + apdu.len());
    stream.extend_from_slice(&len.to_be_bytes());
    stream.extend_from_slice(apdu);
    stream
        .chunks(REPORT_SIZE - HEADER)
        .enumerate()
        .map(|(sequence, chunk)| {
            let mut report = [0u8; REPORT_SIZE + 1];
            report[1..3].copy_from_slice(&CHANNEL.to_be_bytes());
            report[3] = TAG_APDU;
            // At most a handful of reports for a short APDU.
            report[4..6].copy_from_slice(&(sequence as u16).to_be_bytes());
            report[6..6 + chunk.len()].copy_from_slice(chunk);
            report
        })
        .collect()
}

/// Why an input report does not belong to the answer being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FramingError {
    /// Shorter than its header (and, for the first report, the length).
    Short {
        /// Bytes in the report.
        len: usize,
    },
    /// Another channel: another program's conversation.
    Channel(u16),
    /// Not an APDU report.
    Tag(u8),
    /// A report out of sequence: another program's conversation, or a lost report.
    Sequence {
        /// The index expected.
        expected: u16,
        /// The index received.
        got: u16,
    },
}

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Short { len } => write!(f, "a HID report of {len} bytes is too short"),
            Self::Channel(channel) => write!(f, "a HID report on channel {channel:#06x}"),
            Self::Tag(tag) => write!(f, "a HID report with tag {tag:#04x}"),
            Self::Sequence { expected, got } => {
                write!(f, "HID report {got} arrived where {expected} was expected")
            }
        }
    }
}

/// Reassembles one answer from its input reports. The bytes are wiped on drop: an answer can
/// be a signature.
#[derive(Default)]
pub struct AnswerAssembler {
    next_sequence: u16,
    expected: Option<usize>,
    data: Vec<u8>,
}

impl AnswerAssembler {
    /// Takes the next input report; returns the whole answer (`data ‖ SW`) once complete.
    pub fn push(&mut self, report: &[u8]) -> Result<Option<Vec<u8>>, FramingError> {
        let first = self.expected.is_none();
        if report.len() < HEADER + if first { 2 } else { 0 } {
            return Err(FramingError::Short { len: report.len() });
        }
        let channel = u16::from_be_bytes([report[0], report[1]]);
        if channel != CHANNEL {
            return Err(FramingError::Channel(channel));
        }
        if report[2] != TAG_APDU {
            return Err(FramingError::Tag(report[2]));
        }
        let sequence = u16::from_be_bytes([report[3], report[4]]);
        if sequence != self.next_sequence {
            return Err(FramingError::Sequence {
                expected: self.next_sequence,
                got: sequence,
            });
        }
        // An answer of 65535 bytes takes 1111 reports: the index never wraps in a real one,
        // and a wrapped index simply fails the check above.
        self.next_sequence = self.next_sequence.wrapping_add(1);
        let mut payload = &report[HEADER..];
        let expected = match self.expected {
            Some(expected) => expected,
            None => {
                let expected = usize::from(u16::from_be_bytes([payload[0], payload[1]]));
                payload = &payload[2..];
                self.data.reserve(expected);
                *self.expected.insert(expected)
            }
        };
        let missing = expected.saturating_sub(self.data.len());
        self.data
            .extend_from_slice(&payload[..missing.min(payload.len())]);
        if self.data.len() >= expected {
            return Ok(Some(std::mem::take(&mut self.data)));
        }
        Ok(None)
    }
}

impl Drop for AnswerAssembler {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The input reports a device sends for `answer`: the same framing, without report ids.
    fn answer_reports(answer: &[u8]) -> Vec<Vec<u8>> {
        request_reports(answer)
            .into_iter()
            .map(|report| report[1..].to_vec())
            .collect()
    }

    #[test]
    fn a_command_is_cut_into_reports_with_length_and_sequence() {
        let reports = request_reports(&[0xE0, 0x06, 0, 0, 0]);
        assert_eq!(reports.len(), 1);
        assert_eq!(
            reports[0][..13],
            [0x00, 0x01, 0x01, 0x05, 0, 0, 0, 5, 0xE0, 0x06, 0, 0, 0]
        );
        assert!(reports[0][13..].iter().all(|&b| b == 0));
        // 2 + 260 bytes: 59 per report, so 5 reports, numbered 0 to 4.
        let reports = request_reports(&[0xAB; 260]);
        assert_eq!(reports.len(), 5);
        for (i, report) in reports.iter().enumerate() {
            assert_eq!(report[..6], [0, 1, 1, 5, 0, i as u8]);
        }
        assert_eq!(reports[0][6..8], [1, 4]);
    }

    #[test]
    fn answers_reassemble_across_reports() {
        for len in [2, 57, 58, 59, 200, 1000] {
            let answer: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut assembler = AnswerAssembler::default();
            let reports = answer_reports(&answer);
            let (last, rest) = reports.split_last().unwrap();
            for report in rest {
                assert_eq!(assembler.push(report).unwrap(), None, "{len}");
            }
            assert_eq!(assembler.push(last).unwrap(), Some(answer), "{len}");
        }
    }

    #[test]
    fn foreign_and_broken_reports_are_refused() {
        let reports = answer_reports(&[7u8; 100]);
        let mut other_channel = reports[0].clone();
        other_channel[1] = 0x02;
        let mut other_tag = reports[0].clone();
        other_tag[2] = 0x02;
        for (report, error) in [
            (&[][..], FramingError::Short { len: 0 }),
            (&reports[0][..6], FramingError::Short { len: 6 }),
            (&other_channel[..], FramingError::Channel(0x0102)),
            (&other_tag[..], FramingError::Tag(0x02)),
            (
                &reports[1][..],
                FramingError::Sequence {
                    expected: 0,
                    got: 1,
                },
            ),
        ] {
            assert_eq!(AnswerAssembler::default().push(report), Err(error));
        }
        // A report repeated is out of sequence too.
        let mut assembler = AnswerAssembler::default();
        assembler.push(&reports[0]).unwrap();
        assert_eq!(
            assembler.push(&reports[0]),
            Err(FramingError::Sequence {
                expected: 1,
                got: 0
            })
        );
    }
}
