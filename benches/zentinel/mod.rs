//! The mix through zentinel-modsec (a pure-Rust ModSecurity engine from
//! crates.io), compiled only with `--features bench-zentinel`.
//!
//! It reads the same configuration and CRS files as the other engines,
//! through a generated entry file that `Include`s them, except rule 200004
//! (`MULTIPART_UNMATCHED_BOUNDARY` is unknown to zentinel-modsec 0.5). Its
//! transaction API has no response status argument, so phase 3 sees no
//! `RESPONSE_STATUS`; otherwise the exchange is fed as for rasp.
#![allow(dead_code)]

use std::path::Path;

use zentinel_modsec::ModSecurity;

use crate::common::mix::{self, Case};
use crate::common::{paranoia_conf, ENGINE_CONF};

/// A zentinel-modsec engine with the bench configuration and CRS loaded.
pub struct Zentinel {
    engine: ModSecurity,
}

impl std::fmt::Debug for Zentinel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Zentinel")
    }
}

impl Zentinel {
    /// Loads [`ENGINE_CONF`], the paranoia SecAction and the CRS at `dir`.
    pub fn load(dir: &Path, pl: u8) -> Zentinel {
        let entry = std::env::temp_dir().join(format!(
            "rasp-bench-zentinel-pl{pl}-{}.conf",
            std::process::id()
        ));
        // Drop rule 200004 (a variable zentinel-modsec does not know).
        let conf: String = {
            let mut out = Vec::new();
            let mut skip = false;
            for line in ENGINE_CONF.lines() {
                if line.starts_with("SecRule MULTIPART_UNMATCHED_BOUNDARY") {
                    skip = true;
                }
                if !skip {
                    out.push(line);
                }
                if skip && !line.ends_with('\\') {
                    skip = false;
                }
            }
            out.join("\n")
        };
        let text = format!(
            "{conf}\n{}Include {}\nInclude {}\n",
            paranoia_conf(pl),
            dir.join("crs-setup.conf.example").display(),
            dir.join("rules").join("*.conf").display()
        );
        std::fs::write(&entry, text).expect("write the zentinel entry file");
        let engine = ModSecurity::from_file(&entry.to_string_lossy());
        let _ = std::fs::remove_file(&entry);
        match engine {
            Ok(engine) => Zentinel { engine },
            Err(e) => panic!("zentinel-modsec cannot load the CRS: {e}"),
        }
    }

    /// Runs one exchange; the interruption status and phase, `(None, 0)` if none.
    #[inline(never)]
    pub fn run(&self, case: &Case) -> (Option<u16>, u8) {
        let mut tx = self.engine.new_transaction();
        let r = Self::exchange(&mut tx, case);
        let _ = tx.process_logging();
        r
    }

    /// Like [`Zentinel::run`], also collecting the matched rule ids (outside timing).
    pub fn outcome(&self, case: &Case) -> crate::common::Outcome {
        let mut tx = self.engine.new_transaction();
        let (status, phase) = Self::exchange(&mut tx, case);
        let _ = tx.process_logging();
        crate::common::Outcome {
            status,
            phase,
            rules: tx
                .matched_rules()
                .iter()
                .filter_map(|r| r.parse().ok())
                .collect(),
        }
    }

    fn exchange(tx: &mut zentinel_modsec::Transaction, case: &Case) -> (Option<u16>, u8) {
        let stop = |tx: &zentinel_modsec::Transaction| {
            tx.intervention()
                .map(|i| (Some(i.status), i.phase.number()))
        };
        tx.set_client_addr(mix::CLIENT.0, mix::CLIENT.1);
        tx.set_server_addr(mix::SERVER.0, mix::SERVER.1);
        let _ = tx.process_uri(&case.uri, case.method, "HTTP/1.1");
        for (n, v) in &case.headers {
            let _ = tx.add_request_header(n, v);
        }
        let _ = tx.process_request_headers();
        if let Some(r) = stop(tx) {
            return r;
        }
        if !case.body.is_empty() {
            let _ = tx.append_request_body(&case.body);
        }
        let _ = tx.process_request_body();
        if let Some(r) = stop(tx) {
            return r;
        }
        if let Some(res) = &case.response {
            for (n, v) in &res.headers {
                let _ = tx.add_response_header(n, v);
            }
            let _ = tx.process_response_headers();
            if let Some(r) = stop(tx) {
                return r;
            }
            if !res.body.is_empty() {
                let _ = tx.append_response_body(&res.body);
            }
            let _ = tx.process_response_body();
            if let Some(r) = stop(tx) {
                return r;
            }
        }
        (None, 0)
    }
}
