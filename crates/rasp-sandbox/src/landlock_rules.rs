//! Landlock: read-only filesystem with writable exceptions, TCP port rules.
//!
//! The ruleset is built with the `landlock` crate (compatibility handling,
//! path rules) but *applied* by every thread itself with the raw
//! `landlock_restrict_self(fd)` (sys::broadcast): below ABI 8 a domain is
//! per thread and the crate's `restrict_self` confines only the caller
//! (sandbox-facts b: a thread created before it could still write /etc).
//!
//! Access rights are pinned to ABI 5 for the filesystem (up to `IoctlDev`)
//! and ABI 4 for the network, so a newer kernel or crate never changes what
//! a policy means. Scopes (ABI 6) are not used: with one domain per thread,
//! abstract-socket scoping would cut threads of the same process off from
//! each other (go-landlock#36).

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use ::landlock::{
    Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd,
    Ruleset, RulesetAttr, RulesetCreatedAttr, ABI,
};
use serde::{Deserialize, Serialize};

use crate::error::LandlockError;
use crate::report::{Enforcement, MechanismReport};

/// How hard a feature is required.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Requirement {
    /// Apply what the kernel supports; report the achieved level. Default.
    #[default]
    BestEffort,
    /// Apply fully or not at all (reported as not enforced), never an error.
    Soft,
    /// Fail the lockdown unless fully enforced.
    Hard,
}

impl From<Requirement> for CompatLevel {
    fn from(r: Requirement) -> Self {
        match r {
            Requirement::BestEffort => CompatLevel::BestEffort,
            Requirement::Soft => CompatLevel::SoftRequirement,
            Requirement::Hard => CompatLevel::HardRequirement,
        }
    }
}

/// Filesystem policy: everything readable, nothing executable or writable
/// except the listed paths.
///
/// Landlock only allows, it cannot deny: "deny writes to /etc" has to be
/// written as "write only where listed".
///
/// # Defaults
/// [`FsPolicy::read_only_root`]: read `/`, read-write `/tmp` and `/dev/null`,
/// execute nothing, best effort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsPolicy {
    read: Vec<PathBuf>,
    read_write: Vec<PathBuf>,
    execute: Vec<PathBuf>,
    requirement: Requirement,
}

impl Default for FsPolicy {
    fn default() -> Self {
        Self::read_only_root()
    }
}

impl FsPolicy {
    /// Read-only `/`, read-write `/tmp` and `/dev/null`, no execution
    /// (PSS-adjacent `readOnlyRootFilesystem` with an emptyDir on /tmp).
    pub fn read_only_root() -> Self {
        FsPolicy {
            read: vec!["/".into()],
            read_write: vec!["/tmp".into(), "/dev/null".into()],
            execute: Vec::new(),
            requirement: Requirement::BestEffort,
        }
    }

    /// The seed's AppArmor `k8s-deny-write` profile: read everything, write
    /// everywhere except under `/bin`, `/sbin`, `/usr` and `/etc`.
    ///
    /// Expressed the Landlock way: read-write on every top-level directory
    /// of `/` except those four (symlinks such as `/lib -> usr/lib` are
    /// skipped, as AppArmor matches the resolved path). Computed when called.
    pub fn apparmor_deny_write() -> Self {
        const DENIED: &[&str] = &["bin", "sbin", "usr", "etc"];
        let mut rw: Vec<PathBuf> = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/") {
            for e in dir.flatten() {
                let name = e.file_name();
                let Some(name) = name.to_str() else { continue };
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if is_dir && !DENIED.contains(&name) {
                    rw.push(Path::new("/").join(name));
                }
            }
        }
        rw.sort();
        FsPolicy {
            read: vec!["/".into()],
            read_write: rw,
            execute: vec!["/".into()],
            requirement: Requirement::BestEffort,
        }
    }

    /// Adds a read-write path (directory or file). Default: `/tmp`, `/dev/null`.
    pub fn read_write(mut self, path: impl Into<PathBuf>) -> Self {
        self.read_write.push(path.into());
        self
    }

    /// Adds a read-only path. Default: `/`.
    pub fn read(mut self, path: impl Into<PathBuf>) -> Self {
        self.read.push(path.into());
        self
    }

    /// Allows executing files beneath `path`. Default: none.
    pub fn execute(mut self, path: impl Into<PathBuf>) -> Self {
        self.execute.push(path.into());
        self
    }

    /// Sets the requirement. Default: [`Requirement::BestEffort`].
    pub fn requirement(mut self, r: Requirement) -> Self {
        self.requirement = r;
        self
    }

    /// The writable paths.
    pub fn writable_paths(&self) -> &[PathBuf] {
        &self.read_write
    }
}

