//! The seccomp policy IR: per-syscall rules with their own actions.
//!
//! Why our own IR above BPF instead of seccompiler's model: seccompiler has
//! one match and one mismatch action per filter, so "allow, but ENOSYS for
//! clone3, trap for the rest" needs stacked filters (each one costs, facts
//! d: 8 filters ≈ +350–900 ns), it compares 32-bit args as 64-bit only if
//! told per rule, and it cannot name syscalls newer than Linux 6.12.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::table;
use crate::error::SeccompError;

/// What the filter does with a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Action {
    /// Run the syscall.
    Allow,
    /// Fail with this errno (EPERM = 1, ENOSYS = 38, …).
    Errno(u16),
    /// Raise SIGSYS. With this crate's handler installed (trap mode) the
    /// syscall fails with EPERM and becomes a [`Violation`](crate::Violation).
    Trap,
    /// Run the syscall and log it to the kernel audit log.
    Log,
    /// Kill the calling thread.
    KillThread,
    /// Kill the whole process.
    KillProcess,
}

impl Action {
    /// `Errno(EPERM)`.
    pub const EPERM: Action = Action::Errno(libc::EPERM as u16);
    /// `Errno(ENOSYS)`: for syscalls whose callers have a fallback (facts P2).
    pub const ENOSYS: Action = Action::Errno(libc::ENOSYS as u16);

    /// Whether the syscall is refused.
    pub fn denies(self) -> bool {
        !matches!(self, Action::Allow | Action::Log)
    }
}

/// Width of an argument comparison.
///
/// An `int` argument must be compared on its low 32 bits: the kernel ignores
/// the upper half, so a 64-bit compare lets `socket(AF_VSOCK | 1 << 32, …)`
/// pass a "domain > 40" rule and still create a vsock socket (facts e, P6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Width {
    /// Compare the low 32 bits.
    Dword,
    /// Compare all 64 bits.
    Qword,
}

/// Comparison operator of a [`Condition`] (unsigned, as libseccomp's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Cmp {
    /// `arg == value`
    Eq,
    /// `arg != value`
    Ne,
    /// `arg < value`
    Lt,
    /// `arg <= value`
    Le,
    /// `arg > value`
    Gt,
    /// `arg >= value`
    Ge,
    /// `arg & mask == value`
    MaskedEq(u64),
}

/// One argument condition. A [`Rule`] matches when all its conditions hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Condition {
    /// Argument index, 0–5.
    pub arg: u8,
    /// Comparison width.
    pub width: Width,
    /// Operator.
    pub op: Cmp,
    /// Right-hand value.
    pub value: u64,
}

impl Condition {
    /// A condition, checked for a valid argument index.
    pub fn new(arg: u8, width: Width, op: Cmp, value: u64) -> Result<Self, SeccompError> {
        if arg > 5 {
            return Err(SeccompError::BadArgIndex(arg));
        }
        Ok(Condition {
            arg,
            width,
            op,
            value,
        })
    }

    /// Evaluates the condition on raw syscall arguments.
    pub fn matches(&self, args: &[u64; 6]) -> bool {
        let raw = args[usize::from(self.arg.min(5))];
        let (a, v, m) = match self.width {
            Width::Dword => (raw & 0xffff_ffff, self.value & 0xffff_ffff, 0xffff_ffffu64),
            Width::Qword => (raw, self.value, u64::MAX),
        };
        match self.op {
            Cmp::Eq => a == v,
            Cmp::Ne => a != v,
            Cmp::Lt => a < v,
            Cmp::Le => a <= v,
            Cmp::Gt => a > v,
            Cmp::Ge => a >= v,
            Cmp::MaskedEq(mask) => a & (mask & m) == v,
        }
    }
}

/// A rule for one syscall: if every condition holds, take `action`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rule {
    /// ANDed conditions; empty = unconditional.
    pub conditions: Vec<Condition>,
    /// The action when all conditions hold.
    pub action: Action,
}

impl Rule {
    /// An unconditional rule.
    pub fn always(action: Action) -> Self {
        Rule {
            conditions: Vec::new(),
            action,
        }
    }

    /// A rule with conditions.
    pub fn when(conditions: Vec<Condition>, action: Action) -> Self {
        Rule { conditions, action }
    }
}

/// Syscalls every policy allows, whatever it says: without them a thread
/// cannot return from a signal handler, resume an interrupted sleep (facts
/// P3: a missing `restart_syscall` turned a sleep into a panic) or exit.
pub const ALWAYS_ALLOWED: &[&str] = &["restart_syscall", "rt_sigreturn", "exit", "exit_group"];

