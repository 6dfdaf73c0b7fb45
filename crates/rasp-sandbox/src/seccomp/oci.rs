//! OCI / Docker seccomp profiles: import into a [`SeccompPolicy`] and export.
//!
//! The OCI runtime-spec format (`defaultAction`, `defaultErrnoRet`,
//! `architectures`, `syscalls[{names, action, errnoRet, args}]`) plus moby's
//! extensions: `archMap` and per-entry `includes`/`excludes` on `caps`,
//! `arches` and `minKernel`, resolved here against the capabilities the
//! process will actually hold, the running architecture (amd64) and kernel.
//!
//! Semantics that differ from libseccomp are made explicit:
//! * rules of one syscall are tried in profile order, conditional entries
//!   before unconditional ones (an unconditional entry is the fallback),
//!   so "allow if arg … / else ENOSYS" works as written;
//! * `int` arguments are compared on 32 bits ([`super::table::dword_args`]);
//! * names unknown on x86_64 (32-bit and other-arch names such as `chown32`,
//!   `_llseek`, `mmap2`) are skipped and listed in the [`OciImport`] report.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::policy::{Action, Cmp, Condition, Rule, SeccompPolicy, Width};
use super::table;
use crate::caps;
use crate::error::SeccompError;

/// An OCI seccomp profile as JSON.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OciProfile {
    /// `SCMP_ACT_*` for syscalls no entry matches.
    pub default_action: String,
    /// errno for `defaultAction: SCMP_ACT_ERRNO` (EPERM when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_errno_ret: Option<u32>,
    /// `SCMP_ARCH_*` the profile applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub architectures: Vec<String>,
    /// moby: native architecture with its sub-architectures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arch_map: Vec<OciArchMap>,
    /// `SECCOMP_FILTER_FLAG_*` names (not translated; see [`OciImport`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<String>,
    /// Syscall entries.
    #[serde(default)]
    pub syscalls: Vec<OciSyscall>,
}

/// moby `archMap` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OciArchMap {
    /// Native architecture.
    pub architecture: String,
    /// Sub-architectures.
    #[serde(default)]
    pub sub_architectures: Option<Vec<String>>,
}

/// One syscall entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OciSyscall {
    /// Syscall names.
    #[serde(default)]
    pub names: Vec<String>,
    /// `SCMP_ACT_*`.
    pub action: String,
    /// errno for `SCMP_ACT_ERRNO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errno_ret: Option<u32>,
    /// ANDed argument conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<OciArg>,
    /// moby: entry applies only if all of these hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub includes: Option<OciFilter>,
    /// moby: entry is skipped if any of these holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excludes: Option<OciFilter>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// One argument condition.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OciArg {
    /// Argument index.
    pub index: u32,
    /// Value (the mask for `SCMP_CMP_MASKED_EQ`).
    pub value: u64,
    /// Second value (the datum for `SCMP_CMP_MASKED_EQ`).
    #[serde(default)]
    pub value_two: u64,
    /// `SCMP_CMP_*`.
    pub op: String,
}

/// moby `includes`/`excludes`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OciFilter {
    /// Capability names (`CAP_SYS_ADMIN`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caps: Vec<String>,
    /// Go architecture names (`amd64`, `arm64`, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub arches: Vec<String>,
    /// Minimum kernel version (`"4.8"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kernel: Option<String>,
}

/// What an import resolved against and what it could not translate.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OciImport {
    /// Syscall names not known on x86_64, skipped.
    pub skipped_names: Vec<String>,
    /// Entries skipped by `includes`/`excludes`, with the reason.
    pub skipped_entries: Vec<String>,
    /// Profile flags that were ignored (e.g. `SECCOMP_FILTER_FLAG_SPEC_ALLOW`).
    pub ignored_flags: Vec<String>,
}

/// The environment moby's `includes`/`excludes` are resolved against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OciContext {
    /// Capabilities the process holds (bit n = capability n).
    pub capabilities: u64,
    /// Running kernel `(major, minor)`.
    pub kernel: (u32, u32),
}

impl OciContext {
    /// The calling thread's effective capabilities and the running kernel.
    pub fn current() -> Self {
        OciContext {
            capabilities: caps::current_effective().unwrap_or(0),
            kernel: crate::sys::kernel_version().unwrap_or((0, 0)),
        }
    }

    /// The same kernel, with the given capability set.
    pub fn with_capabilities(mut self, capabilities: u64) -> Self {
        self.capabilities = capabilities;
        self
    }
}

fn parse_action(s: &str, errno: Option<u32>, default_errno: u32) -> Result<Action, SeccompError> {
    let to_u16 = |e: u32| u16::try_from(e).map_err(|_| SeccompError::BadErrno(u16::MAX));
    Ok(match s {
        "SCMP_ACT_ALLOW" => Action::Allow,
        "SCMP_ACT_ERRNO" => Action::Errno(to_u16(errno.unwrap_or(default_errno))?),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
        "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
        "SCMP_ACT_TRAP" => Action::Trap,
        "SCMP_ACT_LOG" => Action::Log,
        other => return Err(SeccompError::UnsupportedAction(other.to_string())),
    })
}

