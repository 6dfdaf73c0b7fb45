//! One HTTP exchange through the engine.

mod address;
mod body;
mod gate;
mod path;
mod phase;
mod prelude;
mod request;
mod rule;
mod spare;
mod state;
mod stores_each;
mod sweep_literals;
mod transform_cache;
mod value_memo;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crs_compiler::ir::action::EngineMode;
use crs_compiler::ir::rule::{Phase, Rule};

use crate::engine::Engine;
use crate::record::{Intervention, InterventionKind, MatchRecord, Verdict};
use crate::shortcut::{HeaderPresence, HeaderSide};
use crate::variables::{now_us, Collections, ExchangeData, MatchedState, Pair};

use gate::GateCache;
pub(crate) use gate::SweepChains;
pub(crate) use prelude::Prelude;
use state::TxState;
use transform_cache::TransformCache;

/// One HTTP exchange. Feed it the connection, the request line, headers and
/// body, then the response, calling the `process_*` method of each phase in
/// order. A phase that was skipped is run by the next one called, so a
/// caller without a body may go straight to `process_response_headers`.
#[derive(Debug)]
pub struct Transaction {
    pub(crate) engine: Engine,
    pub(crate) ex: ExchangeData,
    pub(crate) cols: Collections,
    pub(crate) matched: MatchedState,
    pub(crate) state: TxState,
    pub(crate) matches: Vec<MatchRecord>,
    pub(crate) intervention: Option<Intervention>,
    /// Highest phase run so far (0 = none).
    pub(crate) phase_done: u8,
    pub(crate) started_us: u128,
    pub(crate) highest_severity: u8,
    gates: GateCache,
    tcache: TransformCache,
    /// Chain heads evaluated so far, by link index: only recorded for the
    /// engine's reachability probes (see `crate::reach`).
    pub(crate) reached: Option<Vec<bool>>,
    /// Buffers reused by every rule evaluation (see `rule.rs`), boxed: a
    /// rule takes them out and puts them back, and moving the buffers
    /// themselves (and dropping the empty ones left in their place) cost
    /// about 55 instructions per evaluated rule. `None` only during an
    /// evaluation.
    hit_scratch: Option<Box<rule::HitScratch>>,
    values_scratch: std::cell::RefCell<Vec<crate::variables::Value<'static>>>,
    /// What the operator said of the value being checked (see
    /// `eval::operator::run`), reused for every check.
    op_outcome: std::cell::RefCell<crate::eval::operator::OpOutcome>,
    /// Expanded `setvar` keys and values (see `action::setvar`).
    pub(crate) expand_scratch: Vec<u8>,
    /// Emptied header pairs of an earlier exchange, for this one's headers
    /// (see `spare`).
    spare_pairs: Vec<Pair>,
    /// Where the TX members the shortcuts read are (see `shortcut`).
    tx_positions: std::cell::RefCell<crate::shortcut::TxPositions>,
    /// The `stores_each` heads whose stores were left out, nothing but
    /// their next links reading them (see `shortcut::unread`): what
    /// [`Transaction::tx_var`] works those members out from.
    unwritten: Vec<Arc<Rule>>,
    /// libinjection's answers for values checked before (see
    /// `operator::detect_sqli::memo`).
    sqli_memo: std::cell::RefCell<crate::operator::detect_sqli::memo::SqliMemo>,
    /// The thread's memory of answers for values seen before, held while
    /// a phase runs (see `value_memo`).
    memo: std::cell::RefCell<value_memo::ValueMemo>,
    /// Collections loaded with `initcol` (name, key), saved at the end.
    persistent: Vec<(String, Vec<u8>)>,
    /// `expirevar` requests: (collection, variable, seconds).
    expirations: Vec<(String, Vec<u8>, u64)>,
    /// Request body bytes beyond the limit were dropped (ProcessPartial).
    pub(crate) request_body_truncated: bool,
    /// Request body exceeded its limit with `Reject`.
    pub(crate) request_body_over_limit: bool,
    pub(crate) response_body_over_limit: bool,
    /// The error-log line of a body processor failure (v2 writes one).
    pub(crate) body_error_log: Option<String>,
    /// Which of the headers the engine's shortcuts watch this exchange
    /// has (see `shortcut::HeaderWatch`): the request's from when phase 1
    /// starts, the response's from when phase 3 starts, until a header of
    /// that side is added.
    header_presence: HeaderPresence,
    /// Rules that could not be evaluated this phase (operator errors).
    eval_errors: std::cell::RefCell<Vec<String>>,
    /// Every evaluation error of the transaction, for the audit record.
    errors: Vec<String>,
}

