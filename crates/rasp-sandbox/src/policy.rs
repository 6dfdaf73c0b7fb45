//! The [`Lockdown`] builder.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{IdentityError, SandboxError};
use crate::landlock_rules::{FsPolicy, NetPolicy};
use crate::rlimits::Rlimits;
use crate::seccomp::{
    Action, BpfProgram, Cmp, Condition, OciContext, Preset, Rule, SeccompPolicy, ViolationMode,
    Width,
};
use crate::violation::{Violation, ViolationHandler};

/// The user lockdown drops to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum User {
    /// A numeric uid and gid.
    Id {
        /// uid.
        uid: u32,
        /// gid.
        gid: u32,
    },
    /// A user name, resolved through NSS when the lockdown is built.
    Name(String),
}

impl User {
    /// `nobody:nogroup` (65534:65534), the default.
    pub const NOBODY: User = User::Id {
        uid: 65534,
        gid: 65534,
    };
}

/// What to do with threads that exist when lockdown runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThreadMode {
    /// Every existing thread applies the per-thread parts to itself, via a
    /// signal broadcast (see the crate docs). Default.
    #[default]
    ConfineAll,
    /// Refuse with [`ThreadError::MultiThreaded`](crate::ThreadError) if the
    /// process has more than one thread (the pre-runtime form).
    RequireSingleThread,
}

#[derive(Clone, Debug)]
enum SeccompSource {
    Preset(Preset),
    Policy(Box<SeccompPolicy>),
    OciFile(PathBuf),
    Off,
}

/// Configures a lockdown. Start from [`Lockdown::builder`].
///
/// # Defaults
/// * resource limits: [`Rlimits::default`] (8192 files, 4096 processes, no core dumps)
/// * user: `nobody` (65534:65534) if running as root, else unchanged
/// * capabilities: all dropped from every set, on every thread
/// * `no_new_privs`: on, every thread
/// * filesystem: [`FsPolicy::read_only_root`] (read-only `/`, rw `/tmp`)
/// * network: [`NetPolicy::seed_egress`] (connect 5432 and 443, bind none)
/// * seccomp: [`Preset::RestrictedV1`], [`ViolationMode::Enforce`], denials
///   logged by the kernel (`SECCOMP_FILTER_FLAG_LOG`); whatever the policy,
///   io_uring is refused and, with network rules on, MPTCP/SCTP sockets
///   (which Landlock's TCP rules do not see)
/// * threads: [`ThreadMode::ConfineAll`], 2 s for each thread to answer
#[derive(Clone)]
pub struct LockdownBuilder {
    rlimits: Rlimits,
    user: Option<User>,
    keep_user: bool,
    keep_root: bool,
    keep_net_bind_service: bool,
    allow_io_uring: bool,
    fs: Option<FsPolicy>,
    net: Option<NetPolicy>,
    seccomp: SeccompSource,
    mode: ViolationMode,
    kernel_log: bool,
    threads: ThreadMode,
    thread_timeout: Duration,
    on_violation: Option<ViolationHandler>,
}

impl std::fmt::Debug for LockdownBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockdownBuilder")
            .field("rlimits", &self.rlimits)
            .field("user", &self.user)
            .field("fs", &self.fs)
            .field("net", &self.net)
            .field("seccomp", &self.seccomp)
            .field("mode", &self.mode)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl Default for LockdownBuilder {
    fn default() -> Self {
        LockdownBuilder {
            rlimits: Rlimits::default(),
            user: None,
            keep_user: false,
            keep_root: false,
            keep_net_bind_service: false,
            allow_io_uring: false,
            fs: Some(FsPolicy::default()),
            net: Some(NetPolicy::default()),
            seccomp: SeccompSource::Preset(Preset::RestrictedV1),
            mode: ViolationMode::Enforce,
            kernel_log: true,
            threads: ThreadMode::ConfineAll,
            thread_timeout: Duration::from_secs(2),
            on_violation: None,
        }
    }
}

impl LockdownBuilder {
    /// Resource limits. Default [`Rlimits::default`].
    pub fn rlimits(mut self, r: Rlimits) -> Self {
        self.rlimits = r;
        self
    }

    /// The user to drop to. Default `nobody` when running as root.
    pub fn run_as(mut self, user: User) -> Self {
        self.user = Some(user);
        self
    }

    /// Keep `CAP_NET_BIND_SERVICE` (PSS allows adding only this one).
    /// Default false.
    pub fn keep_net_bind_service(mut self, keep: bool) -> Self {
        self.keep_net_bind_service = keep;
        self
    }

