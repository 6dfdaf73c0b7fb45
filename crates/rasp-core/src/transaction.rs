//! One HTTP exchange through the engine.

use std::net::IpAddr;

use crate::engine::Engine;
use crate::record::{Intervention, MatchRecord, Verdict};

/// One HTTP exchange. Feed it the connection, the request line, headers and
/// body, then the response, calling the `process_*` method of each phase in
/// order. A phase that was skipped is run by the next one called.
#[derive(Debug)]
pub struct Transaction {
    engine: Engine,
    matches: Vec<MatchRecord>,
    intervention: Option<Intervention>,
}

impl Transaction {
    pub(crate) fn new(engine: Engine) -> Transaction {
        Transaction { engine, matches: Vec::new(), intervention: None }
    }

    /// Client and server addresses.
    pub fn process_connection(&mut self, client: IpAddr, client_port: u16, server: IpAddr, server_port: u16) {
        let _ = (&self.engine, client, client_port, server, server_port);
    }

    /// The raw request line: method, target (as sent) and protocol.
    pub fn process_uri(&mut self, method: &[u8], uri: &[u8], protocol: &[u8]) {
        let _ = (method, uri, protocol);
    }

    /// One request header, in arrival order.
    pub fn add_request_header(&mut self, name: &[u8], value: &[u8]) {
        let _ = (name, value);
    }

    /// Phase 1.
    pub fn process_request_headers(&mut self) -> Verdict {
        Verdict::Continue
    }

    /// Appends request body bytes (may be called many times).
    pub fn append_request_body(&mut self, chunk: &[u8]) -> Verdict {
        let _ = chunk;
        Verdict::Continue
    }

    /// Phase 2.
    pub fn process_request_body(&mut self) -> Verdict {
        Verdict::Continue
    }

    /// One response header.
    pub fn add_response_header(&mut self, name: &[u8], value: &[u8]) {
        let _ = (name, value);
    }

    /// Phase 3.
    pub fn process_response_headers(&mut self, status: u16, protocol: &[u8]) -> Verdict {
        let _ = (status, protocol);
        Verdict::Continue
    }

    /// Appends response body bytes.
    pub fn append_response_body(&mut self, chunk: &[u8]) -> Verdict {
        let _ = chunk;
        Verdict::Continue
    }

    /// Phase 4.
    pub fn process_response_body(&mut self) -> Verdict {
        Verdict::Continue
    }

    /// Phase 5 (always runs; never interrupts).
    pub fn process_logging(&mut self) {}

    /// Every matched rule so far, in order.
    pub fn matches(&self) -> &[MatchRecord] {
        &self.matches
    }

    /// The interruption, if one was decided.
    pub fn intervention(&self) -> Option<&Intervention> {
        self.intervention.as_ref()
    }
}
