//! Versioned seccomp presets.
//!
//! A preset never changes once released: a new list is a new variant, so
//! upgrading rasp never silently widens or narrows a policy.

use super::policy::{Action, Cmp, Condition, Rule, SeccompPolicy, Width};
use super::table;
use crate::error::SeccompError;

/// A named, versioned seccomp policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum Preset {
    /// The seed's `restricted.json` allowlist made to work for a real
    /// tokio/hyper service (see [`restricted_v1`]). The default.
    RestrictedV1,
    /// Docker's default profile semantics (moby `default.json`, for a
    /// container without added capabilities) on x86_64 (see
    /// [`runtime_default_v1`]).
    RuntimeDefaultV1,
}

impl Preset {
    /// Builds the policy.
    pub fn policy(self) -> SeccompPolicy {
        match self {
            Preset::RestrictedV1 => restricted_v1(),
            Preset::RuntimeDefaultV1 => runtime_default_v1(),
        }
    }

    /// The preset's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Preset::RestrictedV1 => "restricted-v1",
            Preset::RuntimeDefaultV1 => "runtime-default-v1",
        }
    }
}

/// The seed's allowlist (`restricted.json` in the seed document), minus
/// `execve` and `fork`: a service has no business starting programs, and
/// the escape matrix requires exec to be denied. Spelled out here rather
/// than loaded so the preset cannot drift with a file.
const SEED: &[&str] = &[
    "read",
    "write",
    "open",
    "close",
    "stat",
    "fstat",
    "lstat",
    "poll",
    "lseek",
    "mmap",
    "mprotect",
    "munmap",
    "brk",
    "rt_sigaction",
    "rt_sigprocmask",
    "access",
    "pipe",
    "select",
    "sched_yield",
    "mremap",
    "msync",
    "mincore",
    "madvise",
    "dup",
    "dup2",
    "nanosleep",
    "getpid",
    "connect",
    "accept",
    "sendto",
    "recvfrom",
    "bind",
    "listen",
    "getsockname",
    "getpeername",
    "setsockopt",
    "getsockopt",
    "exit",
    "wait4",
    "kill",
    "uname",
    "fcntl",
    "flock",
    "fsync",
    "fdatasync",
    "getcwd",
    "chdir",
    "fchdir",
    "readlink",
    "chmod",
    "fchmod",
    "chown",
    "fchown",
    "umask",
    "gettimeofday",
    "getrlimit",
    "getuid",
    "getgid",
    "setuid",
    "setgid",
    "geteuid",
    "getegid",
    "getgroups",
    "setgroups",
    "setpgid",
    "getppid",
    "setsid",
    "getpgid",
    "getsid",
    "capget",
    "capset",
    "rt_sigsuspend",
    "sigaltstack",
    "utime",
    "statfs",
    "fstatfs",
    "arch_prctl",
    "futex",
    "set_tid_address",
    "exit_group",
    "epoll_create",
    "epoll_ctl",
    "epoll_wait",
    "set_robust_list",
    "get_robust_list",
    "epoll_create1",
    "eventfd2",
    "timerfd_create",
    "timerfd_settime",
    "timerfd_gettime",
    "accept4",
    "signalfd4",
    "eventfd",
    "pipe2",
    "inotify_init1",
    "pread64",
    "pwrite64",
    "readv",
    "writev",
    "preadv",
    "pwritev",
    "getrandom",
    "memfd_create",
];

/// What a tokio/hyper service on glibc needs beyond the seed list, each
/// found by running one in audit-only mode (the "learn" workflow).
const SERVICE_EXTRA: &[&str] = &[
    // Signal and restart plumbing (sandbox-facts P3).
    "restart_syscall",
    "rt_sigreturn",
    "rt_sigtimedwait",
    // Threads: glibc 2.35+ registers rseq per thread; tokio names threads.
    "gettid",
    "tgkill",
    "rseq",
    "sched_getaffinity",
    "getresuid",
    "getresgid",
    // Time and polling used by tokio/mio and std.
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "epoll_pwait",
    "epoll_pwait2",
    "ppoll",
    "pselect6",
    // Files: std and tokio::fs use the *at/statx forms.
    "openat",
    "newfstatat",
    "statx",
    "getdents64",
    "mkdir",
    "mkdirat",
    "rmdir",
    "unlink",
    "unlinkat",
    "rename",
    "renameat",
    "renameat2",
    "ftruncate",
    "readlinkat",
    "faccessat",
    "faccessat2",
    "fchmodat",
    "fchownat",
    "utimensat",
    "dup3",
    "copy_file_range",
    "sendfile",
    "close_range",
    "fallocate",
    "preadv2",
    "pwritev2",
    // Sockets beyond the seed's.
    "sendmsg",
    "recvmsg",
    "sendmmsg",
    "recvmmsg",
    "shutdown",
    "socketpair",
    "waitid",
];

