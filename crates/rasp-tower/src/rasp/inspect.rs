//! One exchange through the engine: the order of the phases, the
//! buffering of bodies, and what happens on a block or an engine failure.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::net::{IpAddr, Ipv4Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes};
use crs_compiler::ir::action::{Disruptive, EngineMode};
use http::{header, HeaderValue, Request, Response, StatusCode, Version};
use http_body::{Body, Frame};
use rasp_core::{FailMode, Intervention, InterventionKind, Transaction, Verdict};
use tower_service::Service;

use super::body::{to_bytes_frame, RaspBody, RaspRequestBody, Rest};
use super::decision::{Decision, Outcome};
use super::layer::RaspConfig;
use super::reload::Loaded;
use crate::audit::should_log;
use crate::client::LocalAddr;
use crate::telemetry;

/// The response header that carries the transaction id of a block.
pub const TRANSACTION_ID_HEADER: &str = "x-rasp-transaction-id";

/// The response header listing the ids of the logging rules that matched,
/// sent only when enabled through
/// [`RaspLayer::dangerous`](super::RaspLayer::dangerous) (test setups such
/// as the CRS regression suite over HTTP).
pub const MATCHED_RULES_HEADER: &str = "x-rasp-matched-rules";

/// Go on, or answer with a block.
pub(crate) enum Step {
    Continue,
    Block(Block),
}

/// An answer the layer gives instead of the inner service's.
#[derive(Debug)]
pub(crate) struct Block {
    status: StatusCode,
    location: Option<String>,
    outcome: Outcome,
}

impl Block {
    fn from_intervention(i: &Intervention) -> Block {
        let status = StatusCode::from_u16(i.status).unwrap_or(StatusCode::FORBIDDEN);
        // A rule could say `status:200`; a block must not look like success.
        let status = if status.is_success() || status.is_informational() {
            StatusCode::FORBIDDEN
        } else {
            status
        };
        let (location, outcome) = match &i.kind {
            InterventionKind::Redirect { url } => (Some(url.clone()), Outcome::Blocked),
            InterventionKind::EngineError => (None, Outcome::Error),
            _ => (None, Outcome::Blocked),
        };
        let status = if location.is_none() && status.is_redirection() {
            StatusCode::FORBIDDEN
        } else {
            status
        };
        Block {
            status,
            location,
            outcome,
        }
    }

    fn local(status: StatusCode, outcome: Outcome) -> Block {
        Block {
            status,
            location: None,
            outcome,
        }
    }
}

/// The state of one exchange.
pub(crate) struct Inspection {
    loaded: Arc<Loaded>,
    config: Arc<RaspConfig>,
    tx: Box<Transaction>,
    /// The engine panicked: it is not called again for this exchange.
    poisoned: bool,
    /// Time spent in the engine, per phase 1–5.
    phase_time: [Duration; 5],
    client_ip: Option<IpAddr>,
}

fn protocol(v: Version) -> &'static [u8] {
    match v {
        Version::HTTP_09 => b"HTTP/0.9",
        Version::HTTP_10 => b"HTTP/1.0",
        Version::HTTP_2 => b"HTTP/2.0",
        Version::HTTP_3 => b"HTTP/3.0",
        _ => b"HTTP/1.1",
    }
}

