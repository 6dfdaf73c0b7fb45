//! Violations as events: the bridge to a Falco-style pipeline.
//!
//! In trap and audit-only mode the SIGSYS handler records each denied (or
//! would-be-denied) syscall in a lock-free ring (`ring`); a reporter thread
//! started by lockdown drains it, calls the configured callback and counts
//! the event in the `metrics` facade:
//!
//! * `rasp_sandbox_seccomp_violations_total{syscall, action}` (counter)
//! * `rasp_sandbox_seccomp_violations_dropped` (gauge, ring overflows)

pub(crate) mod ring;

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::seccomp::table;
use crate::sys::sigsys::{AUDIT_REISSUE, ERRNO_MASK, RULE_SHIFT};

/// What happened to the syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Outcome {
    /// It failed with `errno` (trap mode).
    Denied {
        /// The errno returned to the caller.
        errno: i32,
    },
    /// It ran anyway (audit-only mode).
    Audited,
}

/// One seccomp violation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Violation {
    /// Syscall number (x86_64).
    pub syscall: u32,
    /// Syscall name, if known.
    pub name: Option<String>,
    /// Thread that made the call.
    pub tid: i32,
    /// Instruction pointer after the syscall instruction.
    pub instruction_pointer: u64,
    /// `CLOCK_MONOTONIC` time of the event in nanoseconds.
    pub monotonic_ns: u64,
    /// Denied or audited.
    pub outcome: Outcome,
    /// Which of the syscall's rules decided (index into
    /// [`SeccompPolicy::rules`](crate::SeccompPolicy::rules); 6 means 6 or
    /// later), or `None` when the policy's default action did.
    pub rule: Option<u8>,
}

impl Violation {
    pub(crate) fn from_raw(ev: ring::RawEvent) -> Self {
        let nr = ev.nr as u32;
        let outcome = if ev.data & AUDIT_REISSUE != 0 {
            Outcome::Audited
        } else {
            let e = (ev.data & ERRNO_MASK) as i32;
            Outcome::Denied {
                errno: if e == 0 { libc::EPERM } else { e },
            }
        };
        let tag = ((ev.data >> RULE_SHIFT) & 7) as u8;
        Violation {
            rule: (tag != 7).then_some(tag),
            syscall: nr,
            name: table::name(nr).map(str::to_string),
            tid: ev.tid,
            instruction_pointer: ev.ip,
            monotonic_ns: ev.monotonic_ns,
            outcome,
        }
    }

    /// The syscall name, or its number.
    pub fn syscall_name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("syscall_{}", self.syscall))
    }
}

impl Violation {
    fn rule_label(&self) -> String {
        self.rule
            .map_or_else(|| "default".to_string(), |i| format!("#{i}"))
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.outcome {
            Outcome::Denied { errno } => write!(
                f,
                "seccomp violation: syscall={}({}) tid={} rule={} action=trap->errno {}",
                self.syscall_name(),
                self.syscall,
                self.tid,
                self.rule_label(),
                errno
            ),
            Outcome::Audited => write!(
                f,
                "seccomp audit: syscall={}({}) tid={} rule={} action=allowed (audit-only)",
                self.syscall_name(),
                self.syscall,
                self.tid,
                self.rule_label()
            ),
        }
    }
}

/// A violation callback. Runs on the reporter thread, which is inside the
/// sandbox too: it may only make syscalls the policy allows.
pub type ViolationHandler = Arc<dyn Fn(&Violation) + Send + Sync + 'static>;

/// Number of violation events lost because the ring was full.
pub fn dropped_violations() -> u64 {
    ring::dropped()
}

/// Number of violation events recorded or dropped since start.
pub fn total_violations() -> u64 {
    ring::total()
}

static CONSUMER: Mutex<()> = Mutex::new(());

/// Delivers every pending event to `handler` now. The reporter thread does
/// this on its own; this is for callers that want to flush synchronously.
pub fn drain_violations(handler: &dyn Fn(&Violation)) -> usize {
    let Ok(_guard) = CONSUMER.lock() else {
        return 0;
    };
    let mut n = 0;
    while let Some(ev) = ring::pop() {
        let v = Violation::from_raw(ev);
        record_metrics(&v);
        handler(&v);
        n += 1;
    }
    metrics::gauge!("rasp_sandbox_seccomp_violations_dropped").set(ring::dropped() as f64);
    n
}

fn record_metrics(v: &Violation) {
    let action = match v.outcome {
        Outcome::Denied { .. } => "denied",
        Outcome::Audited => "audited",
    };
    metrics::counter!(
        "rasp_sandbox_seccomp_violations_total",
        "syscall" => v.syscall_name(),
        "action" => action
    )
    .increment(1);
}

/// Starts the reporter thread: waits on the eventfd the SIGSYS handler
/// signals and drains the ring into `handler`.
pub(crate) fn start_reporter(eventfd: i32, handler: ViolationHandler) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("rasp-violations".into())
        .spawn(move || loop {
            if !crate::sys::sigsys::wait_eventfd(eventfd) {
                // The fd is gone: nothing will wake us again.
                return;
            }
            drain_violations(&*handler);
        })
        .map(drop)
}
