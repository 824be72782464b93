//! Which accounts a `provision` run covers: `--accounts 0..49` (Ledger Live indexes),
//! `--legacy 0..9` (legacy indexes), lists such as `3,7,12`, or `--hd-paths-file FILE`.

use xmtp_ledger::device::DerivationPath;

use crate::cli::error::CliError;

/// Most accounts one run may cover: a run is one device session and one manifest.
pub const MAX_ACCOUNTS: usize = 10_000;

/// Parses `0..49`, `3,7,12` or a mix (`0..4,10`): ranges are inclusive. Indexes come
/// out in the order written, each once.
pub fn parse_indexes(spec: &str) -> Result<Vec<u32>, String> {
    let mut indexes = Vec::new();
    for item in spec.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!("empty item in {spec:?}"));
        }
        let (first, last) = match item.split_once("..") {
            Some((first, last)) => (parse_index(first)?, parse_index(last)?),
            None => {
                let index = parse_index(item)?;
                (index, index)
            }
        };
        if first > last {
            return Err(format!(
                "{item}: a range runs upwards (ranges are inclusive)"
            ));
        }
        let count = usize::try_from(last - first).map_or(usize::MAX, |n| n.saturating_add(1));
        if count > MAX_ACCOUNTS || indexes.len() + count > MAX_ACCOUNTS {
            return Err(format!("more than {MAX_ACCOUNTS} accounts in one run"));
        }
        for index in first..=last {
            if indexes.contains(&index) {
                return Err(format!("account {index} is named twice"));
            }
            indexes.push(index);
        }
    }
    Ok(indexes)
}

fn parse_index(text: &str) -> Result<u32, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{text:?} is not an account index"))
}

/// The paths of `--hd-paths-file`: one per line, blank lines and `#` comments skipped.
pub fn parse_paths_file(text: &str) -> Result<Vec<DerivationPath>, CliError> {
    let mut paths: Vec<DerivationPath> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let path: DerivationPath = line
            .parse()
            .map_err(|e| CliError::Usage(format!("--hd-paths-file line {}: {e}", number + 1)))?;
        if paths.contains(&path) {
            return Err(CliError::Usage(format!(
                "--hd-paths-file line {}: {path} is named twice",
                number + 1
            )));
        }
        paths.push(path);
        if paths.len() > MAX_ACCOUNTS {
            return Err(CliError::Usage(format!(
                "--hd-paths-file: more than {MAX_ACCOUNTS} accounts in one run"
            )));
        }
    }
    if paths.is_empty() {
        return Err(CliError::Usage("--hd-paths-file names no path".into()));
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_inclusive_and_lists_keep_their_order() {
        assert_eq!(parse_indexes("0..49").unwrap().len(), 50);
        assert_eq!(parse_indexes("0..49").unwrap()[49], 49);
        assert_eq!(parse_indexes("3,7,12").unwrap(), [3, 7, 12]);
        assert_eq!(parse_indexes("12, 3..4").unwrap(), [12, 3, 4]);
        assert_eq!(parse_indexes("5..5").unwrap(), [5]);
        assert_eq!(
            parse_indexes("4294967295").unwrap(),
            [u32::MAX],
            "the largest index"
        );
    }

    #[test]
    fn bad_specs_are_refused() {
        for spec in [
            "", "1,", "a", "5..3", "1..", "..4", "1,1", "0..2,2", "-1", "0..10000",
        ] {
            assert!(parse_indexes(spec).is_err(), "{spec:?}");
        }
        assert!(parse_indexes("0..9999").is_ok());
        assert!(
            parse_indexes("0..4294967295").is_err(),
            "too many, no overflow"
        );
    }

    #[test]
    fn paths_file_lines() {
        let paths = parse_paths_file("# vault\nm/44'/60'/0'/0/0\n\n  m/44'/60'/0'/3  \n").unwrap();
        assert_eq!(
            paths.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["m/44'/60'/0'/0/0", "m/44'/60'/0'/3"]
        );
        let err = parse_paths_file("m/44'/60'/0'/0/0\nnonsense\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        assert!(parse_paths_file("m/44'/60'/0'/0/0\nm/44'/60'/0'/0/0\n").is_err());
        assert!(parse_paths_file("# nothing\n").is_err());
    }
}