/// Syscalls that have a fallback in glibc/std when missing: ENOSYS makes
/// the caller fall back, EPERM makes it fail (clone3 → glibc aborts thread
/// creation, sandbox-facts a3).
const ENOSYS_FALLBACK: &[&str] = &[
    "clone3",
    "openat2",
    "pidfd_open",
    "futex_waitv",
    "futex_wake",
    "futex_wait",
    "futex_requeue",
    "cachestat",
    "mseal",
    "map_shadow_stack",
    "fchmodat2",
];

/// ioctl requests a service needs: non-blocking and close-on-exec flags,
/// `isatty` and terminal size. Everything else (TIOCSTI injection, device
/// ioctls) is refused.
const IOCTL_ALLOWED: &[u64] = &[
    0x5421, // FIONBIO
    0x541b, // FIONREAD
    0x5451, // FIOCLEX
    0x5450, // FIONCLEX
    0x5401, // TCGETS
    0x5413, // TIOCGWINSZ
];

/// prctl options that only read state or name the thread.
const PRCTL_ALLOWED: &[u64] = &[
    3,           // PR_GET_DUMPABLE
    7,           // PR_GET_KEEPCAPS
    15,          // PR_SET_NAME
    16,          // PR_GET_NAME
    21,          // PR_GET_SECCOMP
    23,          // PR_CAPBSET_READ
    27,          // PR_GET_SECUREBITS
    38,          // PR_SET_NO_NEW_PRIVS (can only tighten)
    39,          // PR_GET_NO_NEW_PRIVS
    47,          // PR_CAP_AMBIENT (raising needs the capability, which is gone)
    0x5356_4d41, // PR_SET_VMA (glibc names its mappings; harmless)
];

fn cond(arg: u8, width: Width, op: Cmp, value: u64) -> Condition {
    // Only called with literal indices 0..=5.
    Condition {
        arg: arg.min(5),
        width,
        op,
        value,
    }
}

/// `clone` without namespace flags (CLONE_NEWNS, NEWUTS, NEWIPC, NEWUSER,
/// NEWPID, NEWNET, NEWCGROUP): Docker's rule.
pub(crate) fn clone_no_namespaces() -> Rule {
    Rule::when(
        vec![cond(0, Width::Qword, Cmp::MaskedEq(0x7e02_0000), 0)],
        Action::Allow,
    )
}

fn socket_rules() -> Vec<Rule> {
    // Families AF_UNIX (any type, protocol 0), AF_INET/AF_INET6 with
    // stream/datagram and protocol 0, TCP or UDP only. This closes the MPTCP
    // (262) and SCTP Landlock bypass (sandbox-facts b2, P7) and raw sockets.
    const SOCK_TYPE_MASK: u64 = 0xf;
    let mut rules = vec![Rule::when(
        vec![
            cond(0, Width::Dword, Cmp::Eq, libc::AF_UNIX as u64),
            cond(2, Width::Dword, Cmp::Eq, 0),
        ],
        Action::Allow,
    )];
    for family in [libc::AF_INET as u64, libc::AF_INET6 as u64] {
        for (ty, protos) in [
            (libc::SOCK_STREAM as u64, [0u64, libc::IPPROTO_TCP as u64]),
            (libc::SOCK_DGRAM as u64, [0u64, libc::IPPROTO_UDP as u64]),
        ] {
            for proto in protos {
                rules.push(Rule::when(
                    vec![
                        cond(0, Width::Dword, Cmp::Eq, family),
                        cond(1, Width::Dword, Cmp::MaskedEq(SOCK_TYPE_MASK), ty),
                        cond(2, Width::Dword, Cmp::Eq, proto),
                    ],
                    Action::Allow,
                ));
            }
        }
    }
    rules
}