impl Inspection {
    /// Creates the transaction and feeds it the connection, the request
    /// line and the headers (phase 1 is not run yet).
    pub(crate) fn start<B>(
        loaded: Arc<Loaded>,
        config: Arc<RaspConfig>,
        req: &Request<B>,
    ) -> Inspection {
        let tx = Box::new(loaded.engine.transaction());
        let mut this = Inspection {
            loaded,
            config,
            tx,
            poisoned: false,
            phase_time: [Duration::ZERO; 5],
            client_ip: None,
        };
        let client = this.config.trusted.resolve(req.extensions(), req.headers());
        this.client_ip = client.map(|c| c.ip);
        let local = req.extensions().get::<LocalAddr>().map(|l| l.0);
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let (cip, cport) = client.map_or((unspecified, 0), |c| (c.ip, c.port));
        let (sip, sport) = local.map_or((unspecified, 0), |l| (l.ip(), l.port()));
        // HTTP/2 requests carry the target in absolute form; the engine
        // wants what an HTTP/1.1 request line would carry. An HTTP/1.1
        // absolute-form target is kept as sent (REQUEST_LINE, CRS 920100).
        let target = match req.uri().path_and_query() {
            Some(pq) if req.version() == Version::HTTP_2 => pq.as_str().to_string(),
            _ => req.uri().to_string(),
        };
        let method = req.method().as_str().as_bytes();
        let version = protocol(req.version());
        let authority = req.uri().authority().map(|a| a.as_str());
        let has_host = req.headers().contains_key(header::HOST);
        let path = req.uri().path();
        let config = Arc::clone(&this.config);
        let excluded: Vec<&super::exclusion::RouteExclusion> = config
            .exclusions
            .iter()
            .filter(|e| e.matches(req.method(), path))
            .collect();
        this.engine(1, |tx| {
            tx.process_connection(cip, cport, sip, sport);
            tx.process_uri(method, target.as_bytes(), version);
            if let (false, Some(a)) = (has_host, &authority) {
                // HTTP/2 has `:authority` instead of Host; rules (CRS
                // 920280) expect a Host header.
                tx.add_request_header(b"Host", a.as_bytes());
            }
            for (name, value) in req.headers() {
                tx.add_request_header(name.as_str().as_bytes(), value.as_bytes());
            }
            for t in excluded.iter().flat_map(|e| e.targets()) {
                tx.remove_target_by_id(t.ids.0, t.ids.1, t.variable, t.key.as_deref());
            }
            for &(start, end) in excluded.iter().flat_map(|e| e.ids()) {
                tx.remove_rule_by_id(start, end);
            }
        });
        this
    }

    /// Runs `f` on the transaction, timing it and containing a panic.
    fn engine<T>(&mut self, phase: u8, f: impl FnOnce(&mut Transaction) -> T) -> Option<T> {
        if self.poisoned {
            return None;
        }
        let started = Instant::now();
        let tx = &mut self.tx;
        let out = catch_unwind(AssertUnwindSafe(|| f(tx)));
        // Summed per phase and recorded once in `finish`: a phase is fed in
        // several calls (headers, each body chunk).
        if let Some(t) = self
            .phase_time
            .get_mut(usize::from(phase).saturating_sub(1))
        {
            *t += started.elapsed();
        }
        match out {
            Ok(v) => Some(v),
            Err(_) => {
                // The engine promises never to panic; if it does anyway the
                // transaction is in an unknown state and the fail mode
                // decides (audit: issue 6, "fail closed, never panic").
                self.poisoned = true;
                tracing::error!(phase, "rasp engine panicked");
                None
            }
        }
    }

    fn verdict(&mut self, phase: u8, f: impl FnOnce(&mut Transaction) -> Verdict) -> Step {
        match self.engine(phase, f) {
            Some(Verdict::Interrupt(i)) => Step::Block(Block::from_intervention(&i)),
            Some(_) => Step::Continue,
            None if self.poisoned && self.config.fail_mode == FailMode::Closed => Step::Block(
                Block::local(StatusCode::INTERNAL_SERVER_ERROR, Outcome::Error),
            ),
            None => Step::Continue,
        }
    }

    /// Phase 1.
    pub(crate) fn request_headers(&mut self) -> Step {
        self.verdict(1, |tx| tx.process_request_headers())
    }