static TX_COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_id(started_us: u128) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789@-";
    let n = TX_COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut v = (started_us as u64).rotate_left(17) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut out = Vec::with_capacity(24);
    for _ in 0..11 {
        out.push(ALPHABET[(v & 63) as usize]);
        v >>= 6;
    }
    push_counter(&mut out, n);
    out
}

/// Appends `n` as `format!("{n:013}")` would, into `out` itself (a
/// formatted string was an allocation per transaction).
fn push_counter(out: &mut Vec<u8>, n: u64) {
    use std::io::Write;
    // Writing to a vector cannot fail.
    let _ = write!(out, "{n:013}");
}

impl Transaction {
    pub(crate) fn new(engine: Engine) -> Transaction {
        let started_us = now_us();
        let state = TxState::new(&engine.rules.settings);
        let tables = spare::take();
        tables.gates.set_build_time(engine.config.gate_build_time);
        let ex = ExchangeData {
            unique_id: unique_id(started_us),
            remote_addr: b"0.0.0.0".to_vec(),
            server_addr: b"0.0.0.0".to_vec(),
            request_headers: tables.request_headers,
            response_headers: tables.response_headers,
            ..ExchangeData::default()
        };
        Transaction {
            engine,
            ex,
            cols: Collections::with_tx(tables.tx),
            matched: tables.matched,
            state,
            matches: Vec::new(),
            intervention: None,
            phase_done: 0,
            started_us,
            highest_severity: 255,
            gates: tables.gates,
            tcache: tables.tcache,
            reached: None,
            hit_scratch: Some(tables.hits),
            values_scratch: std::cell::RefCell::new(tables.values),
            op_outcome: std::cell::RefCell::default(),
            expand_scratch: tables.expand,
            spare_pairs: tables.pairs,
            tx_positions: std::cell::RefCell::new(tables.tx_positions),
            sqli_memo: std::cell::RefCell::new(tables.sqli),
            unwritten: tables.unwritten,
            memo: std::cell::RefCell::default(),
            persistent: Vec::new(),
            expirations: Vec::new(),
            request_body_truncated: false,
            request_body_over_limit: false,
            response_body_over_limit: false,
            body_error_log: None,
            header_presence: HeaderPresence::default(),
            eval_errors: std::cell::RefCell::default(),
            errors: Vec::new(),
        }
    }

    /// The transaction's unique id (`UNIQUE_ID`), also used in audit logs
    /// and in the blocked response.
    pub fn id(&self) -> &str {
        std::str::from_utf8(&self.ex.unique_id).unwrap_or("-")
    }

    /// Client and server addresses.
    pub fn process_connection(
        &mut self,
        client: IpAddr,
        client_port: u16,
        server: IpAddr,
        server_port: u16,
    ) {
        address::write_ip(&mut self.ex.remote_addr, client);
        self.ex.remote_port = client_port;
        address::write_ip(&mut self.ex.server_addr, server);
        self.ex.server_port = server_port;
    }

    /// Sets `SERVER_NAME` (otherwise taken from the Host header).
    pub fn set_server_name(&mut self, name: &str) {
        self.ex.server_name = name.as_bytes().to_vec();
    }

