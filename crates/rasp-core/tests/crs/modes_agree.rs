//! Gated (multi-pattern) and per-rule evaluation must produce identical
//! matches — id, phase, log flag, msg and data of every record, in order —
//! for every stage of the CRS v4.28 suite, at test-setup.conf's paranoia
//! level 4 and at level 1 (where the gates leave out unreached rules),
//! and the gated engine must answer each stage alike when it is run a
//! third time (its thread then answers from what it found in the stage's
//! values, see `transaction/value_memo.rs`). Independent of whether the
//! stages pass: this target fails only on a difference.
//!
//! `cargo test --release -p rasp-core --test crs_modes_agree`
//! (`CRS_TEST=942` narrows it, like crs_regression).

#[allow(dead_code, unused_imports)]
#[path = "mod.rs"]
mod crs;

use std::process::ExitCode;

use crs::suite::{self, Mode, Options};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("crs_modes_agree: test");
        return ExitCode::SUCCESS;
    }
    // test-setup.conf's paranoia level 4 reaches every rule; at level 1 the
    // engine plans its gates without the rules above it (`reach.rs`).
    let mut ok = true;
    for (paranoia, report) in [
        (None, "modes-agree.json"),
        (Some(1), "modes-agree-pl1.json"),
    ] {
        let mut opts = Options::from_env(Mode::Compare, &args, report);
        opts.print_failures = false;
        opts.paranoia = paranoia;
        let level = paranoia.unwrap_or(4);
        match suite::run(&opts) {
            Ok(s) => {
                for d in s.differing_stages.iter().take(50) {
                    println!("DIFFER (PL{level}) {d}");
                }
                println!(
                    "crs-modes-agree: PL{level}: {} stages compared, {} differ between gated and per-rule evaluation",
                    s.compared_stages,
                    s.differing_stages.len()
                );
                if s.compared_stages == 0 && opts.filters.is_empty() {
                    println!("crs-modes-agree: nothing was compared");
                    ok = false;
                }
                ok &= s.differing_stages.is_empty();
            }
            Err(e) => {
                println!("crs-modes-agree: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
