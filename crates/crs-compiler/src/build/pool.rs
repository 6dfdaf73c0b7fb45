//! Running independent build jobs on all cores.
//!
//! Workers pull job indexes from a shared counter until none are left, so
//! any number of workers finishes every job. The calling thread is always
//! one of them; helper threads are only an optimisation. That matters
//! because rules may be (re)loaded after the process has been locked down
//! (`rasp-sandbox` may forbid creating threads): when a helper cannot be
//! spawned, the work simply runs on fewer threads instead of panicking.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Upper bound on helper threads; the automata builds are memory-bound
/// beyond a few cores.
const MAX_THREADS: usize = 8;

/// Runs `job(i)` for every `i` in `0..count`, in parallel where possible.
/// Results come back in index order; a job whose worker panicked yields
/// `None`.
pub(crate) fn run<T: Send>(count: usize, job: impl Fn(usize) -> T + Sync) -> Vec<Option<T>> {
    let next = AtomicUsize::new(0);
    let work = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= count {
                break;
            }
            out.push((i, job(i)));
        }
        out
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
        .min(count);
    let done: Vec<(usize, T)> = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(s, work).ok())
                .collect();
            let mut all = work();
            for h in helpers {
                if let Ok(part) = h.join() {
                    all.extend(part);
                }
            }
            all
        })
    };
    let mut results: Vec<Option<T>> = (0..count).map(|_| None).collect();
    for (i, r) in done {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_runs_once_in_order() {
        let out = run(100, |i| i * 2);
        assert_eq!(out.len(), 100);
        assert!(out.iter().enumerate().all(|(i, r)| *r == Some(i * 2)));
        assert!(run(0, |i| i).is_empty());
    }
}
