//! Loading and compiling the full OWASP CRS (configuration, paranoia 1,
//! `crs-setup.conf.example`, `rules/*.conf`), from files on disk, up to an
//! engine ready for the first request: `Engine::new` learns which rules
//! PL1 reaches and builds their multi-pattern sets.
//!
//! ```text
//! cargo bench --bench load [--features bench-modsecurity]
//! ```

mod common;
#[cfg(feature = "bench-modsecurity")]
mod modsecurity;

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};

fn load(c: &mut Criterion) {
    let dir = common::crs_dir();
    let mut g = c.benchmark_group("load/crs_pl1");
    g.bench_function("rasp", |b| {
        b.iter(|| {
            let rules = std::sync::Arc::new(common::compile_rasp(&dir, 1));
            black_box(rasp_core::Engine::new(rules))
        })
    });
    #[cfg(feature = "bench-modsecurity")]
    g.bench_function("modsecurity", |b| {
        b.iter(|| black_box(modsecurity::ModSecurity::load(&dir, 1)))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = load
}
criterion_main!(benches);
