//! Reading the live process from `/proc`.

use serde::{Deserialize, Serialize};

/// Security state of one thread, from `/proc/self/task/<tid>/status`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThreadStatus {
    /// Thread id.
    pub tid: i32,
    /// Thread name (`Name:`).
    pub name: String,
    /// Real, effective, saved and filesystem uid.
    pub uid: [u32; 4],
    /// Real, effective, saved and filesystem gid.
    pub gid: [u32; 4],
    /// Supplementary groups.
    pub groups: Vec<u32>,
    /// Inheritable capabilities (bit n = capability n).
    pub cap_inh: u64,
    /// Permitted capabilities.
    pub cap_prm: u64,
    /// Effective capabilities.
    pub cap_eff: u64,
    /// Bounding set.
    pub cap_bnd: u64,
    /// Ambient capabilities.
    pub cap_amb: u64,
    /// `NoNewPrivs:`.
    pub no_new_privs: bool,
    /// `Seccomp:` 0 = off, 1 = strict, 2 = filter.
    pub seccomp: u8,
    /// `Seccomp_filters:` number of stacked filters.
    pub seccomp_filters: u32,
}

fn ids(v: &str) -> [u32; 4] {
    let mut out = [0u32; 4];
    for (slot, part) in out.iter_mut().zip(v.split_whitespace()) {
        *slot = part.parse().unwrap_or(u32::MAX);
    }
    out
}

/// Parses a `status` file. Unknown or malformed fields are left at their
/// defaults (never a panic on odd kernel output).
pub(crate) fn parse_status(tid: i32, text: &str) -> ThreadStatus {
    let mut s = ThreadStatus {
        tid,
        ..ThreadStatus::default()
    };
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        let hex = || u64::from_str_radix(v, 16).unwrap_or(u64::MAX);
        match k {
            "Name" => s.name = v.to_string(),
            "Uid" => s.uid = ids(v),
            "Gid" => s.gid = ids(v),
            "Groups" => {
                s.groups = v
                    .split_whitespace()
                    .filter_map(|g| g.parse().ok())
                    .collect()
            }
            "CapInh" => s.cap_inh = hex(),
            "CapPrm" => s.cap_prm = hex(),
            "CapEff" => s.cap_eff = hex(),
            "CapBnd" => s.cap_bnd = hex(),
            "CapAmb" => s.cap_amb = hex(),
            "NoNewPrivs" => s.no_new_privs = v == "1",
            "Seccomp" => s.seccomp = v.parse().unwrap_or(0),
            "Seccomp_filters" => s.seccomp_filters = v.parse().unwrap_or(0),
            _ => {}
        }
    }
    s
}

/// Every thread of this process.
pub(crate) fn threads() -> Vec<ThreadStatus> {
    let tids = crate::sys::broadcast::list_tids().unwrap_or_default();
    tids.into_iter()
        .filter_map(|tid| {
            let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/status")).ok()?;
            Some(parse_status(tid, &text))
        })
        .collect()
}

/// A writable mount, from `/proc/self/mountinfo`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Mount {
    /// Mount point.
    pub path: String,
    /// Filesystem type.
    pub fstype: String,
}

/// Mounts with the `rw` option.
pub(crate) fn writable_mounts() -> Vec<Mount> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split_whitespace().collect();
            let path = f.get(4)?;
            let opts = f.get(5)?;
            let fstype = right.split_whitespace().next()?;
            opts.split(',').any(|o| o == "rw").then(|| Mount {
                path: (*path).to_string(),
                fstype: fstype.to_string(),
            })
        })
        .collect()
}

/// The container runtime, if one is recognisable.
pub(crate) fn container_runtime() -> Option<String> {
    if std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() {
        return Some("kubernetes".into());
    }
    if std::path::Path::new("/.dockerenv").exists() {
        return Some("docker".into());
    }
    if std::path::Path::new("/run/.containerenv").exists() {
        return Some("podman".into());
    }
    if let Ok(c) = std::env::var("container") {
        return Some(c);
    }
    let cgroup = std::fs::read_to_string("/proc/1/cgroup").unwrap_or_default();
    for (needle, name) in [
        ("kubepods", "kubernetes"),
        ("docker", "docker"),
        ("containerd", "containerd"),
        ("libpod", "podman"),
        ("lxc", "lxc"),
    ] {
        if cgroup.contains(needle) {
            return Some(name.into());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status() {
        let t = "Name:\ttokio-runtime-w\nUid:\t65534\t65534\t65534\t65534\nGid:\t0\t1\t2\t3\n\
                 Groups:\t\nCapInh:\t0000000000000000\nCapPrm:\t0000000000000400\n\
                 CapEff:\t0000000000000400\nCapBnd:\t0000000000000400\nCapAmb:\t0000000000000000\n\
                 NoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\nbogus line\nUid:\tx\n";
        let s = parse_status(9, t);
        assert_eq!(s.name, "tokio-runtime-w");
        assert_eq!(
            s.uid,
            [u32::MAX, 0, 0, 0],
            "a malformed later line must not panic"
        );
        assert_eq!(s.gid, [0, 1, 2, 3]);
        assert!(s.groups.is_empty());
        assert_eq!(s.cap_eff, 1 << 10);
        assert!(s.no_new_privs);
        assert_eq!((s.seccomp, s.seccomp_filters), (2, 1));
    }

    #[test]
    fn reads_own_threads() {
        let me = threads();
        assert!(!me.is_empty());
        assert!(me.iter().all(|t| t.tid > 0 && !t.name.is_empty()));
    }
}
