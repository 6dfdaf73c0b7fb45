//! rasp against libmodsecurity, timed in alternation: the ratio of their
//! times per exchange, round by round. Not a criterion bench: criterion
//! measures one engine, then the other, seconds apart, and on a machine
//! whose speed drifts (session 12's and 13's VMs moved by 2× within
//! minutes) a drift between the two measurements moves the ratio of a
//! case by as much as the engines differ from one session to the next.
//! Here each round times both engines within a tenth of a second, in
//! alternating order, so a drift slower than that cancels out of the
//! round's ratio; the table gives the median of the rounds' ratios and
//! their spread. `engine` (criterion) stays the source of absolute times.
//!
//! ```text
//! cargo bench --features bench-modsecurity --bench paired
//! RASP_BENCH_PARANOIA=4 PAIRED_ROUNDS=41 cargo bench --features bench-modsecurity --bench paired
//! ```
//!
//! Each case first runs 500 times through rasp and 20 times through
//! libmodsecurity (warm caches, and the time of one exchange of each);
//! then every round runs each engine for about 50 ms.

mod common;
mod modsecurity;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::mix::{self, Case};

/// Wall time each engine gets per round.
const ROUND_SHARE: Duration = Duration::from_millis(50);

/// Times `n` runs of `run` over `cases`, taken in turn from `next` on
/// (the varied GET's 4,096 variants go round across the rounds), per run.
fn per_run(n: usize, cases: &[Case], next: &mut usize, mut run: impl FnMut(&Case)) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        run(black_box(&cases[*next % cases.len()]));
        *next += 1;
    }
    start.elapsed() / n as u32
}

/// How many runs take about [`ROUND_SHARE`], given the time of one.
fn runs_per_round(one: Duration) -> usize {
    (ROUND_SHARE.as_nanos() / one.as_nanos().max(1)).clamp(1, 1_000_000) as usize
}

/// `seconds` as µs below a millisecond, else as ms.
fn shown(seconds: f64) -> String {
    if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else {
        format!("{:.2} ms", seconds * 1e3)
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read.
    let rounds: usize = std::env::var("PAIRED_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(21)
        .max(1);
    let pl: u8 = std::env::var("RASP_BENCH_PARANOIA")
        .ok()
        .map(|v| v.parse().expect("RASP_BENCH_PARANOIA: 1-4"))
        .unwrap_or(1);
    let dir = common::crs_dir();
    let rasp = rasp_core::Engine::new(std::sync::Arc::new(common::compile_rasp(&dir, pl)));
    let msc = modsecurity::ModSecurity::load(&dir, pl);
    println!(
        "\n### rasp and libmodsecurity {} timed in alternation, full CRS, PL{pl}, {rounds} rounds\n",
        modsecurity::ModSecurity::version()
    );
    println!("| case | rasp per exchange (median) | libmodsecurity (median) | ratio: median of rounds | ratio: lowest – highest round |");
    println!("|---|---|---|---|---|");
    let mut workloads: Vec<(String, Vec<Case>)> = mix::cases()
        .into_iter()
        .map(|case| (case.name.to_string(), vec![case]))
        .collect();
    workloads.push(("benign_get_varied".to_string(), mix::benign_get_varied()));
    for (name, cases) in &workloads {
        let run_rasp = |k: &Case| {
            black_box(common::run_rasp(&rasp, k));
        };
        let run_msc = |k: &Case| {
            black_box(msc.run(k));
        };
        let (mut rasp_next, mut msc_next) = (0, 0);
        let rasp_runs = runs_per_round(per_run(500, cases, &mut rasp_next, run_rasp));
        let msc_runs = runs_per_round(per_run(20, cases, &mut msc_next, run_msc));
        let (mut ratios, mut rasp_times, mut msc_times) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            // Alternate which engine goes first, so that a drift within
            // the round favours neither.
            let (r, m) = if round % 2 == 0 {
                let r = per_run(rasp_runs, cases, &mut rasp_next, run_rasp);
                (r, per_run(msc_runs, cases, &mut msc_next, run_msc))
            } else {
                let m = per_run(msc_runs, cases, &mut msc_next, run_msc);
                (per_run(rasp_runs, cases, &mut rasp_next, run_rasp), m)
            };
            ratios.push(m.as_secs_f64() / r.as_secs_f64().max(1e-12));
            rasp_times.push(r.as_secs_f64());
            msc_times.push(m.as_secs_f64());
        }
        let (low, high) = ratios
            .iter()
            .fold((f64::MAX, 0f64), |(lo, hi), &r| (lo.min(r), hi.max(r)));
        println!(
            "| {name} | {} | {} | {:.1}× | {low:.1}× – {high:.1}× |",
            shown(median(&mut rasp_times)),
            shown(median(&mut msc_times)),
            median(&mut ratios),
        );
    }
}
