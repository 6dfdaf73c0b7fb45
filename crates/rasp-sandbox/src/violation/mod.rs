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

impl crate::SeccompPolicy {
    /// The "learn" step after an audit-only run: allows, unconditionally,
    /// every syscall that `events` recorded. Returns the names it added.
    /// Review the list before enforcing: an audit run also records what an
    /// attacker tried.
    pub fn allow_recorded(&mut self, events: &[Violation]) -> Vec<&'static str> {
        let mut added = Vec::new();
        for v in events {
            let Some(name) = table::name(v.syscall) else {
                continue;
            };
            if added.contains(&name) {
                continue;
            }
            if self.allow(name).is_ok() {
                added.push(name);
            }
        }
        added
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seccomp::Action;

    #[test]
    fn raw_events_decode_and_learn() {
        let raw = |nr: i32, data: u32| ring::RawEvent {
            tid: 5,
            nr,
            data,
            ip: 0,
            monotonic_ns: 1,
        };
        let denied = Violation::from_raw(raw(59, 7 << RULE_SHIFT | 1));
        assert_eq!(denied.name.as_deref(), Some("execve"));
        assert_eq!(denied.outcome, Outcome::Denied { errno: 1 });
        assert_eq!(denied.rule, None);
        assert!(denied.to_string().contains("syscall=execve(59)"));
        let audited = Violation::from_raw(raw(272, AUDIT_REISSUE | 2 << RULE_SHIFT | 1));
        assert_eq!(audited.outcome, Outcome::Audited);
        assert_eq!(audited.rule, Some(2));
        let unknown = Violation::from_raw(raw(999, 38));
        assert_eq!(unknown.name, None);
        assert_eq!(unknown.syscall_name(), "syscall_999");

        let mut p = crate::SeccompPolicy::restricted();
        assert_eq!(p.action_for("unshare"), Some(Action::EPERM));
        let added = p.allow_recorded(&[audited.clone(), audited, unknown]);
        assert_eq!(added, vec!["unshare"]);
        assert_eq!(p.action_for("unshare"), Some(Action::Allow));
    }
}
