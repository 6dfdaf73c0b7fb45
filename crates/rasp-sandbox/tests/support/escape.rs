//! The escape matrix: each attempt reports whether it got through.
//!
//! Every attempt is harmless when it succeeds unconfined (the baseline
//! scenario runs them as root to prove they can fail): files are opened
//! without writing, modes and owners are "changed" to their current values,
//! privileged syscalls get arguments the kernel rejects *after* its
//! permission check (bad magic, bad flags, unknown fs type), so a permitted
//! call returns EINVAL/ENODEV/ESRCH instead of acting. Only EPERM and EACCES
//! count as "denied"; every other result counts as "got through".

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

/// Result of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Denied(i32),
    Escaped(String),
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn judge(ret: i64, what: &str) -> Attempt {
    if ret >= 0 {
        return Attempt::Escaped(format!("{what} returned {ret}"));
    }
    let e = errno();
    if e == libc::EPERM || e == libc::EACCES {
        Attempt::Denied(e)
    } else {
        Attempt::Escaped(format!(
            "{what} failed with {} (not a denial)",
            std::io::Error::from_raw_os_error(e)
        ))
    }
}

fn cstr(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

fn open_path(path: &str, flags: i32) -> Attempt {
    let p = cstr(path);
    // SAFETY: valid C string; the fd is closed right away.
    let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_CLOEXEC, 0o600) };
    let r = judge(i64::from(fd), path);
    if fd >= 0 {
        // SAFETY: closing the fd we just got.
        unsafe { libc::close(fd) };
        if flags & libc::O_CREAT != 0 {
            // SAFETY: removing the file we created.
            unsafe { libc::unlink(p.as_ptr()) };
        }
    }
    r
}

fn stat_of(path: &str) -> Option<libc::stat> {
    let p = cstr(path);
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid path and out-pointer.
    (unsafe { libc::stat(p.as_ptr(), &mut st) } == 0).then_some(st)
}

fn socket(domain: i32, ty: i32, proto: i32) -> Attempt {
    // SAFETY: plain syscall; fd closed.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, proto) };
    let r = judge(i64::from(fd), &format!("socket({domain},{ty},{proto})"));
    if fd >= 0 {
        // SAFETY: our fd.
        unsafe { libc::close(fd) };
    }
    r
}

fn sockaddr(port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    }
}

fn tcp(port: u16, bind: bool) -> Attempt {
    // SAFETY: plain syscall.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return judge(-1, "socket");
    }
    let one: libc::c_int = 1;
    // SAFETY: valid fd and option pointer.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            4,
        )
    };
    let a = sockaddr(port);
    let p = &a as *const libc::sockaddr_in as *const libc::sockaddr;
    let len = std::mem::size_of::<libc::sockaddr_in>() as u32;
    // SAFETY: valid fd and address.
    let r = unsafe {
        if bind {
            libc::bind(fd, p, len)
        } else {
            libc::connect(fd, p, len)
        }
    };
    let out = judge(i64::from(r), if bind { "bind" } else { "connect" });
    // SAFETY: our fd.
    unsafe { libc::close(fd) };
    out
}

static PASSWD: std::sync::OnceLock<Option<(libc::mode_t, libc::uid_t, libc::gid_t)>> =
    std::sync::OnceLock::new();
