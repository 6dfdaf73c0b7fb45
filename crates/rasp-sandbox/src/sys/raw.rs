//! Raw system calls that never touch `errno`.
//!
//! Why not `libc::syscall`: most of these run inside signal handlers (the
//! per-thread broadcast and the SIGSYS trap), where clobbering the interrupted
//! code's `errno` would be a bug. The `syscall` instruction returns `-errno`
//! in `rax`; nothing else is touched.

use std::io;

/// x86_64 syscall numbers used by this crate (from `asm/unistd_64.h`).
pub(crate) mod nr {
    pub(crate) const WRITE: i64 = 1;
    pub(crate) const GETPID: i64 = 39;
    pub(crate) const SETRESUID: i64 = 117;
    pub(crate) const SETRESGID: i64 = 119;
    pub(crate) const SETGROUPS: i64 = 116;
    pub(crate) const CAPSET: i64 = 126;
    pub(crate) const PRCTL: i64 = 157;
    pub(crate) const GETTID: i64 = 186;
    pub(crate) const TGKILL: i64 = 234;
    pub(crate) const SECCOMP: i64 = 317;
    pub(crate) const LANDLOCK_CREATE_RULESET: i64 = 444;
    pub(crate) const LANDLOCK_RESTRICT_SELF: i64 = 446;
}

