//! Building the gate automata.
//!
//! Each group becomes one `regex_automata::meta::Regex` with
//! `MatchKind::All` and no capture slots (see [`crate::build::regex`]).
//! Groups are independent, so they are compiled on all available cores:
//! set compilation is, after the single patterns, the biggest part of the
//! load time (the largest CRS groups hold 30-60 patterns).

use std::sync::Arc;

use regex_automata::meta::Regex;

use crate::build;
use crate::build::pool;
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
    // Biggest groups first so no worker is left with all the large ones.
    let mut order: Vec<usize> = (0..patterns.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse(
            patterns
                .get(i)
                .map_or(0, |p| p.iter().map(String::len).sum::<usize>()),
        )
    });
    let done = pool::run(order.len(), |k| {
        let i = order.get(k).copied()?;
        Some((i, build::regex::compile_gate_set(patterns.get(i)?)))
    });
    let mut results: Vec<Option<SetResult>> = vec![None; patterns.len()];
    for (i, r) in done.into_iter().flatten().flatten() {
        if let Some(slot) = results.get_mut(i) {
            *slot = Some(r);
        }
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("set compilation thread failed".into())))
        .collect()
}
