//! Resource limits (process-wide, so no per-thread work).
//!
//! Memory: `RLIMIT_AS` is not offered, because with many threads the address
//! space is mostly reservations (2 MiB stacks, 64 MiB glibc arenas: VmSize
//! went 5 MB → 480 MB after 8 threads did one 1 KB malloc each, facts c5).
//! `RLIMIT_DATA` counts private writable mappings (heap, stacks, arenas once
//! written to), which tracks real use much better; it is still not a cgroup
//! limit (no page cache, no kernel memory).

use serde::{Deserialize, Serialize};

use crate::error::SandboxError;
use crate::sys;

/// Resource limits applied by lockdown. `None` leaves a limit unchanged.
///
/// # Defaults
/// * open files (`RLIMIT_NOFILE`): 8192 (never above the current hard limit)
/// * processes/threads of the user (`RLIMIT_NPROC`): 4096 (does not bind
///   root; binds the user lockdown drops to)
/// * core dumps (`RLIMIT_CORE`): 0 (a core holds secrets)
/// * memory (`RLIMIT_DATA`): unchanged
/// * CPU seconds (`RLIMIT_CPU`): unchanged (SIGXCPU then SIGKILL)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rlimits {
    nofile: Option<u64>,
    nproc: Option<u64>,
    core: Option<u64>,
    data: Option<u64>,
    cpu: Option<u64>,
}

impl Default for Rlimits {
    fn default() -> Self {
        Rlimits {
            nofile: Some(8192),
            nproc: Some(4096),
            core: Some(0),
            data: None,
            cpu: None,
        }
    }
}

impl Rlimits {
    /// Leaves every limit unchanged.
    pub fn unchanged() -> Self {
        Rlimits {
            nofile: None,
            nproc: None,
            core: None,
            data: None,
            cpu: None,
        }
    }

    /// Open files. Default 8192.
    pub fn open_files(mut self, n: Option<u64>) -> Self {
        self.nofile = n;
        self
    }

    /// Processes and threads of the (post-lockdown) user. Default 4096.
    pub fn processes(mut self, n: Option<u64>) -> Self {
        self.nproc = n;
        self
    }

    /// Core file size. Default 0 (no core dumps).
    pub fn core_size(mut self, bytes: Option<u64>) -> Self {
        self.core = bytes;
        self
    }

    /// Memory (`RLIMIT_DATA`). Default unchanged.
    pub fn memory(mut self, bytes: Option<u64>) -> Self {
        self.data = bytes;
        self
    }

    /// CPU time in seconds (`RLIMIT_CPU`). Default unchanged.
    pub fn cpu_seconds(mut self, secs: Option<u64>) -> Self {
        self.cpu = secs;
        self
    }

    fn entries(&self) -> [(&'static str, libc::__rlimit_resource_t, Option<u64>); 5] {
        [
            ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE, self.nofile),
            ("RLIMIT_NPROC", libc::RLIMIT_NPROC, self.nproc),
            ("RLIMIT_CORE", libc::RLIMIT_CORE, self.core),
            ("RLIMIT_DATA", libc::RLIMIT_DATA, self.data),
            ("RLIMIT_CPU", libc::RLIMIT_CPU, self.cpu),
        ]
    }

    /// Applies the limits: soft = hard = requested, clamped to the current
    /// hard limit (raising it needs CAP_SYS_RESOURCE and is not the point).
    pub(crate) fn apply(&self) -> Result<(), SandboxError> {
        for (name, res, want) in self.entries() {
            let Some(want) = want else { continue };
            let (_, hard) = sys::getrlimit(res).map_err(|source| SandboxError::Rlimit {
                resource: name,
                source,
            })?;
            let v = want.min(hard);
            sys::setrlimit(res, v, v).map_err(|source| SandboxError::Rlimit {
                resource: name,
                source,
            })?;
        }
        Ok(())
    }
}
