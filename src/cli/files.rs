//! Files that hold key material (or sit next to it), written so that nobody else can read
//! them, hijack them or catch them half-written:
//!
//! - created 0600 from the start, in a temporary file beside the target (O_EXCL), then
//!   `fsync`, `rename` over the target, `fsync` of the directory: a write that fails
//!   midway (disk full, I/O error) leaves the previous file byte-identical;
//! - `rename` replaces a symlink planted at the target path instead of following it, and
//!   without `--force` nothing that exists there (file, dangling link) is replaced;
//! - the checks run before the device is asked for anything ([`check_output_file`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::error::CliError;

/// Fails (before any device prompt) unless `path` can be written: its directory exists
/// and is writable, and the path itself is free, or holds a file (or symlink) that `force`
/// allows to replace. Never a directory.
pub fn check_output_file(path: &Path, force: bool) -> Result<(), CliError> {
    if let Some(existing) = existing(path)? {
        if existing.is_dir() {
            return Err(CliError::Usage(format!(
                "{} is a directory",
                path.display()
            )));
        }
        if !force {
            return Err(exists_error(path));
        }
    }
    let dir = parent_of(path);
    check_writable_dir(&dir)
}

/// Writes `bytes` to `path` (mode 0600) atomically. Refuses to replace anything at
/// `path` unless `replace`.
pub fn write_private(path: &Path, bytes: &[u8], replace: bool) -> Result<(), CliError> {
    let dir = parent_of(path);
    let io = |what: &str| CliError::io(format!("{what} {}", path.display()));
    // tempfile creates it with O_EXCL and mode 0600 on Unix.
    let mut temp = tempfile::Builder::new()
        .prefix(".xmtp-ledger-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(io("creating a temporary file for"))?;
    temp.write_all(bytes)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(io("writing"))?;
    let persisted = if replace {
        temp.persist(path).map(drop)
    } else {
        temp.persist_noclobber(path).map(drop)
    };
    persisted.map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists_error(path)
        } else {
            CliError::Io {
                context: format!("replacing {}", path.display()),
                source: e.error,
            }
        }
    })?;
    // The rename is durable only once the directory entry is.
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(CliError::io(format!(
            "syncing the directory {}",
            dir.display()
        )))
}

/// Creates `dir` (and missing parents) with mode 0700, or makes sure an existing one is
/// a real directory (not a symlink) that only its owner can enter, tightening it to 0700
/// if it was open to others.
pub fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    match existing(dir)? {
        None => std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(CliError::io(format!("creating {}", dir.display()))),
        Some(meta) if meta.file_type().is_symlink() => Err(CliError::Usage(format!(
            "{} is a symlink: give the real directory",
            dir.display()
        ))),
        Some(meta) if !meta.is_dir() => Err(CliError::Usage(format!(
            "{} exists and is not a directory",
            dir.display()
        ))),
        Some(meta) if meta.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
                CliError::io(format!(
                    "{} is open to other users and cannot be made private (mode 0700)",
                    dir.display()
                )),
            )?;
            // Not `eprintln!`: an unwritable stderr is no reason to panic.
            let _ = writeln!(
                std::io::stderr(),
                "warning: {} was open to other users: its mode is now 0700",
                dir.display()
            );
            Ok(())
        }
        Some(_) => Ok(()),
    }
}

/// Reads a small secret file (at most `limit` bytes): only a regular file, so a FIFO, a
/// device such as `/dev/zero` or a directory is refused instead of blocking or filling
/// memory.
pub fn read_small_regular_file(path: &Path, limit: u64) -> Result<Vec<u8>, CliError> {
    let refuse = |why: &str| CliError::Usage(format!("{}: {why}", path.display()));
    // stat first: opening a FIFO would block until a writer comes.
    let meta =
        std::fs::metadata(path).map_err(CliError::io(format!("reading {}", path.display())))?;
    if !meta.is_file() {
        return Err(refuse("not a regular file"));
    }
    let file = OpenOptions::new()
        .read(true)
        .open(path)
        .map_err(CliError::io(format!("reading {}", path.display())))?;
    // The path may have been swapped since the stat: check what was opened.
    let opened = file
        .metadata()
        .map_err(CliError::io(format!("reading {}", path.display())))?;
    if !opened.is_file() {
        return Err(refuse("not a regular file"));
    }
    if opened.len() > limit {
        return Err(refuse(&format!("larger than {limit} bytes")));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(CliError::io(format!("reading {}", path.display())))?;
    if bytes.len() as u64 > limit {
        return Err(refuse(&format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

/// What is at `path` itself (a symlink is reported as one, not followed).
fn existing(path: &Path) -> Result<Option<std::fs::Metadata>, CliError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => Ok(Some(meta)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::Io {
            context: format!("checking {}", path.display()),
            source: e,
        }),
    }
}

/// Fails unless files can be created in `dir` or, if it is still to be created, in its
/// nearest existing ancestor.
fn check_writable_dir(dir: &Path) -> Result<(), CliError> {
    // `ancestors` of a relative path ends with "", which stands for the current directory.
    let mut probe = Path::new(".");
    for ancestor in dir.ancestors().filter(|a| !a.as_os_str().is_empty()) {
        if existing(ancestor)?.is_some() {
            probe = ancestor;
            break;
        }
    }
    // Creating (and at once removing) an unnamed file is the one honest writability test.
    tempfile::tempfile_in(probe)
        .map(drop)
        .map_err(CliError::io(format!("cannot write in {}", probe.display())))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn exists_error(path: &Path) -> CliError {
    CliError::Usage(format!(
        "{} already exists (add --force to replace it)",
        path.display()
    ))
}
