//! Errors. One enum per step, folded into [`SandboxError`].
//!
//! Display texts and `source()` types are not part of the API; match on
//! variants and use [`SandboxError::is_partial`].

use std::path::PathBuf;

use crate::seccomp::Action;

/// Building or importing a seccomp policy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SeccompError {
    /// A syscall name not in the x86_64 table.
    #[error("unknown syscall {0:?} on x86_64")]
    UnknownSyscall(String),
    /// Argument index above 5.
    #[error("argument index {0} out of range 0..=5")]
    BadArgIndex(u8),
    /// errno above 4095.
    #[error("errno {0} out of range")]
    BadErrno(u16),
    /// The compiled program is longer than the kernel accepts (or a jump
    /// does not fit).
    #[error("filter too long: {0} instructions or jump offset")]
    TooLong(usize),
    /// The JSON did not parse.
    #[error("invalid seccomp profile json: {0}")]
    Json(String),
    /// The profile file could not be read.
    #[error("cannot read seccomp profile {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An action this crate cannot translate (`SCMP_ACT_NOTIFY`, `SCMP_ACT_TRACE`).
    #[error("unsupported seccomp action {0}")]
    UnsupportedAction(String),
    /// An unknown comparison operator.
    #[error("unsupported seccomp operator {0}")]
    UnsupportedOperator(String),
    /// An unknown capability name in `includes`/`excludes`.
    #[error("unknown capability {0}")]
    UnknownCapability(String),
    /// A `minKernel` that is not `major.minor`.
    #[error("bad minKernel {0:?}")]
    BadKernelVersion(String),
    /// The profile does not cover x86_64.
    #[error("profile does not list SCMP_ARCH_X86_64")]
    NoNativeArch,
    /// Two unconditional entries give one syscall different actions.
    #[error("syscall {syscall} has conflicting unconditional actions {first:?} and {second:?}")]
    Conflict {
        /// The syscall.
        syscall: String,
        /// The first action.
        first: Action,
        /// The conflicting one.
        second: Action,
    },
}

/// Landlock could not be set up at the required level.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LandlockError {
    /// The landlock crate refused (unsupported with a hard requirement,
    /// or a syscall failed).
    #[error("landlock ruleset")]
    Ruleset(#[from] landlock::RulesetError),
    /// A configured path could not be opened.
    #[error("cannot open landlock path {path}")]
    Path {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel's Landlock is below what a hard requirement asked for.
    #[error("landlock {feature} needs ABI {needed}, kernel has {have}")]
    Unsupported {
        /// Which part (`filesystem`, `network`).
        feature: &'static str,
        /// ABI needed.
        needed: u32,
        /// ABI available.
        have: u32,
    },
}

/// Confining the threads failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ThreadError {
    /// `ThreadMode::RequireSingleThread` and the process has more threads.
    #[error("process has {0} threads; lockdown was configured to require a single thread (call it before starting the runtime)")]
    MultiThreaded(usize),
    /// Threads did not answer the broadcast signal; nothing was applied.
    #[error(
        "threads {0:?} do not answer the lockdown signal (blocked or stopped); nothing was applied"
    )]
    Unreachable(Vec<i32>),
    /// A thread could not apply a step.
    #[error("thread {tid}: {step} failed")]
    StepFailed {
        /// The thread.
        tid: i32,
        /// The step.
        step: &'static str,
        /// errno.
        #[source]
        source: std::io::Error,
    },
    /// More threads than one broadcast can address, or threads kept
    /// appearing.
    #[error("too many threads ({0})")]
    TooMany(usize),
    /// No free real-time signal for the broadcast.
    #[error("no free real-time signal for the per-thread broadcast")]
    NoFreeSignal,
    /// `/proc/self/task` could not be read or a handler installed.
    #[error("thread broadcast setup")]
    Io(#[source] std::io::Error),
}

/// Dropping to the configured user failed before anything was applied.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The user name is not known.
    #[error("unknown user {0:?}")]
    UnknownUser(String),
    /// The user database lookup failed.
    #[error("user lookup")]
    Lookup(#[source] std::io::Error),
    /// uid or gid `u32::MAX` (-1, which the kernel reads as "unchanged").
    #[error("uid/gid 4294967295 (-1) is not a user")]
    InvalidId,
    /// The target is uid 0.
    #[error("refusing to run as uid 0; use dangerous().keep_root()")]
    Root,
}

/// Every lockdown error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// Building the seccomp policy.
    #[error("seccomp policy")]
    Seccomp(#[from] SeccompError),
    /// Landlock.
    #[error("landlock")]
    Landlock(#[from] LandlockError),
    /// Thread confinement.
    #[error("thread confinement")]
    Threads(#[from] ThreadError),
    /// User lookup.
    #[error("identity")]
    Identity(#[from] IdentityError),
    /// A resource limit.
    #[error("setrlimit {resource}")]
    Rlimit {
        /// Resource name.
        resource: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Installing the filter.
    #[error("installing the seccomp filter")]
    SeccompInstall(#[source] std::io::Error),
    /// TSYNC could not synchronise this thread.
    #[error("seccomp TSYNC failed for thread {0}")]
    Tsync(i32),
    /// The SIGSYS handler for trap/audit mode.
    #[error("installing the SIGSYS handler")]
    TrapHandler(#[source] std::io::Error),
    /// lockdown already ran in this process.
    #[error("lockdown already applied in this process")]
    AlreadyApplied,
    /// A step failed after earlier, irreversible steps took effect: the
    /// process is partly confined and should exit (fail closed).
    #[error("lockdown partially applied (completed: {completed:?}); the process should exit")]
    Partial {
        /// Steps that completed.
        completed: Vec<&'static str>,
        /// The failure.
        #[source]
        source: Box<SandboxError>,
    },
}

impl SandboxError {
    /// Whether the process was left partly confined.
    pub fn is_partial(&self) -> bool {
        matches!(self, SandboxError::Partial { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins the shape of the error enums (as landlock's
    /// `ruleset_error_breaking_change` does): adding a variant is fine,
    /// changing these is a breaking change.
    #[test]
    fn error_shape() {
        let e = SandboxError::Partial {
            completed: vec!["rlimits"],
            source: Box::new(SandboxError::Tsync(7)),
        };
        assert!(e.is_partial());
        assert_eq!(
            e.to_string(),
            "lockdown partially applied (completed: [\"rlimits\"]); the process should exit"
        );
        let t = ThreadError::Unreachable(vec![3]);
        assert!(t.to_string().contains("nothing was applied"));
        let s: SandboxError = SeccompError::UnknownSyscall("x".into()).into();
        assert!(!s.is_partial());
        assert!(std::error::Error::source(&s).is_some());
    }
}
