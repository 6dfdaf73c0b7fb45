//! Engine time per exchange for the request mix (`benches/common/mix.rs`)
//! with the full OWASP CRS at paranoia levels 1 and 4.
//!
//! ```text
//! cargo bench --bench engine                                  # rasp only
//! cargo bench --bench engine --features bench-modsecurity     # rasp and libmodsecurity side by side
//! cargo bench --bench engine --features bench-zentinel        # + zentinel-modsec (crates.io)
//! cargo bench --bench engine -- 'pl1/'                        # one paranoia level
//! ```
//!
//! `RASP_BENCH_PARANOIA=1` (or `4`) limits the run to one level, set-up
//! included (useful under a profiler).
//!
//! Besides the seven cases, `benign_get_varied` cycles through 4,096
//! variants of the benign GET (new session id, search, size and page each
//! time; see `mix::benign_get_varied`).
//!
//! Benchmark ids are `pl<N>/<case>/<engine>`. Before measuring, every case
//! runs once through each engine and the outcome is printed; a benign case
//! interrupted by rasp at PL1, or an attack it lets pass, aborts the run
//! (at PL4 benign interruptions are reported, not fatal: PL4 is meant to be
//! tuned per site).

mod common;
#[cfg(feature = "bench-modsecurity")]
mod modsecurity;
#[cfg(feature = "bench-zentinel")]
mod zentinel;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

use common::mix;

fn engine(c: &mut Criterion) {
    let dir = common::crs_dir();
    let cases = mix::cases();
    #[cfg(feature = "bench-modsecurity")]
    eprintln!("libmodsecurity: {}", modsecurity::ModSecurity::version());
    let levels: Vec<u8> = match std::env::var("RASP_BENCH_PARANOIA") {
        Ok(v) => vec![v.parse().expect("RASP_BENCH_PARANOIA: 1-4")],
        Err(_) => vec![1, 4],
    };
    for pl in levels {
        let rasp = common::engine_for(common::compile_rasp(&dir, pl));
        let outcomes: Vec<_> = cases
            .iter()
            .map(|k| common::outcome_rasp(&rasp, k))
            .collect();
        let errors = common::check("rasp", pl, &cases, &outcomes);
        if !errors.is_empty() {
            let fatal = pl == 1 || errors.iter().any(|e| e.contains("expected Block"));
            for e in &errors {
                eprintln!("{} {e}", if fatal { "error:" } else { "warning:" });
            }
            assert!(!fatal, "the mix does not behave as documented under rasp");
        }
        #[cfg(feature = "bench-modsecurity")]
        let msc = {
            let m = modsecurity::ModSecurity::load(&dir, pl);
            let outcomes: Vec<_> = cases
                .iter()
                .map(|k| {
                    let (status, phase) = m.run(k);
                    common::Outcome {
                        status,
                        phase,
                        rules: Vec::new(),
                    }
                })
                .collect();
            for e in common::check("modsecurity", pl, &cases, &outcomes) {
                eprintln!("warning: {e}");
            }
            m
        };
        #[cfg(feature = "bench-zentinel")]
        let zen = {
            let z = zentinel::Zentinel::load(&dir, pl);
            let outcomes: Vec<_> = cases.iter().map(|k| z.outcome(k)).collect();
            for e in common::check("zentinel", pl, &cases, &outcomes) {
                eprintln!("warning: {e}");
            }
            z
        };
        for case in &cases {
            let mut g = c.benchmark_group(format!("pl{pl}/{}", case.name));
            g.throughput(Throughput::Elements(1));
            g.bench_function("rasp", |b| {
                b.iter(|| common::run_rasp(&rasp, black_box(case)))
            });
            #[cfg(feature = "bench-modsecurity")]
            g.bench_function("modsecurity", |b| b.iter(|| msc.run(black_box(case))));
            #[cfg(feature = "bench-zentinel")]
            g.bench_function("zentinel", |b| b.iter(|| zen.run(black_box(case))));
            g.finish();
        }
        // Case 1 varied per exchange (`mix::benign_get_varied`): each
        // iteration takes the next of the variants, round and round.
        let varied = mix::benign_get_varied();
        let passed = varied
            .iter()
            .filter(|k| common::run_rasp(&rasp, k).0.is_none())
            .count();
        eprintln!(
            "  PL{pl} rasp         benign_get_varied: {passed} of {} pass",
            varied.len()
        );
        assert!(
            pl != 1 || passed == varied.len(),
            "varied benign GETs are interrupted under rasp at PL1"
        );
        let mut g = c.benchmark_group(format!("pl{pl}/benign_get_varied"));
        g.throughput(Throughput::Elements(1));
        let next = |at: &mut usize| {
            *at = (*at + 1) % varied.len();
            &varied[*at]
        };
        g.bench_function("rasp", |b| {
            let mut at = 0;
            b.iter(|| common::run_rasp(&rasp, black_box(next(&mut at))))
        });
        #[cfg(feature = "bench-modsecurity")]
        g.bench_function("modsecurity", |b| {
            let mut at = 0;
            b.iter(|| msc.run(black_box(next(&mut at))))
        });
        #[cfg(feature = "bench-zentinel")]
        g.bench_function("zentinel", |b| {
            let mut at = 0;
            b.iter(|| zen.run(black_box(next(&mut at))))
        });
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = engine
}
criterion_main!(benches);