fn one_of(arg: u8, values: &[u64]) -> Vec<Rule> {
    values
        .iter()
        .map(|v| Rule::when(vec![cond(arg, Width::Dword, Cmp::Eq, *v)], Action::Allow))
        .collect()
}

fn must(r: Result<&mut SeccompPolicy, SeccompError>) {
    // Preset names are checked by the `presets_name_known_syscalls` test;
    // an unknown one would only drop that syscall from the preset.
    debug_assert!(r.is_ok(), "{r:?}");
}

/// The `restricted` preset, version 1.
///
/// * Default: EPERM; syscalls newer than the table: ENOSYS.
/// * The seed's allowlist without `execve`/`fork`, plus what tokio, hyper,
///   std and glibc need (`openat`, `statx`, `epoll_pwait`, `rseq`, `gettid`, …).
/// * `clone` only without namespace flags; `clone3` and other syscalls
///   with fallbacks: ENOSYS.
/// * `socket` only for AF_UNIX and TCP/UDP over IPv4/IPv6 (no raw, packet,
///   netlink, vsock, MPTCP or SCTP sockets).
/// * `ioctl` and `prctl` limited to harmless requests; `prlimit64` only to
///   read limits (new-limit pointer NULL).
/// * Everything the escape matrix lists (ptrace, mount, unshare, bpf,
///   keyctl, io_uring, kexec, reboot, module loading, seccomp itself) is
///   not in the list, hence EPERM.
pub fn restricted_v1() -> SeccompPolicy {
    let mut p = SeccompPolicy::new(Action::EPERM);
    for name in SEED.iter().chain(SERVICE_EXTRA) {
        must(p.allow(name));
    }
    for name in ENOSYS_FALLBACK {
        must(p.set_action(name, Action::ENOSYS));
    }
    must(p.set("clone", vec![clone_no_namespaces()]));
    must(p.set("socket", socket_rules()));
    must(p.set("ioctl", one_of(1, IOCTL_ALLOWED)));
    must(p.set("prctl", one_of(0, PRCTL_ALLOWED)));
    must(p.set(
        "prlimit64",
        vec![Rule::when(
            vec![cond(2, Width::Qword, Cmp::Eq, 0)],
            Action::Allow,
        )],
    ));
    p
}

/// Syscalls Docker's default profile does not allow on x86_64 for a
/// container without added capabilities (moby `default.json`, entries
/// gated by capabilities resolved against none). Everything else in the
/// table is allowed.
const DOCKER_DENIED: &[&str] = &[
    "syslog",
    "uselib",
    "ustat",
    "sysfs",
    "vhangup",
    "pivot_root",
    "_sysctl",
    "chroot",
    "acct",
    "settimeofday",
    "mount",
    "umount2",
    "swapon",
    "swapoff",
    "reboot",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "create_module",
    "init_module",
    "delete_module",
    "get_kernel_syms",
    "query_module",
    "quotactl",
    "nfsservctl",
    "getpmsg",
    "putpmsg",
    "afs_syscall",
    "tuxcall",
    "security",
    "lookup_dcookie",
    "clock_settime",
    "vserver",
    "mbind",
    "set_mempolicy",
    "get_mempolicy",
    "kexec_load",
    "add_key",
    "request_key",
    "keyctl",
    "migrate_pages",
    "unshare",
    "move_pages",
    "perf_event_open",
    "fanotify_init",
    "open_by_handle_at",
    "setns",
    "kcmp",
    "finit_module",
    "kexec_file_load",
    "bpf",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "pidfd_getfd",
    "process_madvise",
    "mount_setattr",
    "quotactl_fd",
    "set_mempolicy_home_node",
    "lsm_get_self_attr",
    "lsm_set_self_attr",
    "lsm_list_modules",
    "open_tree_attr",
    "file_getattr",
    "file_setattr",
];