/// A seccomp policy: an ordered rule list per syscall and a default.
///
/// Evaluation for syscall `nr`: the rules of `nr` in order, first match
/// wins; no match (or no rules) gives [`default_action`](Self::default_action).
/// A syscall number above the newest one this crate knows gets
/// [`unknown_action`](Self::unknown_action), ENOSYS by default, so that
/// callers of syscalls newer than the policy fall back instead of failing
/// (facts P2; runc prepends such an ENOSYS stub too).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeccompPolicy {
    pub(crate) default_action: Action,
    pub(crate) unknown_action: Action,
    pub(crate) syscalls: BTreeMap<u32, Vec<Rule>>,
}

impl SeccompPolicy {
    /// An empty policy: everything gets `default_action` (unknown syscalls
    /// get ENOSYS unless `default_action` allows).
    pub fn new(default_action: Action) -> Self {
        SeccompPolicy {
            default_action,
            unknown_action: if default_action.denies() {
                Action::ENOSYS
            } else {
                default_action
            },
            syscalls: BTreeMap::new(),
        }
    }

    /// The default action.
    pub fn default_action(&self) -> Action {
        self.default_action
    }

    /// The action for syscall numbers above the newest known one.
    pub fn unknown_action(&self) -> Action {
        self.unknown_action
    }

    /// Sets the action for syscall numbers above the newest known one.
    pub fn set_unknown_action(&mut self, action: Action) -> &mut Self {
        self.unknown_action = action;
        self
    }

    /// Allows `name` unconditionally (replacing its rules).
    pub fn allow(&mut self, name: &str) -> Result<&mut Self, SeccompError> {
        self.set(name, vec![Rule::always(Action::Allow)])
    }

    /// Allows every syscall in `names` unconditionally.
    pub fn allow_all<'a>(
        &mut self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<&mut Self, SeccompError> {
        for n in names {
            self.allow(n)?;
        }
        Ok(self)
    }

    /// Gives `name` an unconditional action (replacing its rules).
    pub fn set_action(&mut self, name: &str, action: Action) -> Result<&mut Self, SeccompError> {
        self.set(name, vec![Rule::always(action)])
    }

    /// Replaces the rules of `name`.
    pub fn set(&mut self, name: &str, rules: Vec<Rule>) -> Result<&mut Self, SeccompError> {
        let nr = table::number(name).ok_or_else(|| SeccompError::UnknownSyscall(name.into()))?;
        self.syscalls.insert(nr, rules);
        Ok(self)
    }

    /// Appends a rule to `name` (after its existing rules).
    pub fn push_rule(&mut self, name: &str, rule: Rule) -> Result<&mut Self, SeccompError> {
        let nr = table::number(name).ok_or_else(|| SeccompError::UnknownSyscall(name.into()))?;
        self.syscalls.entry(nr).or_default().push(rule);
        Ok(self)
    }

    /// Inserts a rule before the existing rules of `name` (first match
    /// wins, so it takes precedence over them).
    pub fn prepend_rule(&mut self, name: &str, rule: Rule) -> Result<&mut Self, SeccompError> {
        let nr = table::number(name).ok_or_else(|| SeccompError::UnknownSyscall(name.into()))?;
        self.syscalls.entry(nr).or_default().insert(0, rule);
        Ok(self)
    }

    /// Removes every rule of `name`: it gets the default action.
    pub fn remove(&mut self, name: &str) -> Result<&mut Self, SeccompError> {
        let nr = table::number(name).ok_or_else(|| SeccompError::UnknownSyscall(name.into()))?;
        self.syscalls.remove(&nr);
        Ok(self)
    }

    /// The rules of syscall number `nr`.
    pub fn rules(&self, nr: u32) -> Option<&[Rule]> {
        self.syscalls.get(&nr).map(Vec::as_slice)
    }

    /// Iterates `(number, rules)` in syscall-number order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, &[Rule])> {
        self.syscalls.iter().map(|(n, r)| (*n, r.as_slice()))
    }

    /// What the policy does with syscall `nr` and these arguments
    /// (a pure model of the compiled filter, used by tests and `explain`).
    pub fn evaluate(&self, nr: u32, args: &[u64; 6]) -> Action {
        if table::name(nr).is_some_and(|n| ALWAYS_ALLOWED.contains(&n)) {
            return Action::Allow;
        }
        if nr > table::MAX_NR {
            return self.unknown_action;
        }
        match self.syscalls.get(&nr) {
            Some(rules) => rules
                .iter()
                .find(|r| r.conditions.iter().all(|c| c.matches(args)))
                .map_or(self.default_action, |r| r.action),
            None => self.default_action,
        }
    }

    /// The action for `name` called with all-zero arguments (convenience
    /// for reports and tests).
    pub fn action_for(&self, name: &str) -> Option<Action> {
        table::number(name).map(|nr| self.evaluate(nr, &[0; 6]))
    }

    /// Number of syscalls with rules.
    pub fn len(&self) -> usize {
        self.syscalls.len()
    }

    /// Whether no syscall has rules.
    pub fn is_empty(&self) -> bool {
        self.syscalls.is_empty()
    }
}
