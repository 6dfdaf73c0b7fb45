//! The full OWASP CRS behind the layer, over HTTP: the CRS is one option
//! away from the built-in rules. Reads the CRS in place (RASP_CRS_DIR or
//! ../shared/crs); a missing CRS fails the test.

mod common;

use common::*;
use http::{Request, StatusCode};
use rasp_tower::{CrsOptions, RaspLayer, Rules, TRANSACTION_ID_HEADER};
use tower::ServiceBuilder;

fn get(addr: std::net::SocketAddr, path: &str) -> Request<ClientBody> {
    Request::get(format!("http://{addr}{path}"))
        .header("user-agent", "rasp-test/1.0")
        .header("accept", "text/html")
        .body(empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crs_blocks_attacks_and_passes_benign_requests() {
    tokio::time::timeout(TEST_TIMEOUT * 3, async {
        let rules = Rules::from_crs_dir_with(crs_dir(), &CrsOptions::new().paranoia(1))
            .unwrap_or_else(|e| {
                panic!(
                    "{e}: {}",
                    e.compile_errors()
                        .map(|e| e.to_string())
                        .unwrap_or_default()
                )
            });
        let seen = Seen::default();
        let server = serve(
            ServiceBuilder::new()
                .layer(RaspLayer::new(rules))
                .service(echo(seen.clone())),
        )
        .await;
        let c = client();
        let mut wrong = Vec::new();
        for path in [
            "/?id=1%27%20OR%20%271%27%3D%271",
            "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
            "/?file=..%2F..%2F..%2Fetc%2Fpasswd",
            "/?cmd=%3Bcat%20%2Fetc%2Fpasswd",
        ] {
            let (status, headers, _) = send(&c, get(server.addr, path)).await;
            if status != StatusCode::FORBIDDEN || !headers.contains_key(TRANSACTION_ID_HEADER) {
                wrong.push(format!("attack {path} -> {status}"));
            }
        }
        for path in [
            "/",
            "/index.html?page=2&sort=asc",
            "/search?q=tower+middleware",
        ] {
            let (status, _, _) = send(&c, get(server.addr, path)).await;
            if status != StatusCode::OK {
                wrong.push(format!("benign {path} -> {status}"));
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    })
    .await
    .expect("test timed out");
}

/// `CrsOptions`: paranoia becomes CRS's SecAction 900000, and
/// DetectionOnly is read last, so extra text cannot turn blocking back on.
#[test]
fn crs_options_paranoia_and_detection_only() {
    use crs_compiler::ir::action::EngineMode;
    let opts = CrsOptions::new()
        .paranoia(3)
        .detection_only(true)
        .after("extra", "SecRuleEngine On\n");
    let rules = Rules::from_crs_dir_with(crs_dir(), &opts).unwrap();
    assert_eq!(
        rules.compiled().settings.rule_engine,
        EngineMode::DetectionOnly
    );
    assert!(rules.compiled().rule(900000).is_some());
    let plain = Rules::from_crs_dir(crs_dir()).unwrap();
    assert_eq!(plain.compiled().settings.rule_engine, EngineMode::On);
    assert!(plain.compiled().rule(900000).is_none());
}
