//! Writing files that hold key material: created 0600 (owner only) from the start, so
//! there is no moment where another user could read them.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::error::CliError;

/// Writes `bytes` to `path` with mode 0600. Refuses to overwrite unless `overwrite`.
pub fn write_private(path: &Path, bytes: &[u8], overwrite: bool) -> Result<(), CliError> {
    let mut options = OpenOptions::new();
    options.write(true).mode(0o600);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file: File = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::Usage(format!(
                "{} already exists (add --force to replace it)",
                path.display()
            ))
        } else {
            CliError::Io {
                context: format!("creating {}", path.display()),
                source: e,
            }
        }
    })?;
    // An existing file keeps its old mode on truncate: tighten it.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(CliError::io(format!(
            "setting permissions of {}",
            path.display()
        )))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(CliError::io(format!("writing {}", path.display())))
}

/// Creates `dir` (and parents) with mode 0700 if missing.
pub fn create_private_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(CliError::io(format!("creating {}", dir.display())))
}
