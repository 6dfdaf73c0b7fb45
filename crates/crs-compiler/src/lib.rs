//! # crs-compiler
//!
//! Turns ModSecurity SecLang (the language of the OWASP Core Rule Set) into
//! an immutable [`CompiledRuleset`] that `rasp-core` executes.
//!
//! ```no_run
//! use crs_compiler::Compiler;
//!
//! let rules = Compiler::new()
//!     .add_file("crs/crs-setup.conf.example")?
//!     .add_glob("crs/rules/*.conf")?
//!     .compile()?;
//! println!("{} rule links", rules.link_count);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Everything that can be decided at load time is decided here: directives
//! are validated, `SecDefaultAction` is merged into each rule, chains are
//! assembled, `skipAfter` markers resolved, `@rx` patterns compiled with
//! ModSecurity's PCRE semantics (see [`build::regex`]), phrase lists built
//! into Aho-Corasick automata, and the `@rx`/`@pm` chain heads of a phase
//! grouped by transformation chain into multi-pattern sets (see [`plan_gates`]).
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod build;
mod compile;
mod compiler;
pub mod error;
pub mod ir;
mod parse;
mod plan;
pub use plan::plan_gates;
pub mod program;

pub use compiler::{Compiler, Support};
pub use error::{CompileError, CompileErrorKind, CompileErrors, Location};
pub use ir::rule::{Entry, Phase, Rule};
pub use program::CompiledRuleset;