fn action_name(a: Action) -> (&'static str, Option<u32>) {
    match a {
        Action::Allow => ("SCMP_ACT_ALLOW", None),
        Action::Errno(e) => ("SCMP_ACT_ERRNO", Some(u32::from(e))),
        Action::Trap => ("SCMP_ACT_TRAP", None),
        Action::Log => ("SCMP_ACT_LOG", None),
        Action::KillThread => ("SCMP_ACT_KILL_THREAD", None),
        Action::KillProcess => ("SCMP_ACT_KILL_PROCESS", None),
    }
}

fn parse_cmp(a: &OciArg) -> Result<(Cmp, u64), SeccompError> {
    Ok(match a.op.as_str() {
        "SCMP_CMP_EQ" => (Cmp::Eq, a.value),
        "SCMP_CMP_NE" => (Cmp::Ne, a.value),
        "SCMP_CMP_LT" => (Cmp::Lt, a.value),
        "SCMP_CMP_LE" => (Cmp::Le, a.value),
        "SCMP_CMP_GT" => (Cmp::Gt, a.value),
        "SCMP_CMP_GE" => (Cmp::Ge, a.value),
        "SCMP_CMP_MASKED_EQ" => (Cmp::MaskedEq(a.value), a.value_two),
        other => return Err(SeccompError::UnsupportedOperator(other.to_string())),
    })
}

fn cmp_name(c: &Condition) -> OciArg {
    let (op, value, value_two) = match c.op {
        Cmp::Eq => ("SCMP_CMP_EQ", c.value, 0),
        Cmp::Ne => ("SCMP_CMP_NE", c.value, 0),
        Cmp::Lt => ("SCMP_CMP_LT", c.value, 0),
        Cmp::Le => ("SCMP_CMP_LE", c.value, 0),
        Cmp::Gt => ("SCMP_CMP_GT", c.value, 0),
        Cmp::Ge => ("SCMP_CMP_GE", c.value, 0),
        Cmp::MaskedEq(m) => ("SCMP_CMP_MASKED_EQ", m, c.value),
    };
    OciArg {
        index: u32::from(c.arg),
        value,
        value_two,
        op: op.to_string(),
    }
}

fn parse_version(s: &str) -> Option<(u32, u32)> {
    let mut it = s.split('.');
    let major = it.next()?.trim().parse().ok()?;
    let minor = it.next().map_or(Some(0), |m| m.trim().parse().ok())?;
    Some((major, minor))
}

/// Whether a moby filter holds (for `includes`: all listed items hold).
fn filter_holds(f: &OciFilter, ctx: &OciContext, any: bool) -> Result<bool, SeccompError> {
    let mut checks = Vec::new();
    for c in &f.caps {
        let n = caps::number(c).ok_or_else(|| SeccompError::UnknownCapability(c.clone()))?;
        checks.push(ctx.capabilities & (1u64 << n) != 0);
    }
    if !f.arches.is_empty() {
        // "the running arch is one of these", for includes and excludes.
        checks.push(f.arches.iter().any(|a| a == "amd64"));
    }
    if let Some(k) = &f.min_kernel {
        let want = parse_version(k).ok_or_else(|| SeccompError::BadKernelVersion(k.clone()))?;
        checks.push(ctx.kernel >= want);
    }
    Ok(if any {
        checks.iter().any(|c| *c)
    } else {
        checks.iter().all(|c| *c)
    })
}

impl SeccompPolicy {
    /// Parses an OCI profile from JSON and resolves it against `ctx`.
    pub fn from_oci_json(json: &str, ctx: &OciContext) -> Result<(Self, OciImport), SeccompError> {
        let profile: OciProfile =
            serde_json::from_str(json).map_err(|e| SeccompError::Json(e.to_string()))?;
        Self::from_oci(&profile, ctx)
    }

