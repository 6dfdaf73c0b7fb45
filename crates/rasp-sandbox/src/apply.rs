//! [`Lockdown::apply`]: the fixed, fail-closed order.
//!
//! 1. Refuse early, changing nothing: already locked down; single-thread
//!    mode with several threads; Landlock ruleset creation (all paths are
//!    opened now, while we can still open them, facts P10); the ping round
//!    (every thread must answer the broadcast signal).
//! 2. Resource limits (process-wide).
//! 3. Per thread, in every thread: bounding set and ambient set (need
//!    CAP_SETPCAP, so before the uid change, facts c4), groups/gid/uid,
//!    remaining capability sets, `no_new_privs`, Landlock.
//! 4. Trap mode: SIGSYS handler and reporter thread (created by a confined
//!    thread, so it is confined too).
//! 5. seccomp with TSYNC, last: the earlier steps' syscalls are not filtered,
//!    and a failure before it does not leave a filter without the rest.
//! 6. Read every thread back from `/proc` and verify; a mismatch is an error.
//!
//! From step 2 on, a failure is [`SandboxError::Partial`]: the process is
//! partly confined and should exit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{SandboxError, ThreadError};
use crate::landlock_rules;
use crate::policy::{Lockdown, ThreadMode};
use crate::report::{Enforcement, MechanismReport, Posture, Recorded, RECORDED};
use crate::seccomp::{ViolationMode, FLAG_LOG, FLAG_TSYNC};
use crate::sys::broadcast::{self, Broadcast, Outcome, ThreadPlan};
use crate::sys::{raw, sigsys};
use crate::violation;

static APPLIED: AtomicBool = AtomicBool::new(false);