    /// Phases 2–5 around the inner service.
    pub(crate) async fn run<S, ReqB, ResB>(
        mut self,
        req: Request<ReqB>,
        mut inner: S,
    ) -> Result<Response<RaspBody<ResB>>, S::Error>
    where
        S: Service<Request<RaspRequestBody<ReqB>>, Response = Response<ResB>>,
        ReqB: Body,
        ReqB::Data: Buf,
        ResB: Body,
        ResB::Data: Buf,
    {
        let (parts, body) = req.into_parts();
        let settings = &self.loaded.engine.rules().settings;
        let multipart = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.as_bytes().get(..10))
            .is_some_and(|p| p.eq_ignore_ascii_case(b"multipart/"));
        // Without files, `SecRequestBodyNoFilesLimit` is the binding limit:
        // reading past it only to reject (or truncate) later would hold up
        // to `SecRequestBodyLimit` (13 MB by default) per request.
        let body_limit = if multipart {
            settings.request_body_limit
        } else {
            settings
                .request_body_limit
                .min(settings.request_body_no_files_limit)
        };
        let body_access = settings.request_body_access;
        let res_limit = settings.response_body_limit;
        let (prefix, rest) = if body_access && !self.poisoned {
            match self.read_request_body(body, body_limit).await {
                Ok(pr) => pr,
                Err(block) => return Ok(self.block_response(block)),
            }
        } else {
            (VecDeque::new(), Some(Box::pin(body)))
        };
        if let Step::Block(b) = self.verdict(2, |tx| tx.process_request_body()) {
            return Ok(self.block_response(b));
        }

        let res = match inner
            .call(Request::from_parts(
                parts,
                RaspRequestBody::new(prefix, rest),
            ))
            .await
        {
            Ok(res) => res,
            Err(e) => {
                self.finish(StatusCode::INTERNAL_SERVER_ERROR, Some(Outcome::Error));
                return Err(e);
            }
        };

