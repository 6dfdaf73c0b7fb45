//! Per-thread reuse of a transaction's working tables.
//!
//! Why: the phase caches (gate scans, transformed values) and TX are sized
//! up front for CRS, about 120 KiB of tables per exchange. Allocating and
//! freeing blocks that large on every exchange made glibc consolidate its
//! free lists each time. The buffers every rule evaluation writes to
//! (hits, target values, `MATCHED_VAR(S)`, expanded `setvar` operands)
//! would otherwise grow anew in every exchange. A finished transaction
//! hands its emptied tables to the next one started on the same thread;
//! nothing is shared between threads.

use std::cell::RefCell;
use std::sync::Arc;

use crs_compiler::ir::rule::Rule;

use super::gate::GateCache;
use super::rule::HitScratch;
use super::transform_cache::TransformCache;
use crate::operator::detect_sqli::memo::SqliMemo;
use crate::shortcut::TxPositions;
use crate::variables::collections::Collection;
use crate::variables::{MatchedState, Pair, Value};

/// The tables one transaction works in.
#[derive(Debug)]
pub(super) struct Tables {
    pub(super) gates: GateCache,
    pub(super) tcache: TransformCache,
    pub(super) tx: Collection,
    pub(super) hits: Box<HitScratch>,
    pub(super) values: Vec<Value<'static>>,
    pub(super) matched: MatchedState,
    pub(super) expand: Vec<u8>,
    /// Header, argument and cookie pairs of a finished exchange, emptied:
    /// the next one's take their buffers (two allocations per header
    /// otherwise, a tenth of a benign GET's; its arguments and cookies
    /// then also lie where the last exchange's did, where the value
    /// memory finds them by address).
    pub(super) pairs: Vec<Pair>,
    /// The emptied header lists themselves.
    pub(super) request_headers: Vec<Pair>,
    pub(super) response_headers: Vec<Pair>,
    /// The finished exchange's `ARGS_POST`, cookies and `ARGS_GET`, whose
    /// buffers go to `pairs` (the lists themselves are not kept).
    pub(super) arguments: [Vec<Pair>; 3],
    pub(super) tx_positions: TxPositions,
    pub(super) sqli: SqliMemo,
    pub(super) unwritten: Vec<Arc<Rule>>,
}

/// Scratch buffers larger than this (a huge value went through them) are
/// not kept.
const SCRATCH_BYTES: usize = 16 * 1024;

/// Pairs kept for reuse (a benign GET makes about 25, the JSON POST about
/// 60), and the largest buffer of one kept.
const PAIRS: usize = 96;
const PAIR_BYTES: usize = 1024;

/// TX members a CRS request holds (about 200).
const TX_MEMBERS: usize = 256;

/// At most this many spare sets of tables (about 120 KiB each) per thread:
/// a thread that runs many transactions at once (async connections) makes
/// new tables for the others rather than keep a spare for each of them.
const SPARES: usize = 2;

thread_local! {
    static SPARE: RefCell<Vec<Tables>> = const { RefCell::new(Vec::new()) };
}

/// Empty tables: a spare one, or new ones.
pub(super) fn take() -> Tables {
    SPARE
        .try_with(|s| s.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_else(|| Tables {
            gates: GateCache::new(),
            tcache: TransformCache::new(),
            tx: Collection::with_capacity(TX_MEMBERS),
            hits: Box::default(),
            values: Vec::new(),
            matched: MatchedState::default(),
            expand: Vec::new(),
            pairs: Vec::new(),
            request_headers: Vec::new(),
            arguments: Default::default(),
            response_headers: Vec::new(),
            tx_positions: TxPositions::default(),
            sqli: SqliMemo::default(),
            unwritten: Vec::new(),
        })
}

/// Empties `tables` (keeping their capacity up to the initial sizes, so a
/// huge request does not leave huge tables behind) and keeps them for the
/// next transaction on this thread.
pub(super) fn give(mut tables: Tables) {
    tables.gates.recycle();
    tables.tcache.recycle();
    tables.tx_positions.clear();
    // Bounded (short values, a few dozen): kept as it grew.
    tables.sqli.clear();
    tables.unwritten.clear();
    tables.tx.clear(TX_MEMBERS);
    tables.hits.recycle(SCRATCH_BYTES);
    tables.values.clear();
    tables
        .values
        .shrink_to(SCRATCH_BYTES / std::mem::size_of::<Value<'static>>().max(1));
    tables.matched.recycle(SCRATCH_BYTES);
    tables.expand.clear();
    tables.expand.shrink_to(SCRATCH_BYTES);
    // In the reverse of the order the next exchange takes them (request
    // headers, `ARGS_GET`, cookies, `ARGS_POST`, response headers): the
    // request headers, kept last, come out first.
    let [args_post, cookies, args_get] = &mut tables.arguments;
    for list in [
        &mut tables.response_headers,
        args_post,
        cookies,
        args_get,
        &mut tables.request_headers,
    ] {
        let room = PAIRS.saturating_sub(tables.pairs.len());
        Pair::keep_buffers(list.drain(..), &mut tables.pairs, room, PAIR_BYTES);
        list.shrink_to(PAIRS);
    }
    tables.arguments = Default::default();
    // During thread exit the spare list may be gone: the tables are then
    // simply dropped.
    let _ = SPARE.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < SPARES {
            s.push(tables);
        }
    });
}

/// The buffers of a spare pair (see [`Tables::pairs`]) for an argument
/// or cookie a parser writes: the same requests make the same arguments in
/// the same order, so each gets the buffers it had, already large enough,
/// and its bytes lie where they lay (where the value memory finds them).
pub(super) fn arg_buffers(spare: &mut Vec<Pair>) -> crate::body::Arg {
    let pair = Pair::take_spare(spare);
    (pair.name, pair.value)
}
