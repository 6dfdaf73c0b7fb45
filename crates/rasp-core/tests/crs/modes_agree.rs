//! Gated (multi-pattern) and per-rule evaluation must produce identical
//! matches — id, phase, log flag, msg and data of every record, in order —
//! for every stage of the CRS v4.28 suite. Independent of whether the
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
    let mut opts = Options::from_env(Mode::Compare, &args, "modes-agree.json");
    opts.print_failures = false;
    match suite::run(&opts) {
        Ok(s) => {
            for d in s.differing_stages.iter().take(50) {
                println!("DIFFER {d}");
            }
            println!(
                "crs-modes-agree: {} stages compared, {} differ between gated and per-rule evaluation",
                s.compared_stages,
                s.differing_stages.len()
            );
            if s.compared_stages == 0 && opts.filters.is_empty() {
                println!("crs-modes-agree: nothing was compared");
                return ExitCode::FAILURE;
            }
            if s.differing_stages.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("crs-modes-agree: {e}");
            ExitCode::FAILURE
        }
    }
}