fn partial(completed: &[&'static str], e: SandboxError) -> SandboxError {
    SandboxError::Partial {
        completed: completed.to_vec(),
        source: Box::new(e),
    }
}

fn step_error(tid: i32, step: broadcast::Step, errno: i32) -> SandboxError {
    ThreadError::StepFailed {
        tid,
        step: step.name(),
        source: raw::os_error(errno),
    }
    .into()
}

impl Lockdown {
    /// Applies the lockdown to the whole process, in the documented order,
    /// and returns the posture read back from `/proc`.
    pub fn apply(self) -> Result<Posture, SandboxError> {
        if APPLIED.swap(true, Ordering::SeqCst) {
            return Err(SandboxError::AlreadyApplied);
        }
        let r = self.apply_inner();
        if matches!(r, Err(ref e) if !e.is_partial()) {
            // Nothing changed: a later attempt is allowed.
            APPLIED.store(false, Ordering::SeqCst);
        }
        r
    }

    fn apply_inner(self) -> Result<Posture, SandboxError> {
        let mut mechanisms: Vec<MechanismReport> = Vec::new();

        // 1. Checks and preparation; nothing irreversible.
        let tids = broadcast::list_tids().map_err(ThreadError::Io)?;
        if self.threads == ThreadMode::RequireSingleThread && tids.len() > 1 {
            return Err(ThreadError::MultiThreaded(tids.len()).into());
        }
        let prepared = landlock_rules::prepare(self.fs.as_ref(), self.net.as_ref())?;
        let mut broadcast = if tids.len() > 1 {
            let mut b = Broadcast::install().map_err(thread_setup_error)?;
            let pinged = b.ping(self.thread_timeout).map_err(thread_setup_error)?;
            let silent: Vec<i32> = pinged
                .iter()
                .filter(|(_, o)| *o == Outcome::NoAnswer)
                .map(|(t, _)| *t)
                .collect();
            if !silent.is_empty() {
                return Err(ThreadError::Unreachable(silent).into());
            }
            Some(b)
        } else {
            None
        };
        let keep_caps = self.keep_caps & crate::caps::current_set("CapPrm").unwrap_or(0);
        const CAP_SETPCAP: u32 = 8;
        let drop_bounding =
            crate::caps::current_effective().unwrap_or(0) & (1u64 << CAP_SETPCAP) != 0;
        let plan = ThreadPlan {
            keep_caps,
            cap_last: crate::caps::last_cap(),
            drop_bounding,
            identity: self.identity,
            landlock_fd: prepared.fd.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
        };

        // 2. Resource limits.
        let mut done: Vec<&'static str> = Vec::new();
        self.rlimits.apply().map_err(|e| partial(&done, e))?;
        done.push("rlimits");
        mechanisms.push(MechanismReport::new(
            "rlimits",
            Enforcement::Full,
            format!("{:?}", self.rlimits),
        ));

        // 3. Per-thread parts, every thread.
        let thread_detail = match broadcast.as_mut() {
            Some(b) => {
                let out = b
                    .apply(&plan, self.thread_timeout)
                    .map_err(|e| partial(&done, thread_setup_error(e)))?;
                for (tid, o) in &out.outcomes {
                    match o {
                        Outcome::Failed(step, errno) => {
                            return Err(partial(&done, step_error(*tid, *step, *errno)))
                        }
                        Outcome::NoAnswer => {
                            return Err(partial(&done, ThreadError::Unreachable(vec![*tid]).into()))
                        }
                        Outcome::Done | Outcome::Gone => {}
                    }
                }
                if !out.complete {
                    return Err(partial(
                        &done,
                        ThreadError::TooMany(out.outcomes.len()).into(),
                    ));
                }
                format!(
                    "{} threads confined by signal {} in {} round(s)",
                    out.outcomes
                        .iter()
                        .filter(|(_, o)| *o == Outcome::Done)
                        .count(),
                    b.signal(),
                    out.rounds
                )
            }
            None => {
                broadcast::apply_single(&plan)
                    .map_err(|(s, e)| partial(&done, step_error(raw::gettid(), s, e)))?;
                "single thread".to_string()
            }
        };
        drop(broadcast);
        // Verify the per-thread credentials now, while /proc is readable
        // whatever the seccomp policy.
        let threads = crate::report::read_threads();
        if threads.is_empty() {
            return Err(partial(
                &done,
                ThreadError::Io(std::io::Error::other("cannot read /proc/self/task")).into(),
            ));
        }
        let wrong: Vec<String> = threads
            .iter()
            .filter_map(|t| {
                let mut why = Vec::new();
                if t.cap_eff & !keep_caps != 0
                    || t.cap_prm & !keep_caps != 0
                    || t.cap_inh != 0
                    || t.cap_amb != 0
                {
                    why.push("capabilities");
                }
                if drop_bounding && t.cap_bnd & !keep_caps != 0 {
                    why.push("bounding set");
                }
                if !t.no_new_privs {
                    why.push("no_new_privs");
                }
                if let Some((uid, gid)) = self.identity {
                    if t.uid[..3].iter().any(|u| *u != uid) || t.gid[..3].iter().any(|g| *g != gid)
                    {
                        why.push("uid/gid");
                    }
                }
                (!why.is_empty())
                    .then(|| format!("thread {} ({}): {}", t.tid, t.name, why.join(", ")))
            })
            .collect();
        if !wrong.is_empty() {
            return Err(partial(
                &done,
                ThreadError::StepFailed {
                    tid: 0,
                    step: "verification",
                    source: std::io::Error::other(wrong.join("; ")),
                }
                .into(),
            ));
        }
        done.push("threads");
        mechanisms.push(MechanismReport::new(
            "threads",
            Enforcement::Full,
            thread_detail,
        ));
        mechanisms.push(MechanismReport::new(
            "identity",
            Enforcement::Full,
            match self.identity {
                Some((u, g)) => format!("uid {u} gid {g}, no supplementary groups"),
                None => "unchanged (not root)".into(),
            },
        ));
        mechanisms.push(MechanismReport::new(
            "capabilities",
            Enforcement::Full,
            if drop_bounding {
                format!("kept {:?}", crate::caps::names(keep_caps))
            } else {
                format!(
                    "kept {:?}; bounding set left as is (no CAP_SETPCAP; harmless under no_new_privs)",
                    crate::caps::names(keep_caps)
                )
            },
        ));
        mechanisms.push(MechanismReport::new(
            "no-new-privs",
            Enforcement::Full,
            "set on every thread".into(),
        ));
        let landlock_on = prepared.fd.is_some();
        mechanisms.extend(prepared.reports.iter().cloned());
        drop(prepared);

        // 4. Trap/audit machinery.
        if let Some(s) = &self.seccomp {
            if self.mode != ViolationMode::Enforce {
                let fd = sigsys::new_eventfd()
                    .map_err(|e| partial(&done, SandboxError::TrapHandler(e)))?;
                sigsys::install(fd).map_err(|e| partial(&done, SandboxError::TrapHandler(e)))?;
                let handler = self.on_violation.clone().unwrap_or_else(|| {
                    Arc::new(|v: &violation::Violation| eprintln!("rasp-sandbox: {v}"))
                });
                violation::start_reporter(fd, handler)
                    .map_err(|e| partial(&done, SandboxError::TrapHandler(e)))?;
            }

            // 5. seccomp, all threads.
            let mut flags = FLAG_TSYNC;
            if self.kernel_log {
                flags |= FLAG_LOG;
            }
            let filter = s.program.to_sock_filter();
            let mut installed = raw::seccomp_set_filter(flags, &filter);
            if installed == Err(libc::EINVAL) && flags & FLAG_LOG != 0 {
                // Kernels before 4.14 do not know FLAG_LOG; the filter
                // matters more than the audit records.
                installed = raw::seccomp_set_filter(flags & !FLAG_LOG, &filter);
            }
            match installed {
                Ok(0) => {}
                Ok(tid) => return Err(partial(&done, SandboxError::Tsync(tid as i32))),
                Err(e) => {
                    return Err(partial(
                        &done,
                        SandboxError::SeccompInstall(raw::os_error(e)),
                    ))
                }
            }
            done.push("seccomp");
            mechanisms.push(MechanismReport::new(
                "seccomp",
                if self.mode == ViolationMode::AuditOnly {
                    Enforcement::None
                } else {
                    Enforcement::Full
                },
                format!(
                    "{} ({} syscalls with rules, {} BPF instructions), mode {:?}, TSYNC{}",
                    s.name,
                    s.policy.len(),
                    s.program.len(),
                    self.mode,
                    if self.kernel_log { ", kernel log" } else { "" }
                ),
            ));
        } else {
            mechanisms.push(MechanismReport::new(
                "seccomp",
                Enforcement::None,
                "disabled through dangerous()".into(),
            ));
        }

        if let Ok(mut r) = RECORDED.lock() {
            *r = Some(Recorded {
                mechanisms,
                landlock_fs_all_threads: landlock_on && self.fs.is_some(),
                landlock_net_all_threads: landlock_on && self.net.is_some(),
                writable: self
                    .fs
                    .as_ref()
                    .map(|f| f.writable_paths().to_vec())
                    .unwrap_or_default(),
                kept_caps: keep_caps,
            });
        }

        // 6. Read back. Under a policy that cannot open files (the seed's
        // list has no openat) /proc is unreadable: say so instead of
        // pretending.
        let p = crate::report::posture();
        if self.seccomp.is_some() {
            let unfiltered: Vec<i32> = p
                .threads
                .iter()
                .filter(|t| t.seccomp != 2)
                .map(|t| t.tid)
                .collect();
            if !unfiltered.is_empty() {
                return Err(partial(
                    &done,
                    ThreadError::StepFailed {
                        tid: unfiltered[0],
                        step: "verification",
                        source: std::io::Error::other(format!(
                            "threads without seccomp filter: {unfiltered:?}"
                        )),
                    }
                    .into(),
                ));
            }
        }
        Ok(p)
    }
}

fn thread_setup_error(e: broadcast::BroadcastError) -> SandboxError {
    match e {
        broadcast::BroadcastError::NoFreeSignal => ThreadError::NoFreeSignal.into(),
        broadcast::BroadcastError::Sigaction(errno) => ThreadError::Io(raw::os_error(errno)).into(),
        broadcast::BroadcastError::TooManyThreads(n) => ThreadError::TooMany(n).into(),
        broadcast::BroadcastError::ListThreads(e) => ThreadError::Io(e).into(),
    }
}
