//! `--ready-file FILE` of the services (`node`, `emulator`): a small JSON document written
//! once they listen, so that a script started alongside can read the addresses (ports
//! picked with `:0` included) instead of guessing when the service is up.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::CliError;
use super::files::{check_output_file, write_private};

/// Fails at once, before the service binds anything, if `path` could not be written
/// (no such directory, a directory at the path, no permission): a service that would
/// listen but never announce it is worse than one that does not start.
pub fn check(path: Option<&Path>) -> Result<(), CliError> {
    let Some(path) = path else {
        return Ok(());
    };
    check_output_file(path, true)?;
    // Unlike key files, the directory is never created: a typo'd one is a usage error.
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if dir.is_dir() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "--ready-file {}: the directory {} does not exist",
            path.display(),
            dir.display()
        )))
    }
}

/// A written ready file; dropping it (the service stopped cleanly, or failed after it was
/// written) removes the file if it still holds what this process wrote.
#[derive(Debug)]
pub struct ReadyFile {
    path: PathBuf,
    contents: Vec<u8>,
}

impl ReadyFile {
    /// Writes `document` to `path`: to a temporary file beside it, then renamed over it,
    /// so a reader sees either no file (or an older one) or the whole document.
    pub fn write(path: &Path, document: &impl Serialize) -> Result<Self, CliError> {
        let mut contents = serde_json::to_vec(document)
            .map_err(|e| CliError::Usage(format!("cannot encode the ready file: {e}")))?;
        contents.push(b'\n');
        write_private(path, &contents, true)?;
        Ok(Self {
            path: path.to_owned(),
            contents,
        })
    }
}

impl Drop for ReadyFile {
    fn drop(&mut self) {
        // Another service given the same path may have replaced it since: that file is
        // not ours to remove.
        if std::fs::read(&self.path).is_ok_and(|now| now == self.contents) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Where a client on this machine reaches a service listening on `addr`: the address
/// itself, or loopback when it listens on every interface (`0.0.0.0`, `::`).
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => (Ipv4Addr::LOCALHOST, addr.port()).into(),
        IpAddr::V6(ip) if ip.is_unspecified() => (Ipv6Addr::LOCALHOST, addr.port()).into(),
        _ => addr,
    }
}
