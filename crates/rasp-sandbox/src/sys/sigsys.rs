//! The SIGSYS handler behind trap mode and audit-only mode.
//!
//! A rule compiled with `SECCOMP_RET_TRAP | data` makes the kernel deliver
//! SIGSYS instead of running the syscall. `data` (16 bits, in `si_errno`)
//! says what to do:
//!
//! * bits 0–11: the errno the syscall returns (trap mode: EPERM or ENOSYS);
//! * bits 12–14: the index of the rule that decided, 7 for the default;
//! * bit 15 ([`AUDIT_REISSUE`]): audit-only mode, run the syscall anyway.
//!
//! Re-issuing from the handler would trap again, so audit mode allows one
//! instruction address in the filter: the `syscall` in
//! `rasp_sandbox_audit_syscall` below (the kernel reports the address of the
//! instruction after it). Anyone can jump there, so the filter only has this
//! hole in audit-only mode, which enforces nothing by definition (the same
//! trick as Chromium's "unsafe traps", which it keeps for debugging).
//!
//! The handler writes the result into the saved `rax`, records an event in
//! the lock-free ring and wakes the reporter through an eventfd. It uses raw
//! syscalls only and never touches `errno`.

use std::sync::atomic::{AtomicI32, Ordering};

use super::raw;
use crate::violation::ring::{self, RawEvent};

/// `si_errno` flag: re-issue the syscall (audit-only mode).
pub(crate) const AUDIT_REISSUE: u32 = 0x8000;
/// `si_errno` mask of the errno to return.
pub(crate) const ERRNO_MASK: u32 = 0x0fff;
/// `si_errno` bits 12–14: which rule decided (7 = default action).
pub(crate) const RULE_SHIFT: u32 = 12;

const SYS_SECCOMP: i32 = 1;

static EVENTFD: AtomicI32 = AtomicI32::new(-1);

// The audit-mode escape hatch: `rasp_sandbox_audit_syscall(nr, a0..a5)`
// issues the syscall from a fixed address the filter knows.
core::arch::global_asm!(
    ".pushsection .text.rasp_sandbox_audit_syscall,\"ax\",@progbits",
    ".globl rasp_sandbox_audit_syscall",
    ".type rasp_sandbox_audit_syscall,@function",
    "rasp_sandbox_audit_syscall:",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "mov rdx, rcx",
    "mov r10, r8",
    "mov r8, r9",
    "mov r9, [rsp + 8]",
    "syscall",
    ".globl rasp_sandbox_audit_syscall_after",
    "rasp_sandbox_audit_syscall_after:",
    "ret",
    ".size rasp_sandbox_audit_syscall, . - rasp_sandbox_audit_syscall",
    ".popsection",
);

extern "C" {
    fn rasp_sandbox_audit_syscall(
        nr: i64,
        a0: u64,
        a1: u64,
        a2: u64,
        a3: u64,
        a4: u64,
        a5: u64,
    ) -> i64;
    fn rasp_sandbox_audit_syscall_after();
}

/// The instruction pointer seccomp sees for a syscall issued by the audit
/// gadget (the address right after its `syscall` instruction).
pub(crate) fn audit_gadget_ip() -> u64 {
    rasp_sandbox_audit_syscall_after as unsafe extern "C" fn() as usize as u64
}

