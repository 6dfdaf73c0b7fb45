//! Building the gate automata.
//!
//! Each group becomes one `regex_automata::meta::Regex` with
//! `MatchKind::All` and no capture slots (see [`crate::build::regex`]).
//! Groups are independent, so they are compiled on all available cores:
//! set compilation is, after the single patterns, the biggest part of the
//! load time (the largest CRS groups hold 30-60 patterns).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use regex_automata::meta::Regex;

use crate::build;
use crate::ir::operator::OperatorKind;
use crate::ir::rule::Rule;

/// A compiled set, or why it failed.
type SetResult = Result<Arc<Regex>, String>;

/// Compiles one set per job; result `i` belongs to `jobs[i]`.
pub(super) fn compile_sets(jobs: &[Vec<&Rule>]) -> Vec<SetResult> {
    let patterns: Vec<Vec<String>> = jobs
        .iter()
        .map(|members| {
            members
                .iter()
                .map(|r| match &r.operator.kind {
                    OperatorKind::Rx(rx) => rx.source.clone(),
                    // Planning only admits constant @rx rules.
                    _ => String::from("[^\\x00-\\xff]"),
                })
                .collect()
        })
        .collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(patterns.len());
    if threads <= 1 {
        return patterns
            .iter()
            .map(|p| build::regex::compile_gate_set(p))
            .collect();
    }
    // Biggest groups first so no thread is left with all the large ones.
    let mut order: Vec<usize> = (0..patterns.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(
            patterns
                .get(i)
                .map_or(0, |p| p.iter().map(String::len).sum::<usize>()),
        )
    });
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<SetResult>> = vec![None; patterns.len()];
    let done: Vec<Vec<(usize, SetResult)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = order.get(k) else { break };
                        if let Some(p) = patterns.get(i) {
                            out.push((i, build::regex::compile_gate_set(p)));
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    for (i, r) in done.into_iter().flatten() {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("set compilation thread failed".into())))
        .collect()
}
