//! Whether this user may open a Ledger on USB, on Linux: udev rules that grant access to
//! the Ledger vendor id, and a hidraw node that opens read-write. What `xmtp-ledger doctor`
//! checks before it asks the device anything, so that it can name the cause (missing
//! rules, another program holding the device) instead of only the symptom.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io;
use std::path::{Path, PathBuf};

/// Where udev reads rules from, highest priority first: a file in an earlier directory
/// hides a file of the same name in a later one (`/lib` is `/usr/lib` on merged systems).
pub const UDEV_RULES_DIRS: [&str; 5] = [
    "/etc/udev/rules.d",
    "/run/udev/rules.d",
    "/usr/local/lib/udev/rules.d",
    "/usr/lib/udev/rules.d",
    "/lib/udev/rules.d",
];

/// The Ledger USB vendor id as udev rules spell it.
const LEDGER_VENDOR: &str = "2c97";

/// A udev rules file that names the Ledger vendor id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRules {
    /// The file.
    pub path: PathBuf,
    /// Whether one of its rules for the vendor grants access (`TAG+="uaccess"`, a `MODE`
    /// or a `GROUP`), not only names it.
    pub grants_access: bool,
}

/// The rules files in `dirs` (in udev's priority order, see [`UDEV_RULES_DIRS`]) that name
/// the Ledger vendor id. A file hidden by one of the same name in an earlier directory is
/// not read, as udev does not read it; unreadable files and directories are skipped.
pub fn find_ledger_rules<P: AsRef<Path>>(dirs: &[P]) -> Vec<LedgerRules> {
    let mut seen_names = HashSet::new();
    let mut seen_dirs = HashSet::new();
    let mut found = Vec::new();
    for dir in dirs {
        let dir = dir.as_ref();
        // `/lib/udev` is often `/usr/lib/udev` itself: the same file, not a second one.
        if !seen_dirs.insert(dir.canonicalize().unwrap_or_else(|_| dir.to_owned())) {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .filter(|name| {
                Path::new(name)
                    .extension()
                    .is_some_and(|ext| ext == "rules")
            })
            .collect();
        names.sort();
        for name in names {
            if !seen_names.insert(name.clone()) {
                continue;
            }
            let path = dir.join(&name);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            if let Some(grants_access) = ledger_rules_in(&text) {
                found.push(LedgerRules {
                    path,
                    grants_access,
                });
            }
        }
    }
    found
}

/// `None` if no rule in `text` names the Ledger vendor id; otherwise whether one of those
/// rules grants access.
fn ledger_rules_in(text: &str) -> Option<bool> {
    let rules: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .map(str::to_ascii_lowercase)
        .filter(|line| line.contains(LEDGER_VENDOR))
        .collect();
    if rules.is_empty() {
        return None;
    }
    Some(
        rules.iter().any(|rule| {
            rule.contains("uaccess") || rule.contains("mode=") || rule.contains("group=")
        }),
    )
}

/// What opening a hidraw node read-write (as hidapi does) says.
#[derive(Debug)]
pub enum HidrawAccess {
    /// It opens: this user may talk to the device.
    ReadWrite,
    /// `EACCES`/`EPERM`: the node's permissions keep this user out (no udev rules, or not
    /// applied since the device was plugged in).
    PermissionDenied(io::Error),
    /// `EBUSY`: another program holds the device.
    Busy(io::Error),
    /// Anything else (e.g. the device went away meanwhile).
    Failed(io::Error),
}

/// Opens `path` read-write and closes it again at once; sends nothing to the device.
pub fn hidraw_access(path: &Path) -> HidrawAccess {
    match OpenOptions::new().read(true).write(true).open(path) {
        Ok(_) => HidrawAccess::ReadWrite,
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => HidrawAccess::PermissionDenied(e),
        Err(e) if e.kind() == io::ErrorKind::ResourceBusy => HidrawAccess::Busy(e),
        Err(e) => HidrawAccess::Failed(e),
    }
}

/// Every `/dev/hidraw*` node: none at all means no HID device is visible here (none
/// plugged in, or a container or VM that was not given the USB device).
pub fn hidraw_nodes() -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir("/dev") else {
        return Vec::new();
    };
    let mut nodes: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name().to_string_lossy().starts_with("hidraw"))
        .map(|entry| entry.path())
        .collect();
    nodes.sort();
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_own_rules_grant_access() {
        assert_eq!(ledger_rules_in(super::super::UDEV_RULES), Some(true));
    }

    #[test]
    fn rules_are_read_as_udev_reads_them() {
        let etc = tempfile::tempdir().unwrap();
        let lib = tempfile::tempdir().unwrap();
        let write = |dir: &Path, name: &str, text: &str| std::fs::write(dir.join(name), text);
        // Hidden by /etc's file of the same name, which only comments the vendor out.
        write(
            etc.path(),
            "20-hw1.rules",
            "# ATTRS{idVendor}==\"2c97\", MODE=\"0666\"\n",
        )
        .unwrap();
        write(lib.path(), "20-hw1.rules", super::super::UDEV_RULES).unwrap();
        // Names the vendor without granting anything.
        write(
            lib.path(),
            "70-other.rules",
            "SUBSYSTEMS==\"usb\", ATTRS{idVendor}==\"2C97\", ENV{ID_LEDGER}=\"1\"\n",
        )
        .unwrap();
        // Grants access, but is not a rules file.
        write(lib.path(), "99-ledger.rules.bak", super::super::UDEV_RULES).unwrap();
        write(
            lib.path(),
            "50-u2f.rules",
            "KERNEL==\"hidraw*\", ATTRS{idVendor}==\"1050\", TAG+=\"uaccess\"\n",
        )
        .unwrap();

        let found = find_ledger_rules(&[etc.path(), lib.path(), Path::new("/nonexistent")]);
        assert_eq!(
            found,
            [LedgerRules {
                path: lib.path().join("70-other.rules"),
                grants_access: false,
            }]
        );

        write(etc.path(), "20-hw1.rules", super::super::UDEV_RULES).unwrap();
        let found = find_ledger_rules(&[etc.path(), lib.path()]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0].path, etc.path().join("20-hw1.rules"));
        assert!(found[0].grants_access);
        // The same directory twice is read once.
        assert_eq!(find_ledger_rules(&[etc.path(), etc.path()]).len(), 1);
    }

    #[test]
    fn opening_reports_why_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("node");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(hidraw_access(&file), HidrawAccess::ReadWrite));
        assert!(matches!(
            hidraw_access(&dir.path().join("gone")),
            HidrawAccess::Failed(_)
        ));
    }
}