        let (parts, body) = res.into_parts();
        let status = parts.status.as_u16();
        let version = protocol(parts.version);
        let headers = &parts.headers;
        self.engine(3, |tx| {
            for (name, value) in headers {
                tx.add_response_header(name.as_str().as_bytes(), value.as_bytes());
            }
        });
        if let Step::Block(b) = self.verdict(3, |tx| tx.process_response_headers(status, version)) {
            return Ok(self.block_response(b));
        }
        let mut body: Rest<ResB> = Box::pin(body);
        let mut prefix = VecDeque::new();
        let mut body_done = false;
        if self
            .engine(4, |tx| tx.wants_response_body())
            .unwrap_or(false)
        {
            let mut seen: u64 = 0;
            // A streaming response (server-sent text, a slow generator)
            // must not be held back forever: after the body timeout what
            // has arrived is inspected and the rest streams through.
            let deadline = tokio::time::Instant::now() + self.config.body_timeout;
            // Up to the limit; past it the engine applies the limit action
            // (Reject interrupts, ProcessPartial inspects the prefix) and
            // the rest streams through uninspected.
            while seen <= res_limit {
                let next =
                    tokio::time::timeout_at(deadline, poll_fn(|cx| body.as_mut().poll_frame(cx)))
                        .await;
                let frame = match next {
                    Err(_) => break,
                    Ok(None) => {
                        body_done = true;
                        break;
                    }
                    Ok(Some(Err(_))) => {
                        return Ok(self.block_response(Block::local(
                            StatusCode::BAD_GATEWAY,
                            Outcome::Error,
                        )));
                    }
                    Ok(Some(Ok(f))) => to_bytes_frame(f),
                };
                if let Some(data) = frame.data_ref() {
                    seen = seen.saturating_add(data.len() as u64);
                    if let Step::Block(b) = self.verdict(4, |tx| tx.append_response_body(data)) {
                        return Ok(self.block_response(b));
                    }
                }
                prefix.push_back(frame);
            }
        }
        if let Step::Block(b) = self.verdict(4, |tx| tx.process_response_body()) {
            return Ok(self.block_response(b));
        }
        self.finish(parts.status, None);
        let mut parts = parts;
        if let Some(v) = self.matched_rules_header() {
            parts.headers.insert(MATCHED_RULES_HEADER, v);
        }
        let rest = (!body_done).then_some(body);
        Ok(Response::from_parts(parts, RaspBody::new(prefix, rest)))
    }

    /// Buffers the request body for the engine, up to its limit. Returns
    /// the frames read and the unread rest (if any).
    async fn read_request_body<B>(
        &mut self,
        body: B,
        limit: u64,
    ) -> Result<(VecDeque<Frame<Bytes>>, Option<Rest<B>>), Block>
    where
        B: Body,
        B::Data: Buf,
    {
        let mut body: Rest<B> = Box::pin(body);
        let deadline = tokio::time::Instant::now() + self.config.body_timeout;
        let mut prefix = VecDeque::new();
        let mut seen: u64 = 0;
        loop {
            if seen > limit {
                // ProcessPartial (or DetectionOnly): the engine has what it
                // inspects; the rest goes to the service unread by us.
                return Ok((prefix, Some(body)));
            }
            let next =
                tokio::time::timeout_at(deadline, poll_fn(|cx| body.as_mut().poll_frame(cx))).await;
            let frame = match next {
                Err(_) => return Err(Block::local(StatusCode::REQUEST_TIMEOUT, Outcome::Blocked)),
                Ok(None) => return Ok((prefix, None)),
                Ok(Some(Err(_))) => {
                    return Err(Block::local(StatusCode::BAD_REQUEST, Outcome::Error))
                }
                Ok(Some(Ok(frame))) => to_bytes_frame(frame),
            };
            if let Some(data) = frame.data_ref() {
                seen = seen.saturating_add(data.len() as u64);
                if let Step::Block(b) = self.verdict(2, |tx| tx.append_request_body(data)) {
                    return Err(b);
                }
            }
            prefix.push_back(frame);
        }
    }

    /// The answer for a block: its status, a short text with the
    /// transaction id and nothing about the rules.
    pub(crate) fn block_response<B>(&mut self, block: Block) -> Response<RaspBody<B>> {
        let id = self.tx.id().to_string();
        let reason = block.status.canonical_reason().unwrap_or("Blocked");
        let text = format!(
            "{} {}\ntransaction id: {}\n",
            block.status.as_u16(),
            reason,
            id
        );
        let mut res = Response::new(RaspBody::text(text));
        *res.status_mut() = block.status;
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Ok(v) = HeaderValue::from_str(&id) {
            h.insert(TRANSACTION_ID_HEADER, v);
        }
        if let Some(Ok(loc)) = block.location.as_deref().map(HeaderValue::from_str) {
            h.insert(header::LOCATION, loc);
        }
        self.finish(block.status, Some(block.outcome));
        if let Some(v) = self.matched_rules_header() {
            res.headers_mut().insert(MATCHED_RULES_HEADER, v);
        }
        res
    }

    /// The ids of the logging rules that matched, when the layer was told
    /// to expose them (never by default: it tells attackers what fired).
    fn matched_rules_header(&self) -> Option<HeaderValue> {
        if !self.config.expose_matched_rules || self.poisoned {
            return None;
        }
        let mut ids: Vec<u32> = Vec::new();
        for m in self.tx.matches().iter().filter(|m| m.log) {
            if !ids.contains(&m.id) {
                ids.push(m.id);
            }
        }
        let text = ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        HeaderValue::from_str(&text).ok()
    }

    /// In DetectionOnly: did a rule match whose disruptive action would
    /// have stopped the request? Looked up in the rules because the match
    /// record's `disruptive` flag is only set when the action took effect.
    fn would_have_blocked(&self) -> bool {
        let rules = self.loaded.engine.rules();
        self.tx.matches().iter().any(|m| {
            m.disruptive
                || rules.rule(m.id).is_some_and(|r| {
                    matches!(
                        r.actions.disruptive,
                        Some(Disruptive::Deny | Disruptive::Drop | Disruptive::Redirect(_))
                    )
                })
        })
    }

    /// Phase 5, metrics and the audit record.
    fn finish(&mut self, status: StatusCode, decided: Option<Outcome>) {
        self.engine(5, |tx| tx.process_logging());
        let outcome = match decided {
            Some(o) => o,
            None if self.poisoned => Outcome::Error,
            None if self.tx.engine_mode() == EngineMode::DetectionOnly
                && self.would_have_blocked() =>
            {
                Outcome::Detected
            }
            None => Outcome::Passed,
        };
        telemetry::request(outcome.as_str());
        for (phase, t) in ["1", "2", "3", "4", "5"].into_iter().zip(self.phase_time) {
            if !t.is_zero() {
                metrics::histogram!(telemetry::ENGINE_SECONDS, "phase" => phase)
                    .record(t.as_secs_f64());
            }
        }
        let decision = Decision {
            outcome,
            status: status.as_u16(),
            transaction_id: self.tx.id(),
            rule_id: self.tx.intervention().and_then(|i| i.rule_id),
            matches: if self.poisoned {
                &[]
            } else {
                self.tx.matches()
            },
            client_ip: self.client_ip,
        };
        self.config.on_decision.0.on_decision(&decision);
        if self.poisoned {
            // Nothing read from a transaction that panicked is trusted.
            return;
        }
        // Only rules that log: `nolog` rules are plumbing (CRS 901xxx
        // initialisation, body-processor switches), not detections.
        for m in self.tx.matches().iter().filter(|m| m.log || m.auditlog) {
            metrics::counter!(telemetry::RULE_HITS, "rule_id" => m.id.to_string()).increment(1);
        }
        for (var, direction) in [
            ("blocking_inbound_anomaly_score", "inbound"),
            ("blocking_outbound_anomaly_score", "outbound"),
        ] {
            if let Some(score) = self
                .tx
                .tx_var(var)
                .and_then(|v| v.trim().parse::<f64>().ok())
            {
                metrics::histogram!(telemetry::ANOMALY_SCORE, "direction" => direction)
                    .record(score);
            }
        }
        if let Some(audit) = &self.config.audit {
            let settings = &self.loaded.engine.rules().settings;
            let relevant = self.tx.is_relevant() || self.tx.intervention().is_some();
            if should_log(
                settings.audit_engine,
                relevant,
                status.as_u16(),
                self.loaded.relevant_status.as_ref(),
            ) {
                audit.push_record(self.tx.audit_record(), status.as_u16(), outcome.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rasp::{RaspLayer, Rules};

    fn inspection(mode: FailMode) -> Inspection {
        let rules = Rules::from_seclang("empty", "SecRuleEngine On\n").unwrap();
        let layer = RaspLayer::new(rules).fail_mode(mode);
        let handle = layer.reload_handle();
        let loaded = handle.current.load_full();
        let config = Arc::new(crate::rasp::layer::RaspConfig::for_tests(mode));
        Inspection::start(loaded, config, &Request::new(()))
    }

    /// An engine panic is contained: fail closed answers 500, fail open
    /// passes, and the engine is not called again for that exchange.
    #[test]
    fn engine_panic_follows_the_fail_mode() {
        let mut closed = inspection(FailMode::Closed);
        match closed.verdict(1, |_| panic!("engine bug")) {
            Step::Block(b) => assert_eq!(b.status, StatusCode::INTERNAL_SERVER_ERROR),
            Step::Continue => panic!("fail closed let the request through"),
        }
        let mut calls = 0;
        let _ = closed.verdict(2, |_| {
            calls += 1;
            Verdict::Continue
        });
        assert_eq!(calls, 0);
        let mut open = inspection(FailMode::Open);
        assert!(matches!(
            open.verdict(1, |_| panic!("engine bug")),
            Step::Continue
        ));
        let res: Response<RaspBody<http_body_util::Empty<Bytes>>> =
            open.block_response(Block::local(StatusCode::BAD_REQUEST, Outcome::Error));
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_block_never_looks_like_success() {
        let rules = Rules::from_seclang(
            "t",
            r#"SecRule ARGS "@contains x" "id:5,phase:1,deny,status:200""#,
        )
        .unwrap();
        let engine = rasp_core::Engine::new(Arc::clone(rules.compiled()));
        let mut tx = engine.transaction();
        tx.process_uri(b"GET", b"/?a=x", b"HTTP/1.1");
        if let Verdict::Interrupt(i) = tx.process_request_headers() {
            assert_eq!(Block::from_intervention(&i).status, StatusCode::FORBIDDEN);
        } else {
            panic!("rule 5 did not interrupt");
        }
    }
}