static START_CAPS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn own_caps() -> u64 {
    let s = std::fs::read_to_string("/proc/thread-self/status").unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("CapPrm:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0)
}

/// Records the current mode and owner of /etc/passwd (call before lockdown:
/// some policies cannot stat afterwards), so chmod/chown can "change" them
/// to the same values.
pub fn prepare() -> Option<(libc::mode_t, libc::uid_t, libc::gid_t)> {
    START_CAPS.get_or_init(own_caps);
    *PASSWD.get_or_init(|| {
        stat_of("/etc/passwd").map(|st| (st.st_mode & 0o7777, st.st_uid, st.st_gid))
    })
}

/// A file name no other process or thread uses (O_EXCL on a shared name
/// would answer EEXIST before any permission check).
fn unique(dir: &str) -> String {
    // SAFETY: no arguments.
    let tid = unsafe { libc::gettid() };
    format!("{dir}/rasp-sandbox-escape-{}-{tid}", std::process::id())
}

/// Runs every attempt in the calling thread. `blocked_port` is a port with
/// a listener that the policy does not allow connecting to.
pub fn matrix(blocked_port: u16, include_exec: bool) -> Vec<(&'static str, Attempt)> {
    let mut v = Vec::new();
    if include_exec {
        // If this got through the process would become /bin/sh and exit 97,
        // which the parent test reports.
        let sh = cstr("/bin/sh");
        let args = [
            sh.as_ptr(),
            cstr("-c").into_raw(),
            cstr("exit 97").into_raw(),
            std::ptr::null(),
        ];
        let env: [*const libc::c_char; 1] = [std::ptr::null()];
        // SAFETY: NULL-terminated argv/envp of valid C strings (leaked on
        // purpose: execve either replaces the process or fails).
        let r = unsafe { libc::execve(sh.as_ptr(), args.as_ptr(), env.as_ptr()) };
        v.push(("exec /bin/sh", judge(i64::from(r), "execve")));
    }
    v.push((
        "create file under /usr",
        open_path(
            &unique("/usr"),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY,
        ),
    ));
    v.push((
        "create file under /etc",
        open_path(
            &unique("/etc"),
            libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY,
        ),
    ));
    v.push((
        "open /etc/passwd for writing",
        open_path("/etc/passwd", libc::O_WRONLY | libc::O_APPEND),
    ));
    let passwd = cstr("/etc/passwd");
    let prepared = PASSWD
        .get()
        .expect("call escape::prepare() before lockdown");
    match *prepared {
        Some((mode, uid, gid)) => {
            // SAFETY: valid path; mode and owner are set to their current values.
            let r = unsafe { libc::chmod(passwd.as_ptr(), mode) };
            v.push(("chmod /etc/passwd", judge(i64::from(r), "chmod")));
            // SAFETY: as above.
            let r = unsafe { libc::chown(passwd.as_ptr(), uid, gid) };
            v.push(("chown /etc/passwd", judge(i64::from(r), "chown")));
        }
        None => v.push(("stat /etc/passwd", Attempt::Escaped("cannot stat".into()))),
    }
    // SAFETY: raw per-thread setuid(0); as root it changes nothing.
    v.push((
        "setuid(0)",
        judge(unsafe { libc::syscall(libc::SYS_setuid, 0) }, "setuid"),
    ));
    v.push((
        "setgid(0)",
        judge(unsafe { libc::syscall(libc::SYS_setgid, 0) }, "setgid"),
    ));
    v.push(("regain capabilities (capset all)", capset_all()));
    v.push(("bind 127.0.0.1:80", tcp(80, true)));
    v.push(("connect to a non-allowed port", tcp(blocked_port, false)));
    v.push((
        "MPTCP socket",
        socket(libc::AF_INET, libc::SOCK_STREAM, 262),
    ));
    v.push((
        "raw IP socket",
        socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_ICMP),
    ));
    v.push(("packet socket", socket(libc::AF_PACKET, libc::SOCK_RAW, 0)));
    // PEEKUSER on a process we do not trace: ESRCH when ptrace is permitted.
    // SAFETY: reads nothing from us; the kernel checks and fails.
    v.push((
        "ptrace",
        judge(
            unsafe { libc::ptrace(libc::PTRACE_PEEKUSER, libc::getppid(), 0, 0) },
            "ptrace",
        ),
    ));
    let src = cstr("none");
    let dst = cstr("/tmp");
    let fstype = cstr("rasp-no-such-fs");
    // SAFETY: unknown fs type: ENODEV after the permission check.
    v.push((
        "mount",
        judge(
            i64::from(unsafe {
                libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    fstype.as_ptr(),
                    0,
                    std::ptr::null(),
                )
            }),
            "mount",
        ),
    ));
    // SAFETY: in a multi-threaded process a permitted CLONE_NEWUSER fails EINVAL.
    v.push((
        "unshare(CLONE_NEWUSER)",
        judge(
            i64::from(unsafe { libc::unshare(libc::CLONE_NEWUSER) }),
            "unshare",
        ),
    ));
    // SAFETY: NULL attr with size 0: EINVAL/EFAULT when permitted.
    v.push((
        "bpf",
        judge(unsafe { libc::syscall(libc::SYS_bpf, 5, 0, 0) }, "bpf"),
    ));
    // KEYCTL_GET_KEYRING_ID(KEY_SPEC_THREAD_KEYRING, create=0).
    // SAFETY: integer arguments only.
    v.push((
        "keyctl",
        judge(
            unsafe { libc::syscall(libc::SYS_keyctl, 0, -1, 0) },
            "keyctl",
        ),
    ));
    v.push(("io_uring_setup", io_uring()));
    // SAFETY: bad flags: EINVAL after the CAP_SYS_BOOT check.
    v.push((
        "kexec_load",
        judge(
            unsafe { libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0xdead_0000u64) },
            "kexec_load",
        ),
    ));
    // SAFETY: bad magic: EINVAL after the CAP_SYS_BOOT check.
    v.push((
        "reboot",
        judge(
            unsafe { libc::syscall(libc::SYS_reboot, 0x1234, 0x5678, 0, 0) },
            "reboot",
        ),
    ));
    // SAFETY: bad fd: EBADF after the CAP_SYS_MODULE check.
    v.push((
        "finit_module",
        judge(
            unsafe { libc::syscall(libc::SYS_finit_module, -1, c"".as_ptr(), 0) },
            "finit_module",
        ),
    ));
    // SAFETY: NULL image of length 0: after the capability check.
    v.push((
        "init_module",
        judge(
            unsafe { libc::syscall(libc::SYS_init_module, 0, 0, c"".as_ptr()) },
            "init_module",
        ),
    ));
    v
}

