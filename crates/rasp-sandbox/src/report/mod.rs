//! The posture report: what the live process is allowed to do, checked item
//! by item against Pod Security Standards "restricted" and the seed's
//! hardening, with a score (in the spirit of `systemd-analyze security`,
//! which cannot see what a process did to itself).

mod proc;

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub use proc::{Mount, ThreadStatus};

/// How completely a mechanism is enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Enforcement {
    /// Enforced as configured.
    Full,
    /// Enforced with known gaps (see the detail).
    Partial,
    /// Not enforced.
    None,
}

/// What one lockdown mechanism achieved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MechanismReport {
    /// `rlimits`, `identity`, `capabilities`, `no-new-privs`, `landlock-fs`,
    /// `landlock-net`, `seccomp`, `threads`.
    pub mechanism: String,
    /// Achieved level.
    pub enforcement: Enforcement,
    /// Why, in words.
    pub detail: String,
}

impl MechanismReport {
    pub(crate) fn new(mechanism: &str, enforcement: Enforcement, detail: String) -> Self {
        MechanismReport {
            mechanism: mechanism.to_string(),
            enforcement,
            detail,
        }
    }
}

/// One checked item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Check {
    /// Stable id, e.g. `pss.runAsNonRoot`.
    pub id: String,
    /// What it means.
    pub description: String,
    /// Whether the live process passes.
    pub passed: bool,
    /// Weight in the score.
    pub weight: u32,
    /// Evidence.
    pub detail: String,
}

/// A resource limit as read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RlimitStatus {
    /// `RLIMIT_*`.
    pub resource: String,
    /// Soft limit (`None` = unlimited).
    pub soft: Option<u64>,
    /// Hard limit (`None` = unlimited).
    pub hard: Option<u64>,
}

/// The posture of the live process. Returned by [`lockdown`](crate::lockdown)
/// and [`posture`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
#[must_use]
pub struct Posture {
    /// Every thread, read from `/proc/self/task/*/status`.
    pub threads: Vec<ThreadStatus>,
    /// Resource limits.
    pub rlimits: Vec<RlimitStatus>,
    /// Kernel Landlock ABI (0 = none).
    pub landlock_abi: u32,
    /// Whether a lockdown of this crate confined every thread with Landlock
    /// (the kernel has no interface to read a thread's domain back, so this
    /// is what lockdown recorded, not a measurement).
    pub landlock_applied: bool,
    /// Writable mounts.
    pub writable_mounts: Vec<Mount>,
    /// Container runtime, if recognisable.
    pub container_runtime: Option<String>,
    /// What each lockdown mechanism achieved (empty before lockdown).
    pub mechanisms: Vec<MechanismReport>,
    /// Every checked item.
    pub checks: Vec<Check>,
    /// 0–100: the weighted share of passed checks.
    pub score: u32,
}

impl Posture {
    /// Failed checks.
    pub fn failed(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Whether check `id` passed (`None` if there is no such check).
    pub fn passed(&self, id: &str) -> Option<bool> {
        self.checks.iter().find(|c| c.id == id).map(|c| c.passed)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A short human-readable summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "posture score {}/100 ({} threads)\n",
            self.score,
            self.threads.len()
        );
        for c in &self.checks {
            s.push_str(&format!(
                "  [{}] {:<32} {}\n",
                if c.passed { "pass" } else { "FAIL" },
                c.id,
                c.detail
            ));
        }
        for m in &self.mechanisms {
            s.push_str(&format!(
                "  {:<14} {:?}: {}\n",
                m.mechanism, m.enforcement, m.detail
            ));
        }
        s
    }
}

/// What the last lockdown recorded for the posture report.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub(crate) mechanisms: Vec<MechanismReport>,
    pub(crate) landlock_fs_all_threads: bool,
    pub(crate) landlock_net_all_threads: bool,
    pub(crate) writable: Vec<std::path::PathBuf>,
    pub(crate) kept_caps: u64,
}

pub(crate) static RECORDED: Mutex<Option<Recorded>> = Mutex::new(None);

