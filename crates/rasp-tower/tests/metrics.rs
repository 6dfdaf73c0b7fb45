//! The metrics of issue 6 are recorded through the `metrics` facade (one
//! global recorder, so this file has a single test).

mod common;

use common::*;
use http::{Request, StatusCode};
use metrics_exporter_prometheus::PrometheusBuilder;
use rasp_tower::{AuditLog, RaspLayer, RateLimitLayer, Rules};
use tower::ServiceBuilder;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_rule_hits_and_engine_time_are_recorded() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).expect("first recorder");
        let rules = Rules::from_seclang(
            "metrics.conf",
            r#"
SecAuditEngine On
SecRule ARGS "@contains attack" "id:1001,phase:2,deny,log,auditlog"
SecRule ARGS "@contains quiet" "id:1002,phase:2,pass,nolog,noauditlog"
"#,
        )
        .unwrap();
        let audit = AuditLog::builder()
            .capacity(1024)
            .writer(std::io::sink())
            .unwrap();
        let svc = ServiceBuilder::new()
            .layer(RateLimitLayer::new().per_minute(60).burst(4))
            .layer(RaspLayer::new(rules).audit_log(audit.clone()))
            .service(echo(Seen::default()));
        let server = serve(svc).await;
        let c = client();
        let req = |p: &str| {
            Request::get(format!("http://{}{p}", server.addr))
                .body(empty())
                .unwrap()
        };
        assert_eq!(send(&c, req("/?a=attack")).await.0, StatusCode::FORBIDDEN);
        assert_eq!(send(&c, req("/?a=quiet")).await.0, StatusCode::OK);
        assert_eq!(send(&c, req("/")).await.0, StatusCode::OK);
        assert_eq!(send(&c, req("/")).await.0, StatusCode::OK);
        assert_eq!(send(&c, req("/")).await.0, StatusCode::TOO_MANY_REQUESTS);
        tokio::task::spawn_blocking(move || audit.flush())
            .await
            .unwrap();
        let text = handle.render();
        for expected in [
            r#"rasp_requests_total{outcome="blocked"} 1"#,
            r#"rasp_requests_total{outcome="passed"} 3"#,
            r#"rasp_requests_total{outcome="rate_limited"} 1"#,
            r#"rasp_rule_hits_total{rule_id="1001"} 1"#,
            r#"rasp_audit_written_total 4"#,
            r#"rasp_engine_seconds_count{phase="1"}"#,
            r#"rasp_engine_seconds_count{phase="5"}"#,
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        // `nolog` rules are not counted as hits.
        assert!(!text.contains(r#"rule_id="1002""#), "{text}");
    })
    .await
    .expect("test timed out");
}