/// TCP port policy: bind and connect only to listed ports.
///
/// Landlock knows ports only, not addresses; it covers TCP but not UDP
/// before ABI 10 and not MPTCP/SCTP at all (the `restricted` seccomp preset
/// closes those by refusing such sockets). Binding port 0 (an ephemeral
/// port) needs port 0 in the bind list.
///
/// # Defaults
/// [`NetPolicy::seed_egress`]: connect to 5432 and 443, bind nothing (bind
/// listeners before lockdown, or list their ports), best effort.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetPolicy {
    bind: Vec<u16>,
    connect: Vec<u16>,
    requirement: Requirement,
}

impl Default for NetPolicy {
    fn default() -> Self {
        Self::seed_egress()
    }
}

impl NetPolicy {
    /// The seed's Cilium egress policy: TCP 5432 (PostgreSQL) and 443.
    pub fn seed_egress() -> Self {
        NetPolicy {
            bind: Vec::new(),
            connect: vec![5432, 443],
            requirement: Requirement::BestEffort,
        }
    }

    /// No port allowed at all.
    pub fn none() -> Self {
        NetPolicy {
            bind: Vec::new(),
            connect: Vec::new(),
            requirement: Requirement::BestEffort,
        }
    }

    /// Allows `bind` to a TCP port.
    pub fn bind(mut self, port: u16) -> Self {
        self.bind.push(port);
        self
    }

    /// Allows `connect` to a TCP port.
    pub fn connect(mut self, port: u16) -> Self {
        self.connect.push(port);
        self
    }

    /// Sets the requirement. Default: [`Requirement::BestEffort`].
    pub fn requirement(mut self, r: Requirement) -> Self {
        self.requirement = r;
        self
    }

    /// Allowed bind ports.
    pub fn bind_ports(&self) -> &[u16] {
        &self.bind
    }

    /// Allowed connect ports.
    pub fn connect_ports(&self) -> &[u16] {
        &self.connect
    }
}

/// A created ruleset, ready for every thread to enforce.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) fd: Option<OwnedFd>,
    pub(crate) reports: Vec<MechanismReport>,
}

const FS_ABI: ABI = ABI::V5;
const NET_ABI: ABI = ABI::V4;

fn read_rights() -> BitFlags<AccessFs> {
    AccessFs::ReadFile | AccessFs::ReadDir
}

fn rw_rights() -> BitFlags<AccessFs> {
    AccessFs::from_write(FS_ABI) | read_rights()
}

fn open(
    path: &Path,
    req: Requirement,
    notes: &mut Vec<String>,
) -> Result<Option<PathFd>, LandlockError> {
    match PathFd::new(path) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if req != Requirement::Hard => {
            notes.push(format!("skipped {}: {e}", path.display()));
            Ok(None)
        }
        Err(e) => Err(LandlockError::Path {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        }),
    }
}