    /// The raw request line: method, target (as sent) and protocol.
    pub fn process_uri(&mut self, method: &[u8], uri: &[u8], protocol: &[u8]) {
        request::set_request_line(&mut self.ex, method, uri, protocol);
    }

    /// One request header, in arrival order.
    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        let pair = self.pair(name, value);
        self.ex.request_headers.push(pair);
        let watch = self.engine.shortcuts.header_watch();
        watch.forget(HeaderSide::Request, &mut self.header_presence);
    }

    /// Phase 1: request line and headers.
    pub fn process_request_headers(&mut self) -> Verdict {
        self.run_up_to(Phase::RequestHeaders)
    }

    /// Appends request body bytes (may be called many times). Enforces
    /// `SecRequestBodyLimit`: with `Reject` the verdict interrupts with 413
    /// (in `On` mode); with `ProcessPartial` the excess is not inspected.
    pub fn append_request_body(&mut self, chunk: &[u8]) -> Verdict {
        if self.phase_done < 1 {
            if let v @ Verdict::Interrupt(_) = self.run_up_to(Phase::RequestHeaders) {
                return v;
            }
        }
        body::append_request(self, chunk)
    }

    /// Phase 2: the request body.
    pub fn process_request_body(&mut self) -> Verdict {
        self.run_up_to(Phase::RequestBody)
    }

    /// One response header.
    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        let pair = self.pair(name, value);
        self.ex.response_headers.push(pair);
        let watch = self.engine.shortcuts.header_watch();
        watch.forget(HeaderSide::Response, &mut self.header_presence);
    }

    /// Phase 3: response status and headers.
    pub fn process_response_headers(&mut self, status: u16, protocol: &[u8]) -> Verdict {
        self.ex.response_status = Some(status);
        self.ex.response_protocol = protocol.to_vec();
        self.run_up_to(Phase::ResponseHeaders)
    }

    /// True when phase 4 will look at the response body: response body
    /// access is on and the response content type is listed in
    /// `SecResponseBodyMimeType`. Callers may skip buffering otherwise.
    pub fn wants_response_body(&self) -> bool {
        body::response_body_inspectable(self)
    }

    /// Appends response body bytes (up to `SecResponseBodyLimit`).
    pub fn append_response_body(&mut self, chunk: &[u8]) -> Verdict {
        body::append_response(self, chunk)
    }

    /// Phase 4: the response body.
    pub fn process_response_body(&mut self) -> Verdict {
        self.run_up_to(Phase::ResponseBody)
    }

    /// Phase 5 (always runs; never interrupts).
    pub fn process_logging(&mut self) {
        let _ = self.run_up_to(Phase::Logging);
        self.save_collections();
    }

    /// Every matched rule so far, in order.
    pub fn matches(&self) -> &[MatchRecord] {
        &self.matches
    }

    /// The interruption, if one was decided.
    pub fn intervention(&self) -> Option<&Intervention> {
        self.intervention.as_ref()
    }

    /// The engine mode in force for this transaction (after `ctl:ruleEngine`).
    pub fn engine_mode(&self) -> EngineMode {
        self.state.mode
    }

    /// Removes rules by id for this transaction only (as
    /// `ctl:ruleRemoveById` does), e.g. for per-route exclusions.
    pub fn remove_rule_by_id(&mut self, start: u32, end: u32) {
        self.state.removed_rules.push(state::RuleSelector::Ids(vec![
            crs_compiler::ir::action::IdRange { start, end },
        ]));
    }

    /// Stops rules `start..=end` from inspecting `variable` (or only its
    /// member `key`) for this transaction only, as
    /// `ctl:ruleRemoveTargetById` does: e.g. keep SQLi rules off a
    /// `password` argument on one route.
    pub fn remove_target_by_id(
        &mut self,
        start: u32,
        end: u32,
        variable: crs_compiler::ir::variable::Variable,
        key: Option<&str>,
    ) {
        use crs_compiler::ir::variable::{Exclusion, Selector};
        let selector = match key {
            Some(k) => Selector::Key(k.to_ascii_lowercase()),
            None => Selector::All,
        };
        self.apply_ctl(&crs_compiler::ir::action::Ctl::RuleRemoveTargetById(
            vec![crs_compiler::ir::action::IdRange { start, end }],
            Exclusion { variable, selector },
        ));
    }

    /// The value of `TX:name`, if set (e.g. `blocking_inbound_anomaly_score`).
    pub fn tx_var(&self, name: &str) -> Option<String> {
        match self.cols.tx.get(name.as_bytes()) {
            Some(v) => Some(String::from_utf8_lossy(v).into_owned()),
            None => self
                .unwritten_member(name.as_bytes())
                .map(|v| String::from_utf8_lossy(&v).into_owned()),
        }
    }

    /// The error-log line ModSecurity v2 writes when the request body
    /// processor fails (e.g. `Multipart parsing error: …`), if it failed.
    pub fn body_error_log_line(&self) -> Option<&str> {
        self.body_error_log.as_deref()
    }

    /// Evaluation errors so far (a rule that could not be evaluated). With
    /// [`crate::FailMode::Closed`] (the default) the first one interrupts
    /// the transaction with 500 when the engine is `On`.
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    /// Whether the transaction is relevant for `SecAuditEngine RelevantOnly`
    /// (a rule with `auditlog` matched).
    pub fn is_relevant(&self) -> bool {
        self.state.relevant
    }

    /// Runs every phase up to and including `target` that has not run yet.
    fn run_up_to(&mut self, target: Phase) -> Verdict {
        for p in Phase::ALL {
            if p.number() <= self.phase_done {
                continue;
            }
            if p.number() > target.number() {
                break;
            }
            self.phase_done = p.number();
            if p == Phase::RequestHeaders {
                request::prepare_request(self);
                let watch = self.engine.shortcuts.header_watch();
                let headers = &self.ex.request_headers;
                watch.learn(HeaderSide::Request, headers, &mut self.header_presence);
            }
            if p == Phase::RequestBody {
                let decoded = path::apache_decoded_path(&self.ex.path);
                request::set_path(&mut self.ex, decoded);
                if let Some(v) = body::finish_request(self) {
                    return v;
                }
            }
            if p == Phase::ResponseHeaders {
                let watch = self.engine.shortcuts.header_watch();
                let headers = &self.ex.response_headers;
                watch.learn(HeaderSide::Response, headers, &mut self.header_presence);
            }
            if p == Phase::ResponseBody {
                body::finish_response(self);
            }
            // After an interruption only the logging phase runs.
            if self.intervention.is_some() && p != Phase::Logging {
                continue;
            }
            // The multipart lists are filled when phase 2 starts.
            let watch = self.engine.shortcuts.header_watch();
            watch.learn_lists(&self.ex, &mut self.header_presence);
            self.run_phase(p);
            self.handle_eval_errors(p);
        }
        match &self.intervention {
            Some(i) if target != Phase::Logging => Verdict::Interrupt(i.clone()),
            _ => Verdict::Continue,
        }
    }

    /// Records an interruption that no rule decided (limits, engine errors).
    fn interrupt(&mut self, status: u16, kind: InterventionKind, phase: u8, message: String) {
        if self.intervention.is_none() && self.state.mode == EngineMode::On {
            self.intervention = Some(Intervention {
                status,
                rule_id: None,
                kind,
                phase,
                message,
            });
        }
    }
}

