//! # rasp
//!
//! Runtime protection for Rust services, from inside the process:
//!
//! - [`RaspLayer`] runs ModSecurity SecLang rules (above all the OWASP Core
//!   Rule Set v4) on every request and response of a tower/hyper/axum service.
//! - [`sandbox::lockdown()`] confines the whole process with seccomp-bpf,
//!   Landlock, capability drops, `no_new_privs` and resource limits.
//!
//! The crate is a facade: it re-exports `crs-compiler` (rule loading),
//! `rasp-core` (the engine), `rasp-tower` (feature `tower`) and
//! `rasp-sandbox` (feature `sandbox`, Linux only).
#![deny(missing_docs)]

pub use crs_compiler as compiler;
pub use rasp_core as core;

#[cfg(feature = "tower")]
pub use rasp_tower::*;

/// In-process sandboxing: see [`rasp_sandbox`].
#[cfg(all(feature = "sandbox", target_os = "linux"))]
pub mod sandbox {
    pub use rasp_sandbox::*;
}