/// The `runtime_default` preset, version 1: what Kubernetes'
/// `RuntimeDefault` gives a container under Docker/containerd without added
/// capabilities, on x86_64.
///
/// * Default: EPERM (Docker's `defaultErrnoRet: 1`); syscalls newer than
///   the table: ENOSYS (a deliberate difference: Docker gives EPERM, which
///   breaks fallbacks, moby#42680).
/// * `clone3`: ENOSYS; `clone` without namespace flags.
/// * `socket`: any family except AF_ALG (38) and AF_VSOCK (40), compared on
///   32 bits; `personality`: only the five values Docker allows.
/// * `ptrace`, `process_vm_readv/writev`: allowed (Docker, kernel ≥ 4.8).
pub fn runtime_default_v1() -> SeccompPolicy {
    let mut p = SeccompPolicy::new(Action::EPERM);
    for (name, _) in table::SYSCALLS {
        if !DOCKER_DENIED.contains(name) {
            must(p.allow(name));
        }
    }
    must(p.set_action("clone3", Action::ENOSYS));
    must(p.set("clone", vec![clone_no_namespaces()]));
    must(p.set(
        "socket",
        vec![
            Rule::when(vec![cond(0, Width::Dword, Cmp::Lt, 38)], Action::Allow),
            Rule::when(vec![cond(0, Width::Dword, Cmp::Eq, 39)], Action::Allow),
            Rule::when(vec![cond(0, Width::Dword, Cmp::Gt, 40)], Action::Allow),
        ],
    ));
    must(p.set(
        "personality",
        one_of(0, &[0, 8, 0x20000, 0x20008, 0xffff_ffff]),
    ));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_known_syscalls() {
        for list in [SEED, SERVICE_EXTRA, ENOSYS_FALLBACK, DOCKER_DENIED] {
            for n in list {
                assert!(table::number(n).is_some(), "unknown syscall {n}");
            }
        }
    }

    #[test]
    fn restricted_denies_the_escape_matrix() {
        let p = restricted_v1();
        for n in [
            "execve",
            "execveat",
            "fork",
            "vfork",
            "ptrace",
            "mount",
            "umount2",
            "unshare",
            "setns",
            "bpf",
            "keyctl",
            "add_key",
            "io_uring_setup",
            "kexec_load",
            "kexec_file_load",
            "reboot",
            "init_module",
            "finit_module",
            "seccomp",
            "chroot",
            "pivot_root",
            "process_vm_writev",
            "perf_event_open",
            "userfaultfd",
        ] {
            assert_eq!(p.action_for(n), Some(Action::EPERM), "{n}");
        }
        assert_eq!(p.action_for("clone3"), Some(Action::ENOSYS));
        // socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) ok; MPTCP and raw not.
        let sock = |d: u64, t: u64, pr: u64| p.evaluate(41, &[d, t, pr, 0, 0, 0]);
        assert_eq!(sock(2, 1 | 0o2000000, 0), Action::Allow);
        assert_eq!(sock(10, 2, 17), Action::Allow);
        assert_eq!(sock(2, 1, 262), Action::EPERM);
        assert_eq!(sock(2, 3, 1), Action::EPERM);
        assert_eq!(sock(17, 3, 0), Action::EPERM);
        assert_eq!(
            sock(2 | (1 << 32), 1, 0),
            Action::Allow,
            "int args: high half ignored"
        );
        // clone with CLONE_NEWUSER refused, thread flags fine.
        assert_eq!(p.evaluate(56, &[0x10000000, 0, 0, 0, 0, 0]), Action::EPERM);
        assert_eq!(p.evaluate(56, &[0x3d0f00, 0, 0, 0, 0, 0]), Action::Allow);
        // prlimit64 may read but not set.
        assert_eq!(p.evaluate(302, &[0, 7, 0, 0x1000, 0, 0]), Action::Allow);
        assert_eq!(p.evaluate(302, &[0, 7, 0x1000, 0, 0, 0]), Action::EPERM);
    }

    #[test]
    fn runtime_default_blocks_vsock_on_32_bits() {
        let p = runtime_default_v1();
        assert_eq!(p.evaluate(41, &[40, 1, 0, 0, 0, 0]), Action::EPERM);
        assert_eq!(
            p.evaluate(41, &[40 | (1 << 32), 1, 0, 0, 0, 0]),
            Action::EPERM
        );
        assert_eq!(p.evaluate(41, &[2, 1, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(p.action_for("execve"), Some(Action::Allow));
        assert_eq!(p.action_for("unshare"), Some(Action::EPERM));
    }
}
