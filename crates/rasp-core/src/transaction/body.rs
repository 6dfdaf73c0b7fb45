//! Body buffering, limits and body processors.

use crs_compiler::ir::action::{BodyProcessor, EngineMode};
use crs_compiler::ir::settings::BodyLimitAction;

use super::Transaction;
use crate::record::{InterventionKind, Verdict};
use crate::variables::{FileEntry, Pair};

/// Buffers request body bytes, enforcing `SecRequestBodyLimit`.
pub(super) fn append_request(tx: &mut Transaction, chunk: &[u8]) -> Verdict {
    if !tx.state.request_body_access {
        // The body is neither buffered nor inspected; only its length counts.
        tx.ex.request_body_length += chunk.len();
        return Verdict::Continue;
    }
    let limit = usize::try_from(tx.state.request_body_limit).unwrap_or(usize::MAX);
    let room = limit.saturating_sub(tx.ex.request_body.len());
    if chunk.len() > room {
        tx.ex.request_body.extend_from_slice(&chunk[..room]);
        tx.ex.request_body_length = tx.ex.request_body.len();
        return over_limit(tx, "Request body is larger than the configured limit");
    }
    tx.ex.request_body.extend_from_slice(chunk);
    tx.ex.request_body_length = tx.ex.request_body.len();
    Verdict::Continue
}

/// A body over its limit: `Reject` interrupts with 413 when the engine is
/// `On`; otherwise (and with `ProcessPartial`) the prefix is inspected.
fn over_limit(tx: &mut Transaction, why: &str) -> Verdict {
    let action = tx.engine.rules.settings.request_body_limit_action;
    if action == BodyLimitAction::Reject && tx.state.mode == EngineMode::On {
        tx.request_body_over_limit = true;
        tx.interrupt(413, InterventionKind::BodyLimit, 2, format!("{why} ({}).", tx.state.request_body_limit));
        if let Some(i) = &tx.intervention {
            return Verdict::Interrupt(i.clone());
        }
    }
    tx.request_body_truncated = true;
    tx.ex.inbound_data_error = true;
    Verdict::Continue
}

fn set_error(tx: &mut Transaction, msg: String) {
    tx.ex.reqbody_error = true;
    tx.ex.reqbody_processor_error = true;
    tx.ex.reqbody_error_msg = msg.clone().into_bytes();
    tx.ex.reqbody_processor_error_msg = msg.into_bytes();
}

/// Runs the body processor before phase 2. Returns a verdict when a limit
/// interrupts the transaction.
pub(super) fn finish_request(tx: &mut Transaction) -> Option<Verdict> {
    if tx.request_body_over_limit {
        return tx.intervention.clone().map(Verdict::Interrupt);
    }
    if !tx.state.request_body_access {
        return None;
    }
    let processor = tx.state.body_processor;
    tx.ex.reqbody_processor = processor;
    let settings = &tx.engine.rules.settings;
    let no_files_limit = usize::try_from(settings.request_body_no_files_limit).unwrap_or(usize::MAX);
    if processor != Some(BodyProcessor::Multipart) && tx.ex.request_body.len() > no_files_limit {
        let why = "Request body no files data length is larger than the configured limit";
        if let Verdict::Interrupt(i) = over_limit(tx, why) {
            return Some(Verdict::Interrupt(i));
        }
    }
    let body = std::mem::take(&mut tx.ex.request_body);
    match processor {
        Some(BodyProcessor::UrlEncoded) => {
            let parsed = super::processors::parse_urlencoded(&body, tx.engine.rules.settings.argument_separator);
            if parsed.invalid_encoding {
                tx.ex.urlencoded_error = true;
            }
            tx.ex.args_post = parsed.args.into_iter().map(|(n, v)| Pair::new(n, v)).collect();
            tx.ex.request_body_visible = true;
        }
        Some(BodyProcessor::Multipart) => {
            let ct = tx.ex.request_header("content-type").unwrap_or_default().to_vec();
            let m = super::processors::parse_multipart(&ct, &body);
            apply_multipart(tx, m);
        }
        Some(BodyProcessor::Json) => {
            let depth = tx.engine.rules.settings.request_body_json_depth_limit;
            match super::processors::parse_json(&body, depth) {
                Ok(args) => tx.ex.args_post = args.into_iter().map(|(n, v)| Pair::new(n, v)).collect(),
                Err(e) => {
                    if !body.is_empty() {
                        set_error(tx, format!("JSON parser error: {e}"))
                    }
                }
            }
        }
        Some(BodyProcessor::Xml) => match super::processors::parse_xml(&body) {
            Ok(doc) => {
                tx.ex.xml_text = Some(doc.text);
                tx.ex.xml_attributes = doc.attributes;
            }
            Err(e) => set_error(tx, format!("XML parser error: {e}")),
        },
        _ => {}
    }
    if tx.state.force_request_body_variable {
        tx.ex.request_body_visible = true;
    }
    tx.ex.request_body = body;
    let args = tx.ex.args_get.len() + tx.ex.args_post.len();
    if args > tx.engine.rules.settings.arguments_limit as usize {
        // SecArgumentsLimit: ModSecurity stops adding arguments; rule
        // 200007 (test-setup.conf) reports it via &ARGS.
        let keep = (tx.engine.rules.settings.arguments_limit as usize).saturating_sub(tx.ex.args_get.len());
        tx.ex.args_post.truncate(keep);
    }
    None
}

