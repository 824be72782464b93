//! The node's database file on disk: private to the node's user, never reached through a
//! symlink. SQLite gives its `-wal` and `-shm` files the database file's mode, so making
//! the database 0600 before SQLite first opens it keeps all three private.

use std::path::{Path, PathBuf};

/// What is wrong with the database file (the store turns it into its own error).
#[derive(Debug)]
pub(super) enum FileProblem {
    /// It could not be created or its mode set.
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A symlink or something else than a regular file is in its place.
    NotAFile {
        /// The path.
        path: PathBuf,
    },
}

/// Creates the database file 0600 if it is missing, so SQLite (which gives its `-wal` and
/// `-shm` files the database's mode) never makes any of them readable by others; refuses
/// a symlink or a non-file in its place, and tightens an existing file (and companions)
/// that others could read.
#[cfg(unix)]
pub(super) fn prepare_private_file(path: &Path) -> Result<(), FileProblem> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let open_error = |source: std::io::Error| FileProblem::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if !meta.file_type().is_file() => Err(FileProblem::NotAFile {
            path: path.to_owned(),
        }),
        Ok(_) => {
            for file in [
                path.to_owned(),
                companion(path, "-wal"),
                companion(path, "-shm"),
            ] {
                let Ok(meta) = std::fs::symlink_metadata(&file) else {
                    continue;
                };
                if !meta.file_type().is_file() {
                    return Err(FileProblem::NotAFile { path: file });
                }
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(file = %file.display(), "node database was readable by others: setting mode 0600");
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                        .map_err(open_error)?;
                }
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            // O_CREAT | O_EXCL: fails on anything already there, a dangling symlink too.
            .mode(0o600)
            .open(path)
            .map(drop)
            .map_err(open_error),
        Err(e) => Err(open_error(e)),
    }
}

#[cfg(not(unix))]
pub(super) fn prepare_private_file(_path: &Path) -> Result<(), FileProblem> {
    Ok(())
}

/// `path` with `suffix` appended to its file name (SQLite's `-wal` and `-shm`).
fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(unix)]
pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
pub(super) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}
