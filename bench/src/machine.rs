//! What the machine is and does: peak RSS, CPU model, load, file system, temp dirs.

use crate::*;

// ----- machine -----------------------------------------------------------------------------

/// Peak resident set size of this process so far, in KiB (`getrusage(RUSAGE_SELF)`).
#[cfg(target_os = "linux")]
pub(crate) fn peak_rss_kib() -> Option<u64> {
    use std::ffi::{c_int, c_long};
    // `struct rusage` on Linux: two `struct timeval` (2 longs each), then 14 longs, the
    // first of which is `ru_maxrss` (KiB).
    #[repr(C)]
    struct RUsage {
        fields: [c_long; 18],
    }
    const RUSAGE_SELF: c_int = 0;
    const RU_MAXRSS: usize = 4;
    unsafe extern "C" {
        fn getrusage(who: c_int, usage: *mut RUsage) -> c_int;
    }
    let mut usage = RUsage { fields: [0; 18] };
    // SAFETY: `usage` is a valid, writable `struct rusage`-sized buffer for the call.
    let rc = unsafe { getrusage(RUSAGE_SELF, &mut usage) };
    (rc == 0).then(|| u64::try_from(usage.fields[RU_MAXRSS]).unwrap_or(0))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn peak_rss_kib() -> Option<u64> {
    None
}

/// A `kB` field of this process's `/proc/self/status` (`VmHWM`, `RssAnon`, `RssFile`).
pub(crate) fn status_kib(field: &str) -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The kernel's high-water mark of this process image's resident set (`VmHWM`, KiB).
/// Unlike `ru_maxrss` it starts afresh at `exec`, so a child spawned from a large parent
/// does not inherit the parent's peak.
pub(crate) fn vm_hwm_kib() -> Option<u64> {
    status_kib("VmHWM")
}

pub(crate) fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// File system type and device of the mount holding `path` (from `/proc/mounts`).
pub(crate) fn file_system_of(path: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "unknown".into();
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let mount_point = fields.next()?;
            let fs_type = fields.next()?;
            path.starts_with(mount_point)
                .then(|| (mount_point.len(), format!("{fs_type} on {device}")))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fs)| fs)
        .unwrap_or_else(|| "unknown".into())
}

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> std::io::Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "xmtp-ledger-bench-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub(crate) fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
