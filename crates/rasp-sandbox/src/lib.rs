//! `sandbox::lockdown()`: a service confines its whole live process with one
//! call at startup.
//!
//! The seed's host and pod hardening (Pod Security "restricted", its seccomp
//! profile, the AppArmor deny-write profile, Cilium's egress ports), applied
//! by the service to itself:
//!
//! ```no_run
//! # fn main() -> Result<(), rasp_sandbox::SandboxError> {
//! let posture = rasp_sandbox::lockdown()?;
//! println!("{}", posture.summary());
//! # Ok(()) }
//! ```
//!
//! or adjusted with the builder:
//!
//! ```no_run
//! use rasp_sandbox::{FsPolicy, Lockdown, NetPolicy, Preset, User, ViolationMode};
//! # fn main() -> Result<(), rasp_sandbox::SandboxError> {
//! let posture = Lockdown::builder()
//!     .run_as(User::Id { uid: 1000, gid: 1000 })
//!     .filesystem(FsPolicy::read_only_root().read_write("/var/lib/app"))
//!     .network(NetPolicy::seed_egress().bind(8080))
//!     .seccomp_preset(Preset::RestrictedV1)
//!     .violation_mode(ViolationMode::Trap)
//!     .on_violation(|v| eprintln!("{v}"))
//!     .apply()?;
//! # Ok(()) }
//! ```
//!
//! # What lockdown applies, in order
//!
//! 1. **Checks, nothing changed yet**: already applied? single-thread mode
//!    with several threads? The Landlock ruleset is created and every path
//!    opened; every thread must answer the broadcast signal.
//! 2. **Resource limits** ([`Rlimits`]): open files, processes, no core
//!    dumps; optional `RLIMIT_DATA` and `RLIMIT_CPU` (not `RLIMIT_AS`, which
//!    many threads make meaningless).
//! 3. **In every thread**: capability bounding set (when the process holds
//!    CAP_SETPCAP; an unprivileged process keeps it, harmless under
//!    `no_new_privs`) and ambient set dropped;
//!    supplementary groups cleared, `setresgid`/`setresuid` to the configured
//!    user (default `nobody` when root: PSS runAsNonRoot); effective,
//!    permitted and inheritable capabilities cleared (PSS "drop ALL",
//!    optionally keeping `NET_BIND_SERVICE`); `no_new_privs`
//!    (allowPrivilegeEscalation: false); Landlock: read-only filesystem
//!    except `/tmp` (or the AppArmor deny-write preset,
//!    [`FsPolicy::apparmor_deny_write`]), TCP bind/connect only to listed
//!    ports (default: connect 5432 and 443).
//! 4. **Trap mode only**: the SIGSYS handler and the reporter thread.
//! 5. **seccomp-bpf with TSYNC** (every thread at once): preset
//!    [`Preset::RestrictedV1`] (default) or [`Preset::RuntimeDefaultV1`], a
//!    custom [`SeccompPolicy`] or an OCI/Docker JSON profile. ENOSYS for
//!    syscalls with fallbacks (`clone3`, …) and for syscalls newer than the
//!    table; `restart_syscall`, `rt_sigreturn`, `exit`, `exit_group` always
//!    allowed; io_uring (whose operations bypass seccomp) refused whatever
//!    the policy says; with port rules on, MPTCP and SCTP sockets refused
//!    too (Landlock's TCP rules do not see them). `restricted` also denies
//!    bpf, userfaultfd, namespaces, ptrace, mount, keyctl, exec and limits
//!    `socket` to AF_UNIX and TCP/UDP.
//! 6. **Verification**: every thread's uid/gid, capability sets and
//!    `no_new_privs` are read back from `/proc/self/task/*/status` right
//!    after step 3, its seccomp mode after step 5, and the [`Posture`]
//!    report is returned.
//!
//! A failure in step 1 leaves the process untouched (and lockdown may be
//! tried again); a failure from step 2 on is [`SandboxError::Partial`]: the
//! process is partly confined and should exit.
//!
//! # Threads: confining what already exists
//!
//! Capabilities, raw uid changes, `no_new_privs` and Landlock below ABI 8
//! are per-thread, and `#[tokio::main]` has started its workers before user
//! code runs. lockdown handles both cases:
//!
//! * **Inside a running runtime** ([`ThreadMode::ConfineAll`], the default):
//!   like glibc's `setuid` broadcast, a real-time signal is sent to every
//!   other thread and each applies the per-thread steps to itself with raw
//!   syscalls in the handler. A first round only checks that every thread
//!   answers; if one does not (it blocks the signal), lockdown fails with
//!   [`ThreadError::Unreachable`] before changing anything. Rounds repeat
//!   until `/proc/self/task` shows no unconfined thread, and the result is
//!   verified per thread. seccomp uses TSYNC.
//! * **Before the runtime** ([`ThreadMode::RequireSingleThread`]): call
//!   lockdown first in a plain `fn main()` and build the runtime afterwards;
//!   every thread is created confined. This mode refuses to run if another
//!   thread exists.
//!
//! ```no_run
//! use rasp_sandbox::{Lockdown, ThreadMode};
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let posture = Lockdown::builder()
//!         .threads(ThreadMode::RequireSingleThread)
//!         .apply()?;
//!     eprintln!("score {}", posture.score);
//!     // tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve())
//!     Ok(())
//! }
//! ```
//!
//! # Violations
//!
//! [`ViolationMode::Trap`]: a denied syscall raises SIGSYS; the handler makes
//! it fail with its errno (EPERM or ENOSYS), records a [`Violation`] in a
//! lock-free ring with a drop counter, and a reporter thread hands it to the
//! [`on_violation`](LockdownBuilder::on_violation) callback and to the
//! `metrics` facade. [`ViolationMode::AuditOnly`] records and then runs the
//! syscall, to learn what a service needs before enforcing.
//!
//! # Limits on this machine and in general (measured, see
//! `../shared/notes/sandbox-facts.md`)
//!
//! * x86_64 only (the syscall table, BPF arch check and SIGSYS layout).
//! * This kernel (Firecracker guest) has no kexec and no module loading:
//!   `kexec_load`, `init_module` and `finit_module` answer ENOSYS even to
//!   root, so the tests can only show that the filter denies them (EPERM)
//!   before the kernel is reached.
//! * Landlock ABI 7 here: no TSYNC (ABI 8), so the per-thread broadcast is
//!   required; UDP is not covered (ABI 10), so DNS and UDP egress stay open;
//!   rules know ports, not addresses. Landlock does not restrict `chmod`/
//!   `chown`: those are denied by the uid drop (DAC) and the capability drop.
//! * The kernel has no interface to read a thread's Landlock domain back;
//!   the posture report states what lockdown applied.
//! * Trap mode: children created with `posix_spawn` lose the handler and are
//!   killed by SIGSYS on their first trapped call; a thread that blocks
//!   SIGSYS gets the default action (core dump, disabled by `RLIMIT_CORE=0`).
//! * Audit-only mode runs denied syscalls through a fixed instruction address
//!   the filter allows; it is for learning, never for enforcement. `clone`,
//!   `clone3`, `fork`, `vfork` are logged by the kernel instead of recorded.
//!   A program started by a re-run `execve` keeps the filter but not the
//!   handler, so its first would-be-denied syscall kills it.
//! * seccomp user notification (`SECCOMP_RET_USER_NOTIF`) is not used.
//! * A thread id reused between two broadcast rounds (pid wrap-around within
//!   milliseconds) could be missed; the final verification reads every
//!   thread's capabilities, uid, `no_new_privs` and seccomp mode, but cannot
//!   see Landlock.
//!
//! # Cost
//!
//! `benches/syscall_overhead.rs` (each sample in a fresh forked child;
//! 2-vCPU Firecracker guest shared with other builds, so ±20 %): `getpid`
//! 172 ns unfiltered, 271 ns under `restricted`, 281 ns under
//! `runtime_default` (answered by the kernel's constant-action cache);
//! `prctl(PR_GET_DUMPABLE)`, an argument-checked rule that runs the BPF
//! program, 332 → 450 ns; a denied syscall 199 → 325 ns (EPERM) and 6.8 µs
//! in trap mode (SIGSYS, handler, event). A whole lockdown of a tokio process
//! with 25 threads (8 workers, 16 blocking) took 4 ms, `/proc` read-back
//! included.
//!
//! # Tests
//!
//! `cargo test -p rasp-sandbox --release`, as root (CI runs as root). Every
//! lockdown runs in a child process (the test binary re-executes itself with
//! `RASP_SANDBOX_SCENARIO` set), so the test process stays unconfined. The
//! OCI tests read `$RASP_SECCOMP_DIR`, else `../shared/seccomp` from the
//! workspace root, and fail if the profiles are missing.
#![deny(missing_docs)]
#![deny(unsafe_code)]
#![warn(unreachable_pub, rust_2018_idioms, missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!("rasp-sandbox supports Linux on x86_64 only");

mod apply;
mod caps;
mod error;
mod landlock_rules;
mod policy;
mod report;
mod rlimits;
pub mod seccomp;
mod sys;
mod violation;

pub use error::{IdentityError, LandlockError, SandboxError, SeccompError, ThreadError};
pub use landlock_rules::{FsPolicy, NetPolicy, Requirement};
pub use policy::{Dangerous, Lockdown, LockdownBuilder, ThreadMode, User};
pub use report::{
    posture, Check, Enforcement, MechanismReport, Mount, Posture, RlimitStatus, ThreadStatus,
};
pub use rlimits::Rlimits;
pub use seccomp::{Preset, SeccompPolicy, ViolationMode};
pub use violation::{
    drain_violations, dropped_violations, total_violations, Outcome, Violation, ViolationHandler,
};

/// Confines the whole process with the restricted defaults (see the crate
/// docs and [`LockdownBuilder`]'s `# Defaults`) and returns its posture.
pub fn lockdown() -> Result<Posture, SandboxError> {
    Lockdown::builder().apply()
}
