//! Syscall cost with and without the lockdown filter.
//!
//! A filter cannot be removed once installed, so every sample runs in a
//! fresh `fork()`ed child: the child installs the filter (seccomp only: no
//! uid, Landlock or rlimit changes, kernel audit logging off), times
//! `iters` raw syscalls and sends the elapsed nanoseconds back through a
//! pipe (criterion's `iter_custom`).
//!
//! Syscalls measured:
//! * `getpid`: unconditionally allowed, answered by the kernel's
//!   constant-action bitmap without running BPF;
//! * `prctl(PR_GET_DUMPABLE)`: allowed by an argument rule, so the BPF
//!   program runs on every call;
//! * `getpgrp`: denied by `restricted` (EPERM, or SIGSYS + handler in trap
//!   mode), allowed by `runtime_default`.
//!
//! Run: `cargo bench -p rasp-sandbox --bench syscall_overhead`.
#![allow(unsafe_code)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rasp_sandbox::{Lockdown, Preset, Rlimits, ViolationMode};

#[derive(Clone, Copy, Debug)]
enum Setup {
    None,
    Filter(Preset, ViolationMode),
}

impl Setup {
    fn name(self) -> String {
        match self {
            Setup::None => "no-filter".into(),
            Setup::Filter(p, m) => format!("{}-{m:?}", p.name()),
        }
    }

    fn apply(self) -> bool {
        let Setup::Filter(preset, mode) = self else {
            return true;
        };
        Lockdown::builder()
            .rlimits(Rlimits::unchanged())
            .seccomp_preset(preset)
            .violation_mode(mode)
            .kernel_log(false)
            .on_violation(|_| {})
            .dangerous()
            .keep_user()
            .without_filesystem_rules()
            .without_network_rules()
            .done()
            .apply()
            .is_ok()
    }
}

/// Times `iters` calls of syscall `nr` in a forked child under `setup`.
fn measure(setup: Setup, nr: i64, arg0: i64, iters: u64) -> Duration {
    let mut fds = [0i32; 2];
    // SAFETY: fds is a valid two-int array.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: the child only runs the code below and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let ns: u64 = if setup.apply() {
            let start = std::time::Instant::now();
            for _ in 0..iters {
                // SAFETY: integer-argument syscalls only.
                unsafe { libc::syscall(nr, arg0) };
            }
            start.elapsed().as_nanos() as u64
        } else {
            u64::MAX
        };
        // SAFETY: writes 8 bytes from a live u64, then exits the child.
        unsafe {
            libc::write(fds[1], &ns as *const u64 as *const libc::c_void, 8);
            libc::_exit(0);
        }
    }
    let mut ns: u64 = 0;
    // SAFETY: reads 8 bytes into a live u64; closes our pipe ends; reaps.
    unsafe {
        libc::close(fds[1]);
        libc::read(fds[0], &mut ns as *mut u64 as *mut libc::c_void, 8);
        libc::close(fds[0]);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    assert_ne!(
        ns,
        u64::MAX,
        "lockdown failed in the bench child (run as root?)"
    );
    Duration::from_nanos(ns)
}

fn bench(c: &mut Criterion) {
    let setups = [
        Setup::None,
        Setup::Filter(Preset::RestrictedV1, ViolationMode::Enforce),
        Setup::Filter(Preset::RuntimeDefaultV1, ViolationMode::Enforce),
        Setup::Filter(Preset::RestrictedV1, ViolationMode::Trap),
    ];
    let calls: [(&str, i64, i64); 3] = [
        ("getpid", libc::SYS_getpid, 0),
        (
            "prctl-get-dumpable",
            libc::SYS_prctl,
            libc::PR_GET_DUMPABLE as i64,
        ),
        ("getpgrp", libc::SYS_getpgrp, 0),
    ];
    let mut g = c.benchmark_group("syscall");
    g.measurement_time(Duration::from_secs(2));
    g.warm_up_time(Duration::from_millis(300));
    g.sample_size(20);
    for (name, nr, arg) in calls {
        for setup in setups {
            g.bench_with_input(BenchmarkId::new(name, setup.name()), &setup, |b, s| {
                b.iter_custom(|iters| measure(*s, nr, arg, iters))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
