//! `rasp-rules check` end to end: exit codes and the summary.

use std::path::PathBuf;
use std::process::Command;

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

#[test]
fn check_crs_dir_succeeds_and_prints_counts() {
    let out = Command::new(env!("CARGO_BIN_EXE_rasp-rules"))
        .arg("check")
        .arg(crs_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("test-setup.conf"), "{stdout}");
    assert!(stdout.contains("SecRule:      704"), "{stdout}");
    assert!(stdout.contains("SecMarker:    30"), "{stdout}");
    assert!(stdout.contains("multi-pattern groups:"), "{stdout}");
}

#[test]
fn check_reports_every_error_and_exits_1() {
    let dir = std::env::temp_dir().join(format!("rasp-rules-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.conf");
    std::fs::write(&file, "SecRule ARGS \"@rx (\" \"id:1\"\nSecBogus On\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rasp-rules"))
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("bad.conf:1:"), "{stderr}");
    assert!(
        stderr.contains("bad.conf:2:1: SecBogus: unknown directive"),
        "{stderr}"
    );
    assert!(stderr.contains("2 errors"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_rasp-rules"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
