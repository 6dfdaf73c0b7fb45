//! # rasp-core
//!
//! The per-request engine: runs a [`crs_compiler::CompiledRuleset`] against
//! one HTTP exchange at a time, with ModSecurity v2 semantics.
//!
//! ```no_run
//! use std::sync::Arc;
//! use rasp_core::{Engine, Verdict};
//!
//! let rules = crs_compiler::Compiler::new()
//!     .add_str("inline", r#"SecRule ARGS "@rx attack" "id:1,phase:2,deny,status:403""#)
//!     .compile()?;
//! let engine = Engine::new(Arc::new(rules));
//! let mut tx = engine.transaction();
//! tx.process_connection("127.0.0.1".parse()?, 40000, "127.0.0.1".parse()?, 8080);
//! tx.process_uri(b"GET", b"/?q=attack", b"HTTP/1.1");
//! tx.add_request_header(b"Host", b"example.com");
//! let _ = tx.process_request_headers();
//! if let Verdict::Interrupt(i) = tx.process_request_body() {
//!     println!("blocked with {} by rule {:?}", i.status, i.rule_id);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod action;
pub mod audit;
pub mod body;
mod engine;
mod eval;
pub mod operator;
mod reach;
mod record;
mod shortcut;
mod store;
mod transaction;
pub mod transform;
mod variables;

pub use audit::AuditRecord;
pub use engine::{DangerousEngineConfig, Engine, EngineConfig, FailMode};
pub use record::{Intervention, InterventionKind, MatchRecord, Verdict};
pub use transaction::Transaction;
