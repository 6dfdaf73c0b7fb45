//! `rasp-rules check <file-or-dir>…`: load rules exactly as the library
//! does and print what was loaded, or every error.
//!
//! A directory is read in CRS layout: `test-setup.conf` if present (the
//! CRS test harness settings), then `crs-setup.conf` or
//! `crs-setup.conf.example`, then `rules/*.conf` in name order. Files are
//! read in the order given. Exit status: 0 when everything loaded, 1 on
//! any load error, 2 on bad usage.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use crs_compiler::ir::rule::Phase;
use crs_compiler::{CompiledRuleset, Compiler};

const USAGE: &str = "usage: rasp-rules check <file-or-dir>...";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((cmd, paths)) if cmd == "check" && !paths.is_empty() => check(paths),
        Some((cmd, _)) if cmd == "-h" || cmd == "--help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn add_path(compiler: Compiler, path: &Path) -> Result<Compiler, String> {
    if !path.is_dir() {
        return compiler.add_file(path).map_err(|e| e.to_string());
    }
    let mut c = compiler;
    // The CRS test harness settings come first when present, as the CRS
    // regression suite loads them (tests/regression/README, TESTING.md).
    let test_setup = path.join("test-setup.conf");
    if test_setup.is_file() {
        c = c.add_file(&test_setup).map_err(|e| e.to_string())?;
    }
    if path.join("rules").is_dir() {
        c.add_crs_dir(path).map_err(|e| e.to_string())
    } else {
        c.add_glob(&path.join("*.conf").to_string_lossy())
            .map_err(|e| e.to_string())
    }
}

fn check(paths: &[String]) -> ExitCode {
    let mut compiler = Compiler::new();
    for p in paths {
        compiler = match add_path(compiler, Path::new(p)) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
    }
    let start = Instant::now();
    match compiler.compile() {
        Ok(rs) => {
            print_summary(&rs, start.elapsed().as_secs_f64() * 1000.0);
            ExitCode::SUCCESS
        }
        Err(errs) => {
            for e in errs.errors() {
                eprintln!("error: {e}");
            }
            eprintln!(
                "{} error{}",
                errs.errors().len(),
                if errs.errors().len() == 1 { "" } else { "s" }
            );
            ExitCode::from(1)
        }
    }
}

fn print_summary(rs: &CompiledRuleset, ms: f64) {
    let r = &rs.report;
    println!("files:        {}", r.files.len());
    for f in &r.files {
        println!("  {f}");
    }
    println!(
        "SecRule:      {} (links, including chained rules)",
        r.sec_rules
    );
    println!("SecAction:    {}", r.sec_actions);
    println!("SecMarker:    {}", r.markers);
    println!("chains:       {}", r.chains);
    println!("removed:      {}", r.removed);
    println!("rule links:   {}", rs.link_count);
    println!("rules per phase:");
    for p in Phase::ALL {
        println!("  phase {p}: {}", r.rules_per_phase[p.index()]);
    }
    println!("operators:");
    for (name, n) in &r.operators {
        println!("  @{name}: {n}");
    }
    println!(
        "multi-pattern groups: {} ({} rules gated)",
        rs.groups.len(),
        r.gated_links
    );
    // Engines build the sets of the gates they use; build them all here to
    // report their size and any that does not compile.
    let plan = rs.gate_plan();
    plan.build();
    for (i, set) in plan.sets.iter().enumerate() {
        let state = if set.get().is_some() {
            ""
        } else {
            " (does not compile: its rules are checked one by one)"
        };
        println!("  set #{i}: {} KiB{state}", set.memory_usage() / 1024);
    }
    for (i, g) in rs.groups.iter().enumerate() {
        let transforms: Vec<&str> = g.transforms.iter().map(|t| t.name()).collect();
        println!(
            "  #{i} phase {} set #{} size {}: [{}]",
            g.phase,
            g.set,
            g.members.len(),
            transforms.join(",")
        );
    }
    let mut reasons: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (_, why) in &r.ungated {
        *reasons.entry(why).or_default() += 1;
    }
    println!("rules not gated: {}", r.ungated.len());
    for (why, n) in reasons {
        println!("  {n}: {why}");
    }
    println!(
        "automata heap: {:.1} MiB (rules) + {:.1} MiB (all gate sets)",
        r.automata_bytes as f64 / (1024.0 * 1024.0),
        plan.memory_usage() as f64 / (1024.0 * 1024.0)
    );
    println!("compiled in {ms:.0} ms");
}
