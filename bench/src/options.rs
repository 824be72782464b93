//! Command-line options and the measurement plan they make.

use crate::*;

// ----- options -----------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Options {
    pub(crate) envelopes: u64,
    pub(crate) quick: bool,
    pub(crate) role: Role,
}

/// Which process of a run this is (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// Started by the user: runs the two children and waits.
    Launcher,
    /// `--init-only`: one identity, then prints its peak RSS.
    InitOnly,
    /// `--measure R:H:A:F:L`: the measurements; the init-only child's memory and the
    /// launcher's VmHWM (KiB) come from the launcher.
    Measure {
        init: InitMemory,
        launcher_hwm_kib: u64,
    },
}

/// The init-only child's memory (KiB): `ru_maxrss`, `VmHWM`, and at its end `RssAnon`
/// (heap, stacks) and `RssFile` (pages of the executable and libraries).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InitMemory {
    pub(crate) rss_kib: u64,
    pub(crate) hwm_kib: u64,
    pub(crate) anon_kib: u64,
    pub(crate) file_kib: u64,
}

pub(crate) fn parse_measure(value: &str) -> Option<Role> {
    let mut parts = value.split(':').map(|p| p.parse::<u64>().ok());
    let role = Role::Measure {
        init: InitMemory {
            rss_kib: parts.next()??,
            hwm_kib: parts.next()??,
            anon_kib: parts.next()??,
            file_kib: parts.next()??,
        },
        launcher_hwm_kib: parts.next()??,
    };
    parts.next().is_none().then_some(role)
}

pub(crate) fn usage() -> &'static str {
    "usage: xmtp-ledger-bench [--envelopes N] [--quick]\n\
     \n\
     Prints a Markdown table of host-side costs against the in-process software Ledger and\n\
     an in-process node with N envelopes in its database (default 1,000,000; --quick: 10,000\n\
     and few iterations)."
}

pub(crate) fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut envelopes = None;
    let mut quick = false;
    let mut role = Role::Launcher;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => quick = true,
            "--init-only" => role = Role::InitOnly,
            "--measure" => {
                let value = it.next().ok_or("--measure needs a value")?;
                role = parse_measure(value).ok_or(format!("--measure: bad value {value}"))?;
            }
            "--envelopes" => {
                let value = it.next().ok_or("--envelopes needs a number")?;
                let n: u64 = value
                    .replace(['_', ','], "")
                    .parse()
                    .map_err(|_| format!("--envelopes: not a number: {value}"))?;
                if n == 0 {
                    return Err("--envelopes must be at least 1".into());
                }
                envelopes = Some(n);
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(Options {
        envelopes: envelopes.unwrap_or(if quick {
            QUICK_ENVELOPES
        } else {
            DEFAULT_ENVELOPES
        }),
        quick,
        role,
    })
}

/// Iteration counts.
pub(crate) struct Plan {
    pub(crate) init: usize,
    pub(crate) init_grpc: usize,
    pub(crate) unlock: usize,
    pub(crate) local: usize,
    /// Identities the reference SDK generates (after its own 30 warm-up runs).
    pub(crate) reference_iterations: usize,
    pub(crate) verify_for: Duration,
    pub(crate) v3_replays: usize,
    pub(crate) v3_statuses: usize,
    pub(crate) publishes: usize,
    pub(crate) publish_batches: usize,
    pub(crate) queries: usize,
}

impl Plan {
    pub(crate) fn for_options(options: &Options) -> Self {
        if options.quick {
            Self {
                init: 30,
                init_grpc: 20,
                unlock: 30,
                local: 50,
                reference_iterations: 30,
                verify_for: Duration::from_millis(300),
                v3_replays: 10,
                v3_statuses: 10,
                publishes: 100,
                publish_batches: 10,
                queries: 200,
            }
        } else {
            Self {
                init: 500,
                init_grpc: 500,
                unlock: 500,
                local: 1_000,
                reference_iterations: 300,
                verify_for: Duration::from_secs(3),
                v3_replays: 200,
                v3_statuses: 100,
                publishes: 20_000,
                publish_batches: 200,
                queries: 10_000,
            }
        }
    }
}
