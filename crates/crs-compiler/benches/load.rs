//! Load + compile of the full OWASP CRS v4.28 (test-setup.conf,
//! crs-setup.conf.example, rules/*.conf), read in place from
//! `RASP_CRS_DIR` or `../shared/crs`. Run with
//! `cargo bench -p crs-compiler --bench load`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use crs_compiler::Compiler;

fn crs_dir() -> PathBuf {
    let dir = std::env::var_os("RASP_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs"));
    assert!(
        dir.join("rules").is_dir(),
        "OWASP CRS not found at {} (set RASP_CRS_DIR)",
        dir.display()
    );
    dir
}

fn load_crs(c: &mut Criterion) {
    let dir = crs_dir();
    let mut group = c.benchmark_group("crs");
    group.sample_size(20);
    group.bench_function("load_and_compile", |b| {
        b.iter(|| {
            let rs = Compiler::new()
                .add_file(dir.join("test-setup.conf"))
                .and_then(|c| c.add_file(dir.join("crs-setup.conf.example")))
                .and_then(|c| c.add_glob(&dir.join("rules/*.conf").to_string_lossy()))
                .expect("CRS files present")
                .compile()
                .expect("CRS compiles");
            assert!(rs.link_count > 0);
            rs
        })
    });
    group.finish();
}

criterion_group!(benches, load_crs);
criterion_main!(benches);