fn apply_multipart(tx: &mut Transaction, m: super::processors::MultipartResult) {
    let f = &mut tx.ex.multipart;
    f.boundary_quoted = m.flags.boundary_quoted;
    f.boundary_whitespace = m.flags.boundary_whitespace;
    f.data_before = m.flags.data_before;
    f.data_after = m.flags.data_after;
    f.header_folding = m.flags.header_folding;
    f.lf_line = m.flags.lf_line;
    f.crlf_lf_lines = m.flags.crlf_lf_lines;
    f.missing_semicolon = m.flags.missing_semicolon;
    f.invalid_quoting = m.flags.invalid_quoting;
    f.invalid_part = m.flags.invalid_part;
    f.invalid_header_folding = m.flags.invalid_header_folding;
    f.file_limit_exceeded = m.flags.file_limit_exceeded;
    f.unmatched_boundary = m.flags.unmatched_boundary;
    f.strict_error = m.flags.strict_error;
    tx.ex.args_post = m.args.into_iter().map(|(n, v)| Pair::new(n, v)).collect();
    let mut combined = 0;
    for file in m.files {
        combined += file.size;
        tx.ex.files.push(FileEntry { field: file.name, filename: file.filename, size: file.size });
    }
    tx.ex.files_combined_size = combined;
    tx.ex.multipart_part_headers = m.part_headers.into_iter().map(|(n, v)| Pair::new(n, v)).collect();
    tx.ex.multipart_names = m.names;
    tx.ex.multipart_filenames = m.filenames;
    if let Some(e) = m.error {
        set_error(tx, format!("Multipart parsing error: {e}"));
    }
}

/// True when the response body is inspected (access on, listed type).
pub(super) fn response_body_inspectable(tx: &Transaction) -> bool {
    if !tx.state.response_body_access {
        return false;
    }
    let Some(ct) = tx.ex.response_header("content-type") else {
        return false;
    };
    let mime = ct.split(|&b| b == b';').next().unwrap_or_default();
    let mime = String::from_utf8_lossy(mime).trim().to_ascii_lowercase();
    tx.engine.rules.settings.response_body_mime_types.iter().any(|m| *m == mime)
}

/// Buffers response body bytes up to `SecResponseBodyLimit`.
pub(super) fn append_response(tx: &mut Transaction, chunk: &[u8]) -> Verdict {
    if !response_body_inspectable(tx) {
        return Verdict::Continue;
    }
    let limit = usize::try_from(tx.state.response_body_limit).unwrap_or(usize::MAX);
    let room = limit.saturating_sub(tx.ex.response_body.len());
    if chunk.len() > room {
        tx.ex.response_body.extend_from_slice(&chunk[..room]);
        tx.ex.outbound_data_error = true;
        let action = tx.engine.rules.settings.response_body_limit_action;
        if action == BodyLimitAction::Reject && tx.state.mode == EngineMode::On {
            tx.response_body_over_limit = true;
            tx.interrupt(500, InterventionKind::BodyLimit, 4, "Response body too large.".to_string());
            if let Some(i) = &tx.intervention {
                return Verdict::Interrupt(i.clone());
            }
        }
        return Verdict::Continue;
    }
    tx.ex.response_body.extend_from_slice(chunk);
    Verdict::Continue
}

/// Makes the buffered response body visible to phase 4.
pub(super) fn finish_response(tx: &mut Transaction) {
    tx.ex.response_body_visible = response_body_inspectable(tx);
}
