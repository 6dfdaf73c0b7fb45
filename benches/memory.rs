//! Memory: what the loaded CRS holds, and allocations and peak heap per
//! transaction for each case of the mix. Not a criterion bench: it counts
//! with a global allocator and prints markdown tables once.
//!
//! ```text
//! cargo bench --bench memory [--features bench-modsecurity]
//! ```
//!
//! - *automata bytes*: `CompileReport::automata_bytes` (the compiler's own
//!   estimate of its regex/phrase automata).
//! - *live heap*: bytes allocated through Rust's allocator and not freed
//!   when compilation returns, i.e. held by the ruleset and its engine.
//! - *malloc in use*: glibc `mallinfo2()` (`uordblks + hblkhd`) delta, the
//!   same measure for both engines (libmodsecurity allocates with malloc).
//! - *RSS delta*: resident set growth across the load (includes memory
//!   freed during compilation but kept by the allocator).
//! - per transaction (rasp): number of allocations, bytes allocated, and
//!   the peak of live heap above the level before the transaction, from
//!   `Engine::transaction()` to the end of the logging phase and the drop.
#![allow(unsafe_code)]

mod common;
#[cfg(feature = "bench-modsecurity")]
mod modsecurity;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use common::mix;

/// Counts allocations, bytes, live bytes and the peak of live bytes.
struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(n: usize) {
    ALLOCS.fetch_add(1, Relaxed);
    ALLOCATED.fetch_add(n, Relaxed);
    let live = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: forwards to the system allocator; only counts on the side.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            grow(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            grow(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            LIVE.fetch_sub(l.size(), Relaxed);
            grow(new);
        }
        q
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[repr(C)]
#[derive(Default)]
struct MallInfo2 {
    arena: usize,
    ordblks: usize,
    smblks: usize,
    hblks: usize,
    hblkhd: usize,
    usmblks: usize,
    fsmblks: usize,
    uordblks: usize,
    fordblks: usize,
    keepcost: usize,
}

extern "C" {
    fn mallinfo2() -> MallInfo2;
}

/// Bytes in use from glibc's point of view.
fn malloc_in_use() -> usize {
    // SAFETY: mallinfo2 only reads allocator statistics.
    let m = unsafe { mallinfo2() };
    m.uordblks + m.hblkhd
}

fn mib(b: usize) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

fn kib(b: usize) -> String {
    format!("{:.1} KiB", b as f64 / 1024.0)
}

/// Exchanges per case before one is measured. The gates build lazy-DFA
/// states within a time budget per exchange (`EngineConfig::gate_build_time`),
/// so how many exchanges a thread needs to reach its steady state depends
/// on the machine: on session 12's, the 2 KiB page of the GET spent the
/// whole budget in each of its first 150 exchanges or so (and its rules
/// then searched it one by one, allocating more); 50 exchanges were not
/// enough there.
const WARM_UP: usize = 500;

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is ignored.
    let dir = common::crs_dir();
    let cases = mix::cases();

    println!("## Loaded full CRS v4 (PL1)\n");
    println!("| engine | automata bytes | live heap | malloc in use | RSS delta |");
    println!("|---|---|---|---|---|");
    // libmodsecurity first: its rules stay allocated, so rasp's deltas are
    // not flattered by memory freed earlier (rasp's compilation frees a
    // lot, which a later load would reuse without growing the RSS).
    #[cfg(feature = "bench-modsecurity")]
    let _msc = {
        let (rss0, mal0) = (common::rss_bytes(), malloc_in_use());
        let m = modsecurity::ModSecurity::load(&dir, 1);
        let (rss1, mal1) = (common::rss_bytes(), malloc_in_use());
        println!(
            "| libmodsecurity | – | – | {} | {} |",
            mib(mal1.saturating_sub(mal0)),
            mib(rss1.saturating_sub(rss0))
        );
        m
    };

    let (rss0, live0, mal0) = (common::rss_bytes(), LIVE.load(Relaxed), malloc_in_use());
    let ruleset = Arc::new(common::compile_rasp(&dir, 1));
    // The engine builds the multi-pattern sets of the rules PL1 reaches.
    let engine_pl1 = rasp_core::Engine::new(Arc::clone(&ruleset));
    let (rss1, live1, mal1) = (common::rss_bytes(), LIVE.load(Relaxed), malloc_in_use());
    println!(
        "| rasp (rules + engine) | {} | {} | {} | {} |",
        mib(ruleset.report.automata_bytes + engine_pl1.gate_plan().memory_usage()),
        mib(live1 - live0),
        mib(mal1.saturating_sub(mal0)),
        mib(rss1.saturating_sub(rss0))
    );
    for pl in [1u8, 4] {
        let engine = if pl == 1 {
            engine_pl1.clone()
        } else {
            rasp_core::Engine::new(Arc::new(common::compile_rasp(&dir, pl)))
        };
        println!("\n## rasp, per transaction, PL{pl}\n");
        println!("| case | outcome | allocations | bytes allocated | peak live heap |");
        println!("|---|---|---|---|---|");
        for case in &cases {
            // Warm up: the lazily built caches are not per-transaction
            // cost. A thread fills its gates' caches over its first
            // exchanges, within `EngineConfig::gate_build_time` each.
            let outcome = common::outcome_rasp(&engine, case);
            for _ in 0..WARM_UP {
                std::hint::black_box(common::run_rasp(&engine, case));
            }
            let (a0, b0, l0) = (
                ALLOCS.load(Relaxed),
                ALLOCATED.load(Relaxed),
                LIVE.load(Relaxed),
            );
            PEAK.store(l0, Relaxed);
            let r = common::run_rasp(&engine, case);
            let (a1, b1, p1) = (
                ALLOCS.load(Relaxed),
                ALLOCATED.load(Relaxed),
                PEAK.load(Relaxed),
            );
            std::hint::black_box(r);
            println!(
                "| {} | {} | {} | {} | {} |",
                case.name,
                outcome.summary(),
                a1 - a0,
                kib(b1 - b0),
                kib(p1 - l0)
            );
        }
    }
    // The ruleset's regex caches filled by the runs above (lazy DFAs).
    let warm = LIVE.load(Relaxed) - live0;
    println!(
        "\nrasp PL1 rules after running each case {} times (lazy DFA caches warm): live heap {}",
        WARM_UP + 2,
        mib(warm)
    );
    // And after the mix ran 200 more times: the caches only grow as new
    // DFA states are needed, up to their capacity.
    let engine = engine_pl1;
    for _ in 0..200 {
        for case in &cases {
            std::hint::black_box(common::run_rasp(&engine, case));
        }
    }
    println!(
        "rasp PL1 rules after 200 more rounds of the mix: live heap {}, RSS {}",
        mib(LIVE.load(Relaxed) - live0),
        mib(common::rss_bytes())
    );
}