    /// Reads and imports an OCI profile file.
    pub fn from_oci_file(
        path: impl AsRef<std::path::Path>,
        ctx: &OciContext,
    ) -> Result<(Self, OciImport), SeccompError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|e| SeccompError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        Self::from_oci_json(&json, ctx)
    }

    /// Imports a parsed OCI profile, resolved against `ctx`.
    pub fn from_oci(
        profile: &OciProfile,
        ctx: &OciContext,
    ) -> Result<(Self, OciImport), SeccompError> {
        let mut report = OciImport::default();
        let native = profile
            .architectures
            .iter()
            .chain(profile.arch_map.iter().map(|m| &m.architecture))
            .collect::<Vec<_>>();
        if !native.is_empty() && !native.iter().any(|a| *a == "SCMP_ARCH_X86_64") {
            return Err(SeccompError::NoNativeArch);
        }
        report.ignored_flags = profile.flags.clone();
        let default_errno = profile.default_errno_ret.unwrap_or(libc::EPERM as u32);
        let default_action = parse_action(&profile.default_action, None, default_errno)?;
        let mut policy = SeccompPolicy::new(default_action);
        let mut conditional: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
        let mut unconditional: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
        for (i, entry) in profile.syscalls.iter().enumerate() {
            if let Some(inc) = &entry.includes {
                if !filter_holds(inc, ctx, false)? {
                    report.skipped_entries.push(format!(
                        "entry {i} ({}): includes {:?} not met",
                        entry.names.join(","),
                        inc
                    ));
                    continue;
                }
            }
            if let Some(exc) = &entry.excludes {
                if filter_holds(exc, ctx, true)? {
                    report.skipped_entries.push(format!(
                        "entry {i} ({}): excluded by {:?}",
                        entry.names.join(","),
                        exc
                    ));
                    continue;
                }
            }
            let action = parse_action(&entry.action, entry.errno_ret, default_errno)?;
            for name in &entry.names {
                let Some(nr) = table::number(name) else {
                    if !report.skipped_names.contains(name) {
                        report.skipped_names.push(name.clone());
                    }
                    continue;
                };
                let dword = table::dword_args(name);
                let mut conditions = Vec::with_capacity(entry.args.len());
                for a in &entry.args {
                    let idx =
                        u8::try_from(a.index).map_err(|_| SeccompError::BadArgIndex(u8::MAX))?;
                    let (op, value) = parse_cmp(a)?;
                    let width = if dword.contains(&idx) {
                        Width::Dword
                    } else {
                        Width::Qword
                    };
                    conditions.push(Condition::new(idx, width, op, value)?);
                }
                let target = if conditions.is_empty() {
                    &mut unconditional
                } else {
                    &mut conditional
                };
                target
                    .entry(nr)
                    .or_default()
                    .push(Rule::when(conditions, action));
            }
        }
        for (nr, rules) in conditional {
            policy.syscalls.entry(nr).or_default().extend(rules);
        }
        for (nr, rules) in unconditional {
            // One unconditional rule decides; a second one is unreachable
            // unless it disagrees, which is a profile error.
            let first = rules[0].action;
            if let Some(other) = rules.iter().find(|r| r.action != first) {
                return Err(SeccompError::Conflict {
                    syscall: table::name(nr).unwrap_or("?").to_string(),
                    first,
                    second: other.action,
                });
            }
            policy
                .syscalls
                .entry(nr)
                .or_default()
                .push(Rule::always(first));
        }
        Ok((policy, report))
    }

    /// Exports the policy as an OCI profile (x86_64), usable as a
    /// Kubernetes `Localhost` seccomp profile. Importing the result gives
    /// back an equal policy (as long as 32-bit comparisons are only used on
    /// the `int` arguments of the crate's table, as in every preset).
    ///
    /// Not expressible in OCI and therefore left to the runtime: the
    /// ENOSYS answer for syscall numbers newer than this crate's table (runc
    /// adds an equivalent stub of its own) and the x86_64-only arch check
    /// (runtimes add their own). Argument widths are not written either:
    /// libseccomp compares 64 bits, so `int` arguments are compared more
    /// loosely by a runtime than by this crate.
    pub fn to_oci(&self) -> OciProfile {
        let (default_action, default_errno_ret) = action_name(self.default_action);
        let mut syscalls: Vec<OciSyscall> = Vec::new();
        // Unconditional rules grouped by action, one entry each.
        let mut groups: BTreeMap<Action, Vec<String>> = BTreeMap::new();
        for (nr, rules) in &self.syscalls {
            let name = table::name(*nr).unwrap_or("?").to_string();
            for rule in rules {
                if rule.conditions.is_empty() {
                    groups.entry(rule.action).or_default().push(name.clone());
                    break;
                }
                let (action, errno_ret) = action_name(rule.action);
                syscalls.push(OciSyscall {
                    names: vec![name.clone()],
                    action: action.to_string(),
                    errno_ret,
                    args: rule.conditions.iter().map(cmp_name).collect(),
                    ..OciSyscall::default()
                });
            }
        }
        for (action, names) in groups {
            let (action, errno_ret) = action_name(action);
            syscalls.push(OciSyscall {
                names,
                action: action.to_string(),
                errno_ret,
                ..OciSyscall::default()
            });
        }
        OciProfile {
            default_action: default_action.to_string(),
            default_errno_ret,
            architectures: vec!["SCMP_ARCH_X86_64".to_string()],
            syscalls,
            ..OciProfile::default()
        }
    }

    /// [`to_oci`](Self::to_oci) as pretty JSON.
    pub fn to_oci_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string_pretty(&self.to_oci()).unwrap_or_default()
    }
}