    /// Filesystem policy. Default [`FsPolicy::read_only_root`].
    pub fn filesystem(mut self, fs: FsPolicy) -> Self {
        self.fs = Some(fs);
        self
    }

    /// TCP port policy. Default [`NetPolicy::seed_egress`].
    pub fn network(mut self, net: NetPolicy) -> Self {
        self.net = Some(net);
        self
    }

    /// Use a seccomp preset. Default [`Preset::RestrictedV1`].
    pub fn seccomp_preset(mut self, p: Preset) -> Self {
        self.seccomp = SeccompSource::Preset(p);
        self
    }

    /// Use a custom seccomp policy.
    pub fn seccomp_policy(mut self, p: SeccompPolicy) -> Self {
        self.seccomp = SeccompSource::Policy(Box::new(p));
        self
    }

    /// Load an OCI/Docker seccomp profile; moby `includes`/`excludes` are
    /// resolved against the capabilities the process holds *after* lockdown.
    pub fn seccomp_oci_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.seccomp = SeccompSource::OciFile(path.into());
        self
    }

    /// How denials are carried out. Default [`ViolationMode::Enforce`].
    pub fn violation_mode(mut self, mode: ViolationMode) -> Self {
        self.mode = mode;
        self
    }

    /// Called on the reporter thread for each violation (trap and
    /// audit-only modes). Default: print the event to stderr.
    pub fn on_violation(mut self, f: impl Fn(&Violation) + Send + Sync + 'static) -> Self {
        self.on_violation = Some(Arc::new(f));
        self
    }

    /// Like [`on_violation`](Self::on_violation), delivering events to a
    /// channel instead (replaces any callback). The reporter thread never
    /// blocks on it: `std::sync::mpsc` is unbounded.
    pub fn violation_channel(self) -> (Self, std::sync::mpsc::Receiver<Violation>) {
        let (tx, rx) = std::sync::mpsc::channel();
        let b = self.on_violation(move |v| {
            // A dropped receiver only means nobody listens any more.
            let _ = tx.send(v.clone());
        });
        (b, rx)
    }

    /// Ask the kernel to log non-allowed seccomp actions to the audit log
    /// (`SECCOMP_FILTER_FLAG_LOG`; free in user space). Default true.
    pub fn kernel_log(mut self, on: bool) -> Self {
        self.kernel_log = on;
        self
    }

    /// Thread handling. Default [`ThreadMode::ConfineAll`].
    pub fn threads(mut self, mode: ThreadMode) -> Self {
        self.threads = mode;
        self
    }

    /// How long each thread has to answer the broadcast. Default 2 s.
    pub fn thread_timeout(mut self, t: Duration) -> Self {
        self.thread_timeout = t;
        self
    }

    /// Options that weaken the sandbox.
    pub fn dangerous(self) -> Dangerous {
        Dangerous(self)
    }

    /// Resolves the user, loads and compiles the seccomp policy. Pure: does
    /// not change the process.
    pub fn build(self) -> Result<Lockdown, SandboxError> {
        let running_as_root = crate::sys::geteuid() == 0;
        let identity = match (&self.user, running_as_root) {
            _ if self.keep_user => None,
            (None, true) => Some(resolve(&User::NOBODY)?),
            (None, false) => None,
            (Some(u), _) => Some(resolve(u)?),
        };
        if identity.is_some_and(|(uid, gid)| uid == u32::MAX || gid == u32::MAX) {
            // -1 means "leave unchanged" to setresuid: it would silently
            // keep root.
            return Err(IdentityError::InvalidId.into());
        }
        if identity.is_some_and(|(uid, _)| uid == 0) && !self.keep_root {
            return Err(IdentityError::Root.into());
        }
        let keep_caps = if self.keep_net_bind_service {
            1u64 << crate::caps::NET_BIND_SERVICE
        } else {
            0
        };
        let (policy, name) = match &self.seccomp {
            SeccompSource::Off => (None, String::new()),
            SeccompSource::Preset(p) => (Some(p.policy()), p.name().to_string()),
            SeccompSource::Policy(p) => (Some((**p).clone()), "custom".to_string()),
            SeccompSource::OciFile(path) => {
                let ctx = OciContext::current().with_capabilities(keep_caps);
                let (p, _) = SeccompPolicy::from_oci_file(path, &ctx)?;
                (Some(p), format!("oci:{}", path.display()))
            }
        };
        let seccomp = match policy {
            None => None,
            Some(mut policy) => {
                if !self.allow_io_uring {
                    // io_uring operations do not pass through seccomp: an
                    // allowed ring is a way around any filter.
                    for n in ["io_uring_setup", "io_uring_enter", "io_uring_register"] {
                        policy.set_action(n, Action::EPERM)?;
                    }
                }
                if self.net.is_some() {
                    close_landlock_tcp_gaps(&mut policy)?;
                }
                if self.mode != ViolationMode::Enforce {
                    // Nobody may replace the SIGSYS handler once violations
                    // depend on it (pledge's "sigaction|NOSIGSYS").
                    policy.prepend_rule(
                        "rt_sigaction",
                        Rule::when(
                            vec![Condition::new(
                                0,
                                Width::Dword,
                                Cmp::Eq,
                                libc::SIGSYS as u64,
                            )?],
                            Action::EPERM,
                        ),
                    )?;
                }
                let program = policy.compile(self.mode)?;
                Some(SeccompPlan {
                    name,
                    policy,
                    program,
                })
            }
        };
        Ok(Lockdown {
            rlimits: self.rlimits,
            identity,
            keep_caps,
            fs: self.fs,
            net: self.net,
            seccomp,
            mode: self.mode,
            kernel_log: self.kernel_log,
            threads: self.threads,
            thread_timeout: self.thread_timeout,
            on_violation: self.on_violation,
        })
    }

    /// `build()?.apply()`.
    pub fn apply(self) -> Result<crate::Posture, SandboxError> {
        self.build()?.apply()
    }
}