/// Issues a system call with up to six arguments and returns the raw kernel
/// result (`-errno` on failure).
///
/// # Safety
/// The caller must make sure the syscall and its pointer arguments are valid:
/// the kernel may read or write any memory the arguments point to.
#[inline(always)]
pub(crate) unsafe fn syscall6(nr: i64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the x86_64 Linux syscall ABI: number in rax, arguments in
    // rdi/rsi/rdx/r10/r8/r9, rcx and r11 are clobbered. Memory effects are the
    // caller's responsibility (documented above).
    unsafe {
        core::arch::asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
            in("r10") a[3], in("r8") a[4], in("r9") a[5],
            lateout("rcx") _, lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// Turns a raw kernel return value into `Ok(value)` or `Err(errno)`.
#[inline(always)]
pub(crate) fn check(ret: i64) -> Result<i64, i32> {
    if (-4095..0).contains(&ret) {
        Err((-ret) as i32)
    } else {
        Ok(ret)
    }
}

/// Wraps a raw errno into an `io::Error`.
pub(crate) fn os_error(errno: i32) -> io::Error {
    io::Error::from_raw_os_error(errno)
}

/// A syscall whose arguments are plain integers (no pointers).
#[inline(always)]
fn int_syscall(nr: i64, a: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: every caller in this module passes integer arguments only, so
    // the kernel dereferences no user memory.
    check(unsafe { syscall6(nr, a) })
}

/// `prctl(option, a2, a3, a4, a5)` with integer arguments only.
#[inline(always)]
pub(crate) fn prctl(option: i32, a2: u64, a3: u64, a4: u64, a5: u64) -> Result<i64, i32> {
    int_syscall(nr::PRCTL, [option as u64, a2, a3, a4, a5, 0])
}

/// Thread id of the calling thread.
#[inline(always)]
pub(crate) fn gettid() -> i32 {
    int_syscall(nr::GETTID, [0; 6]).unwrap_or(0) as i32
}

/// Process id.
#[inline(always)]
pub(crate) fn getpid() -> i32 {
    int_syscall(nr::GETPID, [0; 6]).unwrap_or(0) as i32
}

/// Sends `sig` to thread `tid` of this process.
pub(crate) fn tgkill(tid: i32, sig: i32) -> Result<(), i32> {
    int_syscall(
        nr::TGKILL,
        [getpid() as u64, tid as u64, sig as u64, 0, 0, 0],
    )
    .map(drop)
}

/// Per-thread `setresuid` (the raw syscall, not glibc's process-wide broadcast).
#[inline(always)]
pub(crate) fn setresuid(uid: u32) -> Result<(), i32> {
    int_syscall(nr::SETRESUID, [uid as u64, uid as u64, uid as u64, 0, 0, 0]).map(drop)
}

/// Per-thread `setresgid`.
#[inline(always)]
pub(crate) fn setresgid(gid: u32) -> Result<(), i32> {
    int_syscall(nr::SETRESGID, [gid as u64, gid as u64, gid as u64, 0, 0, 0]).map(drop)
}

/// Per-thread `setgroups(0, NULL)`: drops every supplementary group.
#[inline(always)]
pub(crate) fn clear_groups() -> Result<(), i32> {
    // size 0 with a NULL list is the documented way to clear the list.
    int_syscall(nr::SETGROUPS, [0; 6]).map(drop)
}

/// `landlock_restrict_self(fd, 0)` for the calling thread.
#[inline(always)]
pub(crate) fn landlock_restrict_self(fd: i32) -> Result<(), i32> {
    int_syscall(nr::LANDLOCK_RESTRICT_SELF, [fd as u64, 0, 0, 0, 0, 0]).map(drop)
}

static LANDLOCK_ABI: std::sync::OnceLock<u32> = std::sync::OnceLock::new();

/// The Landlock ABI version of the running kernel, 0 if Landlock is absent.
/// Cached: after lockdown the query itself is filtered.
pub(crate) fn landlock_abi() -> u32 {
    *LANDLOCK_ABI.get_or_init(query_landlock_abi)
}

fn query_landlock_abi() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: u64 = 1;
    // NULL attr, size 0 and the VERSION flag: the kernel reads no memory.
    match int_syscall(
        nr::LANDLOCK_CREATE_RULESET,
        [0, 0, LANDLOCK_CREATE_RULESET_VERSION, 0, 0, 0],
    ) {
        Ok(v) if v > 0 => v as u32,
        _ => 0,
    }
}

/// Sets the effective, permitted and inheritable capability sets of the
/// calling thread: effective = permitted = `keep`, inheritable = 0.
#[inline(always)]
pub(crate) fn capset_keep(keep: u64) -> Result<(), i32> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let header = Header {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let lo = keep as u32;
    let hi = (keep >> 32) as u32;
    let data = [
        Data {
            effective: lo,
            permitted: lo,
            inheritable: 0,
        },
        Data {
            effective: hi,
            permitted: hi,
            inheritable: 0,
        },
    ];
    // SAFETY: header and data are live, correctly laid out (capability v3
    // takes two data structs) and only read by the kernel.
    check(unsafe {
        syscall6(
            nr::CAPSET,
            [
                &header as *const Header as u64,
                data.as_ptr() as u64,
                0,
                0,
                0,
                0,
            ],
        )
    })
    .map(drop)
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`. Returns the raw result:
/// with TSYNC a positive value is the id of the thread that could not be
/// synchronised.
pub(crate) fn seccomp_set_filter(flags: u32, filter: &[libc::sock_filter]) -> Result<i64, i32> {
    const SECCOMP_SET_MODE_FILTER: u64 = 1;
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at `filter`, which outlives the call; the kernel
    // copies the program and does not keep the pointer.
    check(unsafe {
        syscall6(
            nr::SECCOMP,
            [
                SECCOMP_SET_MODE_FILTER,
                flags as u64,
                &prog as *const libc::sock_fprog as u64,
                0,
                0,
                0,
            ],
        )
    })
}

/// `write(fd, &value, 8)`: wakes an eventfd. Used from the SIGSYS handler.
#[inline(always)]
pub(crate) fn eventfd_signal(fd: i32) {
    let one: u64 = 1;
    // SAFETY: `one` is a live u64 that the kernel only reads. A failure (the
    // counter saturated) loses nothing: the reader drains the whole ring.
    let _ = unsafe {
        syscall6(
            nr::WRITE,
            [fd as u64, &one as *const u64 as u64, 8, 0, 0, 0],
        )
    };
}