impl Drop for Transaction {
    fn drop(&mut self) {
        spare::give(spare::Tables {
            gates: std::mem::take(&mut self.gates),
            tcache: std::mem::take(&mut self.tcache),
            tx: std::mem::take(&mut self.cols.tx),
            hits: self.hit_scratch.take().unwrap_or_default(),
            values: std::mem::take(self.values_scratch.get_mut()),
            matched: std::mem::take(&mut self.matched),
            expand: std::mem::take(&mut self.expand_scratch),
            pairs: std::mem::take(&mut self.spare_pairs),
            request_headers: std::mem::take(&mut self.ex.request_headers),
            response_headers: std::mem::take(&mut self.ex.response_headers),
            // In the reverse of the order the next transaction takes them
            // (see `spare::give`).
            arguments: [
                std::mem::take(&mut self.ex.args_post),
                std::mem::take(&mut self.ex.cookies),
                std::mem::take(&mut self.ex.args_get),
            ],
            tx_positions: std::mem::take(self.tx_positions.get_mut()),
            sqli: std::mem::take(self.sqli_memo.get_mut()),
            unwritten: std::mem::take(&mut self.unwritten),
        });
    }
}

impl Transaction {
    /// A header pair with its own copies of `name` and `value`, in the
    /// buffers of a spare pair when there is one.
    fn pair(&mut self, name: &[u8], value: &[u8]) -> Pair {
        let mut pair = Pair::take_spare(&mut self.spare_pairs);
        pair.name.extend_from_slice(name);
        pair.value.extend_from_slice(value);
        pair
    }