fn monotonic_ns() -> u64 {
    // SAFETY: clock_gettime is async-signal-safe (vDSO) and writes only ts.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: see above; ts is a live timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

extern "C" fn on_sigsys(_sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    if info.is_null() || ctx.is_null() {
        return;
    }
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers. For
    // SIGSYS/SYS_SECCOMP the union holds {void *call_addr; int syscall;
    // unsigned arch} at byte offsets 16, 24 and 28 (x86_64 layout).
    let (code, data, nr) = unsafe {
        let base = info as *const u8;
        (
            (*info).si_code,
            (*info).si_errno as u32,
            (base.add(24) as *const i32).read_unaligned(),
        )
    };
    if code != SYS_SECCOMP {
        return;
    }
    // SAFETY: ctx is the ucontext_t the kernel saved for this signal; we
    // read the syscall arguments and write the return value into it.
    let gregs = unsafe { &mut (*(ctx as *mut libc::ucontext_t)).uc_mcontext.gregs };
    let ip = gregs[libc::REG_RIP as usize] as u64;
    let ret = if data & AUDIT_REISSUE != 0 {
        // SAFETY: re-issues exactly the syscall the thread asked for, with
        // its own arguments: the same memory effects it would have had.
        unsafe {
            rasp_sandbox_audit_syscall(
                i64::from(nr),
                gregs[libc::REG_RDI as usize] as u64,
                gregs[libc::REG_RSI as usize] as u64,
                gregs[libc::REG_RDX as usize] as u64,
                gregs[libc::REG_R10 as usize] as u64,
                gregs[libc::REG_R8 as usize] as u64,
                gregs[libc::REG_R9 as usize] as u64,
            )
        }
    } else {
        let errno = data & ERRNO_MASK;
        -i64::from(if errno == 0 {
            libc::EPERM as u32
        } else {
            errno
        })
    };
    gregs[libc::REG_RAX as usize] = ret;
    ring::push(RawEvent {
        tid: raw::gettid(),
        nr,
        data,
        ip,
        monotonic_ns: monotonic_ns(),
    });
    let fd = EVENTFD.load(Ordering::Relaxed);
    if fd >= 0 {
        raw::eventfd_signal(fd);
    }
}

/// Installs the SIGSYS handler (process-wide) and remembers the eventfd to
/// wake. Refuses if another SIGSYS handler is installed: SIGSYS belongs to
/// seccomp (Chromium's trap.cc makes the same check).
pub(crate) fn install(eventfd: i32) -> std::io::Result<()> {
    // SAFETY: reading the current disposition only writes into `old`.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: NULL new action: query only.
    if unsafe { libc::sigaction(libc::SIGSYS, std::ptr::null(), &mut old) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let ours =
        on_sigsys as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) as usize;
    if old.sa_sigaction != libc::SIG_DFL && old.sa_sigaction != ours {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "another SIGSYS handler is installed",
        ));
    }
    EVENTFD.store(eventfd, Ordering::SeqCst);
    // SAFETY: zeroed sigaction is a valid empty value.
    let mut new: libc::sigaction = unsafe { std::mem::zeroed() };
    new.sa_sigaction = ours;
    // NODEFER: a trapped syscall inside a nested handler still works.
    new.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_RESTART;
    // SAFETY: the handler is async-signal-safe (atomics, raw syscalls).
    if unsafe { libc::sigaction(libc::SIGSYS, &new, std::ptr::null_mut()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Make sure SIGSYS is not blocked in the calling thread: a blocked
    // SIGSYS makes the kernel fall back to the default action (core dump).
    // SAFETY: sigset manipulation on a local set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGSYS);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
    Ok(())
}

/// Creates the eventfd the handler signals (close-on-exec).
pub(crate) fn new_eventfd() -> std::io::Result<i32> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(fd)
    }
}

/// Blocks until the eventfd is signalled. Returns false on error.
pub(crate) fn wait_eventfd(fd: i32) -> bool {
    let mut buf: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64.
    let n = unsafe { libc::read(fd, &mut buf as *mut u64 as *mut libc::c_void, 8) };
    n == 8 || (n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted)
}

/// Issues a syscall through the audit gadget. Only used by tests that check
/// the filter's audit hole points at the right address.
#[cfg(test)]
pub(crate) fn gadget_getpid() -> i64 {
    // SAFETY: getpid takes no arguments and touches no memory.
    unsafe { rasp_sandbox_audit_syscall(raw::nr::GETPID, 0, 0, 0, 0, 0, 0) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The address the filter allows in audit mode is right after a
    /// `syscall` instruction (0f 05), and the gadget issues syscalls.
    #[test]
    fn audit_gadget_points_after_syscall() {
        let ip = audit_gadget_ip() as usize;
        // SAFETY: reads two bytes of our own code just before a label in
        // the same text section.
        let bytes = unsafe { [*((ip - 2) as *const u8), *((ip - 1) as *const u8)] };
        assert_eq!(bytes, [0x0f, 0x05]);
        assert_eq!(gadget_getpid(), i64::from(std::process::id()));
    }
}
