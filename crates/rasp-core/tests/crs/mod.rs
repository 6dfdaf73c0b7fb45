//! The CRS v4.28 regression-suite runner: go-ftw's request building and
//! judging, Apache's request parsing, the albedo backend and ModSecurity v2
//! error-log lines, driving `rasp_core` in-process (see TESTING.md next to
//! the CRS rules).

pub mod albedo;
pub mod apache;
pub mod exchange;
pub mod http;
pub mod judge;
pub mod log_line;
pub mod overrides;
pub mod request;
pub mod suite;
pub mod yaml;

use std::path::PathBuf;

/// The CRS directory: `$RASP_CRS_DIR`, else `../shared/crs` next to the
/// workspace. A missing CRS is an error, never a skipped suite.
pub fn crs_dir() -> PathBuf {
    let dir = match std::env::var_os("RASP_CRS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs"),
    };
    if !dir.join("rules").is_dir() || !dir.join("tests").is_dir() {
        panic!(
            "OWASP CRS not found at {} (expected rules/ and tests/ there). Set RASP_CRS_DIR to a CRS v4.28 checkout.",
            dir.display()
        );
    }
    // A canonical path keeps the log lines' [file "…"] readable.
    dir.canonicalize().unwrap_or(dir)
}

fn first_existing(candidates: &[PathBuf], what: &str) -> PathBuf {
    candidates
        .iter()
        .find(|p| p.exists())
        .cloned()
        .unwrap_or_else(|| panic!("{what} not found; looked at {candidates:?}"))
}

/// The directory holding the YAML tests (upstream CRS keeps them under
/// `tests/regression/tests`, the shared copy directly under
/// `tests/regression`).
pub fn regression_dir(crs: &std::path::Path) -> PathBuf {
    first_existing(
        &[
            crs.join("tests/regression/tests"),
            crs.join("tests/regression"),
        ],
        "CRS regression tests",
    )
}

/// The reference engine's overrides, `httpd-overrides.yaml`.
pub fn httpd_overrides_path(crs: &std::path::Path) -> PathBuf {
    first_existing(
        &[
            crs.join("tests/regression/httpd-overrides.yaml"),
            crs.join("tests/httpd-overrides.yaml"),
        ],
        "httpd-overrides.yaml",
    )
}

/// Our own overrides (front-end behaviour only), kept next to this module.
pub fn own_overrides_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/crs/overrides.yaml")
}

/// The rule files in load order: test-setup.conf, crs-setup.conf.example,
/// then rules/*.conf alphabetically (the `*.conf.example` files excluded).
pub fn rule_files(crs: &std::path::Path) -> Vec<PathBuf> {
    let mut rules: Vec<PathBuf> = std::fs::read_dir(crs.join("rules"))
        .unwrap_or_else(|e| panic!("cannot read {}/rules: {e}", crs.display()))
        .map(|e| e.expect("rules directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    rules.sort();
    let mut files = vec![
        crs.join("test-setup.conf"),
        crs.join("crs-setup.conf.example"),
    ];
    files.extend(rules);
    files
}