fn rlimits() -> Vec<RlimitStatus> {
    [
        ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
        ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
        ("RLIMIT_CORE", libc::RLIMIT_CORE),
        ("RLIMIT_DATA", libc::RLIMIT_DATA),
        ("RLIMIT_AS", libc::RLIMIT_AS),
        ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ]
    .into_iter()
    .filter_map(|(name, r)| {
        let (soft, hard) = crate::sys::getrlimit(r).ok()?;
        let lim = |v: u64| (v != libc::RLIM_INFINITY).then_some(v);
        Some(RlimitStatus {
            resource: name.to_string(),
            soft: lim(soft),
            hard: lim(hard),
        })
    })
    .collect()
}

/// Every thread's status (empty if `/proc` cannot be read).
pub(crate) fn read_threads() -> Vec<ThreadStatus> {
    proc::threads()
}

fn all(threads: &[ThreadStatus], f: impl Fn(&ThreadStatus) -> bool) -> (bool, Vec<i32>) {
    let bad: Vec<i32> = threads.iter().filter(|t| !f(t)).map(|t| t.tid).collect();
    (bad.is_empty() && !threads.is_empty(), bad)
}

/// Reads the live process and scores it.
pub fn posture() -> Posture {
    let threads = proc::threads();
    let rlimits = rlimits();
    let recorded = RECORDED.lock().map(|r| {
        r.as_ref().map(|r| {
            (
                r.mechanisms.clone(),
                r.landlock_fs_all_threads,
                r.landlock_net_all_threads,
                r.writable.clone(),
                r.kept_caps,
            )
        })
    });
    let (mechanisms, ll_fs, ll_net, writable, kept) =
        recorded
            .ok()
            .flatten()
            .unwrap_or((Vec::new(), false, false, Vec::new(), 0));
    let allowed_caps = kept & (1u64 << crate::caps::NET_BIND_SERVICE);
    let mut checks = Vec::new();
    let mut check = |id: &str, description: &str, weight: u32, passed: bool, detail: String| {
        checks.push(Check {
            id: id.to_string(),
            description: description.to_string(),
            passed,
            weight,
            detail,
        });
    };
    let tids = |bad: &[i32]| {
        if bad.is_empty() {
            "all threads".to_string()
        } else {
            format!("threads {bad:?}")
        }
    };

    let (ok, bad) = all(&threads, |t| t.uid[..3].iter().all(|u| *u != 0));
    check(
        "pss.runAsNonRoot",
        "every thread runs with non-zero real, effective and saved uid",
        10,
        ok,
        format!("uid 0 in {}", if ok { "none".into() } else { tids(&bad) }),
    );
    let (ok, bad) = all(&threads, |t| {
        t.gid[..3].iter().all(|g| *g != 0) && !t.groups.contains(&0)
    });
    check(
        "seed.nonRootGroup",
        "no thread has gid 0 or the root group",
        3,
        ok,
        if ok { "ok".into() } else { tids(&bad) },
    );
    let (ok, bad) = all(&threads, |t| {
        t.cap_eff & !allowed_caps == 0
            && t.cap_prm & !allowed_caps == 0
            && t.cap_inh == 0
            && t.cap_amb == 0
    });
    check(
        "pss.capabilities.dropAll",
        "no capabilities except NET_BIND_SERVICE in effective, permitted, inheritable, ambient",
        10,
        ok,
        if ok {
            "ok".into()
        } else {
            format!(
                "{}: {:?}",
                tids(&bad),
                threads
                    .iter()
                    .find(|t| bad.contains(&t.tid))
                    .map(|t| crate::caps::names(t.cap_eff))
                    .unwrap_or_default()
            )
        },
    );
    let (ok, bad) = all(&threads, |t| t.cap_bnd & !allowed_caps == 0);
    check(
        "seed.capabilities.bounding",
        "capability bounding set empty (capabilities cannot come back via exec)",
        5,
        ok,
        if ok { "ok".into() } else { tids(&bad) },
    );
    let (ok, bad) = all(&threads, |t| t.no_new_privs);
    check(
        "pss.allowPrivilegeEscalation",
        "no_new_privs set on every thread",
        8,
        ok,
        if ok { "ok".into() } else { tids(&bad) },
    );
    let (ok, bad) = all(&threads, |t| t.seccomp == 2);
    check(
        "pss.seccompProfile",
        "a seccomp filter on every thread",
        8,
        ok,
        if ok {
            format!(
                "filters per thread: {:?}",
                threads.iter().map(|t| t.seccomp_filters).max().unwrap_or(0)
            )
        } else {
            tids(&bad)
        },
    );
    let covers_system = writable.iter().any(|p| {
        ["/", "/etc", "/usr", "/bin", "/sbin"]
            .iter()
            .any(|s| std::path::Path::new(s).starts_with(p))
    });
    check(
        "seed.readOnlyRootFilesystem",
        "filesystem read-only except configured paths (Landlock, every thread)",
        6,
        ll_fs,
        if ll_fs {
            format!("writable: {writable:?}")
        } else {
            "no Landlock filesystem domain applied by lockdown".into()
        },
    );
    check(
        "seed.apparmorDenyWrite",
        "no writes under /etc, /usr, /bin, /sbin",
        4,
        ll_fs && !covers_system,
        if covers_system {
            format!("a writable path covers a system directory: {writable:?}")
        } else {
            "ok".into()
        },
    );
    check(
        "seed.egressPorts",
        "TCP bind/connect limited to configured ports (Landlock)",
        4,
        ll_net,
        if ll_net {
            "ok".into()
        } else {
            "not applied".into()
        },
    );
    let lim = |name: &str| rlimits.iter().find(|r| r.resource == name);
    let core_off = lim("RLIMIT_CORE").is_some_and(|r| r.soft == Some(0));
    check(
        "seed.noCoreDumps",
        "core dumps disabled",
        2,
        core_off,
        format!("{:?}", lim("RLIMIT_CORE").map(|r| r.soft)),
    );
    let bounded = ["RLIMIT_NOFILE", "RLIMIT_NPROC"]
        .iter()
        .all(|n| lim(n).is_some_and(|r| r.hard.is_some()));
    check(
        "seed.resourceLimits",
        "open files and processes bounded",
        2,
        bounded,
        format!(
            "nofile {:?}, nproc {:?}",
            lim("RLIMIT_NOFILE").map(|r| r.hard),
            lim("RLIMIT_NPROC").map(|r| r.hard)
        ),
    );

    let total: u32 = checks.iter().map(|c| c.weight).sum();
    let got: u32 = checks.iter().filter(|c| c.passed).map(|c| c.weight).sum();
    let score = (got * 100).checked_div(total).unwrap_or(0);
    let p = Posture {
        threads,
        rlimits,
        landlock_abi: crate::sys::raw::landlock_abi(),
        landlock_applied: ll_fs || ll_net,
        writable_mounts: proc::writable_mounts(),
        container_runtime: proc::container_runtime(),
        mechanisms,
        checks,
        score,
    };
    publish_metrics(&p);
    p
}

fn publish_metrics(p: &Posture) {
    let root = p.threads.iter().any(|t| t.uid[1] == 0);
    let caps = p
        .threads
        .iter()
        .map(|t| t.cap_eff.count_ones())
        .max()
        .unwrap_or(0);
    let seccomp = p.threads.iter().map(|t| t.seccomp).min().unwrap_or(0);
    let nnp = p.threads.iter().all(|t| t.no_new_privs);
    metrics::gauge!("rasp_sandbox_running_as_root").set(if root { 1.0 } else { 0.0 });
    metrics::gauge!("rasp_sandbox_effective_capabilities").set(f64::from(caps));
    metrics::gauge!("rasp_sandbox_seccomp_mode").set(f64::from(seccomp));
    metrics::gauge!("rasp_sandbox_no_new_privs").set(if nnp { 1.0 } else { 0.0 });
    metrics::gauge!("rasp_sandbox_posture_score").set(f64::from(p.score));
}