/// capset back to the capabilities the process started with (recorded by
/// [`prepare`]): a no-op unconfined, a raise after lockdown.
fn capset_all() -> Attempt {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let caps = *START_CAPS
        .get()
        .expect("call escape::prepare() before lockdown");
    let h = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let d = [
        Data {
            effective: caps as u32,
            permitted: caps as u32,
            inheritable: 0,
        },
        Data {
            effective: (caps >> 32) as u32,
            permitted: (caps >> 32) as u32,
            inheritable: 0,
        },
    ];
    // SAFETY: valid header and two data structs.
    judge(
        unsafe { libc::syscall(libc::SYS_capset, &h as *const Header, d.as_ptr()) },
        "capset",
    )
}

fn io_uring() -> Attempt {
    let mut params = [0u8; 120];
    // SAFETY: params is a zeroed io_uring_params-sized buffer.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1, params.as_mut_ptr()) };
    let r = judge(fd, "io_uring_setup");
    if fd >= 0 {
        // SAFETY: our fd.
        unsafe { libc::close(fd as i32) };
    }
    r
}

/// Asserts every attempt was denied; returns a description of failures.
pub fn failures(label: &str, results: &[(&'static str, Attempt)]) -> Vec<String> {
    results
        .iter()
        .filter_map(|(name, a)| match a {
            Attempt::Denied(_) => None,
            Attempt::Escaped(d) => Some(format!("[{label}] {name}: {d}")),
        })
        .collect()
}

/// Path helper for test files.
pub fn tmp_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new("/tmp").join(format!("rasp-sandbox-{}-{}", std::process::id(), name))
}

/// Bytes of a path (for logging).
pub fn show(p: &std::path::Path) -> String {
    String::from_utf8_lossy(p.as_os_str().as_bytes()).into_owned()
}