/// Landlock's TCP rules do not see MPTCP (protocol 262) or SCTP (132,
/// also what `SOCK_SEQPACKET` over IP means) sockets, so with port rules
/// active those sockets would bypass them (sandbox-facts b, P7). Refuse
/// them in seccomp, before the policy's own `socket` rules.
fn close_landlock_tcp_gaps(policy: &mut SeccompPolicy) -> Result<(), SandboxError> {
    let proto = |p: u64| -> Result<Rule, SandboxError> {
        Ok(Rule::when(
            vec![Condition::new(2, Width::Dword, Cmp::Eq, p)?],
            Action::EPERM,
        ))
    };
    let seqpacket = |domain: u64| -> Result<Rule, SandboxError> {
        Ok(Rule::when(
            vec![
                Condition::new(0, Width::Dword, Cmp::Eq, domain)?,
                Condition::new(
                    1,
                    Width::Dword,
                    Cmp::MaskedEq(0xf),
                    libc::SOCK_SEQPACKET as u64,
                )?,
            ],
            Action::EPERM,
        ))
    };
    for rule in [
        proto(libc::IPPROTO_MPTCP as u64)?,
        proto(libc::IPPROTO_SCTP as u64)?,
        seqpacket(libc::AF_INET as u64)?,
        seqpacket(libc::AF_INET6 as u64)?,
    ] {
        policy.prepend_rule("socket", rule)?;
    }
    Ok(())
}

fn resolve(u: &User) -> Result<(u32, u32), SandboxError> {
    match u {
        User::Id { uid, gid } => Ok((*uid, *gid)),
        User::Name(n) => crate::sys::lookup_user(n)
            .map_err(IdentityError::Lookup)?
            .ok_or_else(|| IdentityError::UnknownUser(n.clone()).into()),
    }
}

/// Options that weaken the sandbox, reached through
/// [`LockdownBuilder::dangerous`].
#[derive(Debug, Clone)]
pub struct Dangerous(LockdownBuilder);

impl Dangerous {
    /// Allow staying (or becoming) uid 0.
    pub fn keep_root(mut self) -> Self {
        self.0.keep_root = true;
        self
    }

    /// Keep the current user (no uid/gid change).
    pub fn keep_user(mut self) -> Self {
        self.0.keep_user = true;
        self.0.keep_root = true;
        self
    }

    /// No seccomp filter.
    pub fn without_seccomp(mut self) -> Self {
        self.0.seccomp = SeccompSource::Off;
        self
    }

    /// No Landlock filesystem rules.
    pub fn without_filesystem_rules(mut self) -> Self {
        self.0.fs = None;
        self
    }

    /// Leave io_uring to the seccomp policy (by default it is refused
    /// whatever the policy says: io_uring operations bypass seccomp).
    pub fn allow_io_uring(mut self) -> Self {
        self.0.allow_io_uring = true;
        self
    }

    /// No Landlock network rules.
    pub fn without_network_rules(mut self) -> Self {
        self.0.net = None;
        self
    }

    /// Back to the normal builder.
    pub fn done(self) -> LockdownBuilder {
        self.0
    }
}

#[derive(Debug, Clone)]
pub(crate) struct SeccompPlan {
    pub(crate) name: String,
    pub(crate) policy: SeccompPolicy,
    pub(crate) program: BpfProgram,
}