/// Creates the ruleset (opening every path now, before privileges go,
/// sandbox-facts P10) and computes the level the kernel will enforce.
pub(crate) fn prepare(
    fs: Option<&FsPolicy>,
    net: Option<&NetPolicy>,
) -> Result<Prepared, LandlockError> {
    let abi = crate::sys::raw::landlock_abi();
    let mut reports = Vec::new();
    if fs.is_none() && net.is_none() {
        return Ok(Prepared { fd: None, reports });
    }
    let mut ruleset = Ruleset::default();
    let mut fs_notes = Vec::new();
    if let Some(fs) = fs {
        if fs.requirement == Requirement::Hard && abi < FS_ABI as u32 {
            return Err(LandlockError::Unsupported {
                feature: "filesystem",
                needed: FS_ABI as u32,
                have: abi,
            });
        }
        ruleset = ruleset
            .set_compatibility(fs.requirement.into())
            .handle_access(AccessFs::from_all(FS_ABI))?;
    }
    if let Some(net) = net {
        if net.requirement == Requirement::Hard && abi < NET_ABI as u32 {
            return Err(LandlockError::Unsupported {
                feature: "network",
                needed: NET_ABI as u32,
                have: abi,
            });
        }
        ruleset = ruleset
            .set_compatibility(net.requirement.into())
            .handle_access(AccessNet::from_all(NET_ABI))?;
    }
    let mut created = ruleset.create()?;
    if let Some(fs) = fs {
        let groups: [(&[PathBuf], BitFlags<AccessFs>); 3] = [
            (&fs.read, read_rights()),
            (&fs.read_write, rw_rights()),
            (&fs.execute, read_rights() | AccessFs::Execute),
        ];
        for (paths, rights) in groups {
            for p in paths {
                if let Some(fd) = open(p, fs.requirement, &mut fs_notes)? {
                    // path_beneath downgrades directory-only rights for files
                    // (e.g. /dev/null) in best-effort mode; do it ourselves so
                    // a hard requirement does not fail on a file.
                    let is_dir = std::fs::metadata(p).map(|m| m.is_dir()).unwrap_or(true);
                    let rights = if is_dir {
                        rights
                    } else {
                        rights & AccessFs::from_file(FS_ABI)
                    };
                    created = created.add_rule(PathBeneath::new(fd, rights))?;
                }
            }
        }
    }
    if let Some(net) = net {
        for port in &net.bind {
            created = created.add_rule(NetPort::new(*port, AccessNet::BindTcp))?;
        }
        for port in &net.connect {
            created = created.add_rule(NetPort::new(*port, AccessNet::ConnectTcp))?;
        }
    }
    let fd: Option<OwnedFd> = created.into();
    if let Some(fs) = fs {
        let (enforcement, mut detail) = match (abi, &fd) {
            (_, None) | (0, _) => (Enforcement::None, "Landlock not available".to_string()),
            (a, _) if a >= FS_ABI as u32 => (
                Enforcement::Full,
                format!("ABI {a}: read-only except {:?}", fs.read_write),
            ),
            (a, _) => {
                let mut missing = Vec::new();
                if a < 2 {
                    missing.push("Refer");
                }
                if a < 3 {
                    missing.push("Truncate");
                }
                if a < 5 {
                    missing.push("IoctlDev");
                }
                (
                    Enforcement::Partial,
                    format!("ABI {a}: not enforced: {missing:?}"),
                )
            }
        };
        for n in fs_notes {
            detail.push_str("; ");
            detail.push_str(&n);
        }
        reports.push(MechanismReport::new("landlock-fs", enforcement, detail));
    }
    if let Some(net) = net {
        let (enforcement, detail) = match (abi, &fd) {
            (a, Some(_)) if a >= NET_ABI as u32 => (
                Enforcement::Partial,
                format!(
                    "ABI {a}: TCP bind {:?} connect {:?}; MPTCP/SCTP refused by seccomp (if on); not covered: UDP (needs ABI 10), addresses",
                    net.bind, net.connect
                ),
            ),
            (a, _) => (
                Enforcement::None,
                format!("ABI {a}: network rules need ABI {}", NET_ABI as u32),
            ),
        };
        reports.push(MechanismReport::new("landlock-net", enforcement, detail));
    }
    Ok(Prepared { fd, reports })
}