    pub(crate) fn collections_mut(&mut self) -> &mut Collections {
        &mut self.cols
    }

    pub(crate) fn apply_ctl(&mut self, ctl: &crs_compiler::ir::action::Ctl) {
        self.state.apply_ctl(ctl);
        // REQBODY_PROCESSOR shows the processor chosen so far.
        self.ex.reqbody_processor = self.state.body_processor;
    }
}

impl Transaction {
    /// `initcol`: loads `collection:key` from the engine's store.
    pub(crate) fn init_collection(&mut self, collection: &str, key: Vec<u8>) {
        let timeout = std::time::Duration::from_secs(self.engine.rules.settings.collection_timeout);
        let vars = self.engine.store.load(collection, &key, timeout);
        if let Some(c) = self.cols.by_name_mut(collection) {
            c.replace(vars);
        }
        self.persistent.retain(|(c, _)| c != collection);
        self.persistent.push((collection.to_string(), key));
    }

    /// `expirevar`: the variable disappears `seconds` after the save.
    pub(crate) fn expire_var(&mut self, collection: &str, var: Vec<u8>, seconds: i64) {
        self.expirations.push((
            collection.to_string(),
            var,
            u64::try_from(seconds).unwrap_or(0),
        ));
    }

    fn save_collections(&mut self) {
        for (collection, key) in std::mem::take(&mut self.persistent) {
            let Some(c) = self.cols.by_name_mut(&collection) else {
                continue;
            };
            let vars = c.entries().to_vec();
            let expire: Vec<(Vec<u8>, std::time::Duration)> = self
                .expirations
                .iter()
                .filter(|(c, _, _)| *c == collection)
                .map(|(_, v, s)| (v.clone(), std::time::Duration::from_secs(*s)))
                .collect();
            self.engine.store.save(&collection, &key, vars, &expire);
        }
    }
}

impl Transaction {
    /// Applies the fail mode to errors of the phase that just ran.
    fn handle_eval_errors(&mut self, phase: Phase) {
        let errors = std::mem::take(&mut *self.eval_errors.borrow_mut());
        if errors.is_empty() {
            return;
        }
        tracing::warn!(transaction = self.id(), phase = phase.number(), errors = ?errors, "rule evaluation failed");
        let first = errors.first().cloned().unwrap_or_default();
        self.errors.extend(errors);
        if self.engine.config.fail_mode == crate::FailMode::Closed && phase != Phase::Logging {
            self.interrupt(500, InterventionKind::EngineError, phase.number(), first);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::push_counter;

    #[test]
    fn the_counter_is_written_as_thirteen_digits_or_more() {
        for n in [
            0,
            7,
            1_234_567_890_123,
            9_999_999_999_999,
            10_000_000_000_000,
            u64::MAX,
        ] {
            let mut out = b"id".to_vec();
            push_counter(&mut out, n);
            assert_eq!(out, format!("id{n:013}").into_bytes(), "{n}");
        }
    }
}