/// A built lockdown: every decision made, nothing applied yet.
/// [`apply`](Lockdown::apply) consumes it.
pub struct Lockdown {
    pub(crate) rlimits: Rlimits,
    pub(crate) identity: Option<(u32, u32)>,
    pub(crate) keep_caps: u64,
    pub(crate) fs: Option<FsPolicy>,
    pub(crate) net: Option<NetPolicy>,
    pub(crate) seccomp: Option<SeccompPlan>,
    pub(crate) mode: ViolationMode,
    pub(crate) kernel_log: bool,
    pub(crate) threads: ThreadMode,
    pub(crate) thread_timeout: Duration,
    pub(crate) on_violation: Option<ViolationHandler>,
}

impl std::fmt::Debug for Lockdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lockdown")
            .field("rlimits", &self.rlimits)
            .field("identity", &self.identity)
            .field("keep_caps", &self.keep_caps)
            .field("fs", &self.fs)
            .field("net", &self.net)
            .field(
                "seccomp",
                &self.seccomp.as_ref().map(|s| (&s.name, s.program.len())),
            )
            .field("mode", &self.mode)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl Lockdown {
    /// A builder with the restricted defaults.
    pub fn builder() -> LockdownBuilder {
        LockdownBuilder::default()
    }

    /// The seccomp policy that will be installed, if any.
    pub fn seccomp_policy(&self) -> Option<&SeccompPolicy> {
        self.seccomp.as_ref().map(|s| &s.policy)
    }

    /// The compiled filter, if any.
    pub fn seccomp_program(&self) -> Option<&BpfProgram> {
        self.seccomp.as_ref().map(|s| &s.program)
    }

    /// The `(uid, gid)` lockdown will switch to, if any.
    pub fn identity(&self) -> Option<(u32, u32)> {
        self.identity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socket_action(b: LockdownBuilder, args: [u64; 6]) -> Action {
        let l = b.dangerous().keep_user().done().build().expect("builds");
        l.seccomp_policy().expect("seccomp on").evaluate(41, &args)
    }

    /// The seed's profile allows any socket; with port rules on, lockdown
    /// refuses the protocols Landlock cannot see, and io_uring always.
    #[test]
    fn lockdown_closes_landlock_tcp_gaps_and_io_uring() {
        let mut seedlike = SeccompPolicy::new(Action::EPERM);
        seedlike
            .allow_all(["socket", "io_uring_setup"])
            .expect("known syscalls");
        let mptcp = [2, 1, 262, 0, 0, 0];
        let sctp_seqpacket = [10, 5, 0, 0, 0, 0];
        let tcp = [2, 1, 0, 0, 0, 0];
        assert_eq!(seedlike.evaluate(41, &mptcp), Action::Allow);
        let b = || Lockdown::builder().seccomp_policy(seedlike.clone());
        assert_eq!(socket_action(b(), mptcp), Action::EPERM);
        assert_eq!(socket_action(b(), sctp_seqpacket), Action::EPERM);
        assert_eq!(socket_action(b(), [2, 1, 132, 0, 0, 0]), Action::EPERM);
        assert_eq!(socket_action(b(), tcp), Action::Allow);
        let no_net = b().dangerous().without_network_rules().done();
        assert_eq!(socket_action(no_net, mptcp), Action::Allow);
        let l = b().dangerous().keep_user().done().build().expect("builds");
        let p = l.seccomp_policy().expect("seccomp on");
        assert_eq!(p.action_for("io_uring_setup"), Some(Action::EPERM));
        let l = b()
            .dangerous()
            .keep_user()
            .allow_io_uring()
            .done()
            .build()
            .expect("builds");
        let p = l.seccomp_policy().expect("seccomp on");
        assert_eq!(p.action_for("io_uring_setup"), Some(Action::Allow));
    }

    #[test]
    fn invalid_identity_is_refused_at_build() {
        let e = Lockdown::builder()
            .run_as(User::Id {
                uid: u32::MAX,
                gid: 10,
            })
            .build()
            .expect_err("uid -1");
        assert!(matches!(
            e,
            SandboxError::Identity(IdentityError::InvalidId)
        ));
        let e = Lockdown::builder()
            .run_as(User::Id { uid: 0, gid: 0 })
            .build()
            .expect_err("root");
        assert!(matches!(e, SandboxError::Identity(IdentityError::Root)));
        let e = Lockdown::builder()
            .run_as(User::Name("no-such-user-rasp".into()))
            .build()
            .expect_err("unknown user");
        assert!(matches!(
            e,
            SandboxError::Identity(IdentityError::UnknownUser(_))
        ));
    }
}
