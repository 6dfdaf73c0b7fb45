//! Body buffering, limits and body processors.

use crs_compiler::ir::action::{BodyProcessor, EngineMode};
use crs_compiler::ir::settings::BodyLimitAction;

use super::Transaction;
use crate::record::{InterventionKind, Verdict};
use crate::variables::{FileEntry, Pair};

/// Buffers request body bytes, enforcing `SecRequestBodyLimit`.
pub(super) fn append_request(tx: &mut Transaction, chunk: &[u8]) -> Verdict {
    if tx.request_body_over_limit {
        // Refused already: nothing more is read.
        if let Some(i) = tx.intervention.clone() {
            return Verdict::Interrupt(i);
        }
    }
    if !tx.state.request_body_access {
        // The body is neither buffered nor inspected; only its length counts.
        tx.ex.request_body_length += chunk.len();
        return Verdict::Continue;
    }
    let limit = usize::try_from(tx.state.request_body_limit).unwrap_or(usize::MAX);
    let room = limit.saturating_sub(tx.ex.request_body.len());
    if chunk.len() > room {
        return keep_over_limit(
            tx,
            chunk,
            room,
            ("Request body is larger than the configured limit", limit),
        );
    }
    // Over `SecRequestBodyNoFilesLimit` with `Reject`: phase 2 would answer
    // 413 without reading the body, so the rest is neither buffered nor
    // waited for (a layer stops reading it). Otherwise the limit is
    // checked when phase 2 starts. v2 counts every byte of a body no
    // multipart parser reads as it stores it.
    if let Some(limit) = no_files_limit(tx).filter(|_| limit_rejects(tx)) {
        let room = limit.saturating_sub(tx.ex.request_body.len());
        if chunk.len() > room {
            return keep_over_limit(tx, chunk, room, (NO_FILES_OVER_LIMIT, limit));
        }
    }
    tx.ex.request_body.extend_from_slice(chunk);
    tx.ex.request_body_length = tx.ex.request_body.len();
    Verdict::Continue
}

const NO_FILES_OVER_LIMIT: &str =
    "Request body no files data length is larger than the configured limit";

/// Applies the limit action to `chunk`, whose bytes past the first `room`
/// are over a limit (`why`), and buffers those first bytes unless the
/// request was refused: as ModSecurity v2 (`msc_reqbody.c`, whose limit
/// check comes before the store), a rejected request keeps none of the
/// chunk that crossed the limit. A 1 MiB body sent in one piece was
/// otherwise copied up to the 128 KiB limit only to be refused, half the
/// instructions of the bench's refusal.
fn keep_over_limit(tx: &mut Transaction, chunk: &[u8], room: usize, why: (&str, usize)) -> Verdict {
    let verdict = over_limit(tx, why);
    if !matches!(verdict, Verdict::Interrupt(_)) {
        tx.ex
            .request_body
            .extend_from_slice(chunk.get(..room).unwrap_or_default());
    }
    tx.ex.request_body_length = tx.ex.request_body.len();
    verdict
}

/// `SecRequestBodyNoFilesLimit` for this body as it arrives; `None` for a
/// multipart body, whose parser counts the bytes that are not file data
/// (checked in [`finish_request`]).
fn no_files_limit(tx: &Transaction) -> Option<usize> {
    let limit = tx.engine.rules.settings.request_body_no_files_limit;
    (tx.state.body_processor != Some(BodyProcessor::Multipart))
        .then(|| usize::try_from(limit).unwrap_or(usize::MAX))
}

/// Whether going over a body limit rejects the request (`Reject`, engine
/// `On`).
fn limit_rejects(tx: &Transaction) -> bool {
    tx.engine.rules.settings.request_body_limit_action == BodyLimitAction::Reject
        && tx.state.mode == EngineMode::On
}

/// A body over its limit: `Reject` interrupts with 413 when the engine is
/// `On`; otherwise (and with `ProcessPartial`) the prefix is inspected.
/// `why` is the message and the limit it names: ModSecurity v2 names the
/// limit the body is over (`SecRequestBodyNoFilesLimit`'s for "no files"
/// data).
fn over_limit(tx: &mut Transaction, (why, limit): (&str, usize)) -> Verdict {
    if limit_rejects(tx) {
        tx.request_body_over_limit = true;
        let message = format!("{why} ({limit}).");
        if let Some(v) = reject(tx, 413, 2, message) {
            return v;
        }
    }
    tx.request_body_truncated = true;
    tx.ex.inbound_data_error = true;
    Verdict::Continue
}

/// Interrupts for a body over its limit (`Reject`); the verdict, unless
/// the transaction may not be interrupted.
fn reject(tx: &mut Transaction, status: u16, phase: u8, message: String) -> Option<Verdict> {
    tx.interrupt(status, InterventionKind::BodyLimit, phase, message);
    tx.intervention.clone().map(Verdict::Interrupt)
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
    if let Some(limit) = no_files_limit(tx).filter(|&limit| tx.ex.request_body.len() > limit) {
        if let Verdict::Interrupt(i) = over_limit(tx, (NO_FILES_OVER_LIMIT, limit)) {
            return Some(Verdict::Interrupt(i));
        }
    }
    let body = std::mem::take(&mut tx.ex.request_body);
    if let Some(p) = processor {
        let settings = &tx.engine.rules.settings;
        let limits = crate::body::BodyLimits {
            argument_separator: settings.argument_separator,
            arguments_limit: settings.arguments_limit as usize,
            json_depth_limit: settings.request_body_json_depth_limit as usize,
            ..crate::body::BodyLimits::default()
        };
        let kind = match p {
            BodyProcessor::UrlEncoded => crate::body::Processor::UrlEncoded,
            BodyProcessor::Multipart => crate::body::Processor::Multipart,
            BodyProcessor::Json => crate::body::Processor::Json,
            _ => crate::body::Processor::Xml,
        };
        let ct = tx.ex.request_header("content-type").map(<[u8]>::to_vec);
        let spare = &mut tx.spare_pairs;
        let parsed = crate::body::process_into(
            kind,
            ct.as_deref(),
            &body,
            &limits,
            tx.ex.args_get.len(),
            &mut || super::spare::arg_buffers(spare),
        );
        // A multipart body's "no files" data (part headers and fields) is
        // counted by its parser; v2 checks it against the limit when the
        // body ends (`modsecurity_request_body_end`).
        let no_files = parsed.multipart.as_ref().map(|m| m.no_files_length);
        apply_parsed(tx, parsed);
        let limit = tx.engine.rules.settings.request_body_no_files_limit;
        if no_files.is_some_and(|length| length > limit) {
            let limit = usize::try_from(limit).unwrap_or(usize::MAX);
            if let Verdict::Interrupt(i) = over_limit(tx, (NO_FILES_OVER_LIMIT, limit)) {
                tx.ex.request_body = body;
                return Some(Verdict::Interrupt(i));
            }
        }
    }
    // ModSecurity v2 exposes the raw body as REQUEST_BODY for URLENCODED,
    // and, when forced (ctl:forceRequestBodyVariable, CRS 901340), for
    // bodies no processor parsed or whose processor failed.
    if tx.state.force_request_body_variable && (processor.is_none() || tx.ex.reqbody_error) {
        tx.ex.request_body_visible = true;
    }
    tx.ex.request_body = body;
    None
}

/// Moves what the body processor produced into the transaction variables.
fn apply_parsed(tx: &mut Transaction, parsed: crate::body::ParsedBody) {
    let ex = &mut tx.ex;
    if parsed.urlencoded_error {
        ex.urlencoded_error = true;
    }
    // REQUEST_BODY is only filled by the URLENCODED processor in v2.
    if parsed.processor == crate::body::Processor::UrlEncoded {
        ex.request_body_visible = true;
    }
    ex.args_post = parsed
        .args
        .into_iter()
        .map(|(n, v)| Pair::new(n, v))
        .collect();
    if let Some(m) = parsed.multipart {
        ex.multipart = Some(m.flags);
        ex.files_combined_size = usize::try_from(m.files_combined_size()).unwrap_or(usize::MAX);
        for part in &m.parts {
            for line in &part.header_lines {
                ex.multipart_part_headers
                    .push(Pair::new(part.name.clone(), line.clone()));
            }
            if let Some(filename) = &part.filename {
                ex.files.push(FileEntry {
                    field: part.name.clone(),
                    filename: filename.clone(),
                    size: usize::try_from(part.size).unwrap_or(usize::MAX),
                });
            }
        }
        ex.multipart_names = m.last_name.into_iter().collect();
        ex.multipart_filenames = m.last_filename.into_iter().collect();
    }
    if let Some(doc) = parsed.xml {
        // A broken document without a complete root element has no `/*`
        // value in v2 (libxml2 built no root).
        ex.xml_text = if doc.has_root {
            Some(doc.root_text)
        } else {
            None
        };
        ex.xml_attributes = doc.attribute_values;
    }
    if let Some(e) = parsed.error {
        ex.reqbody_error = true;
        ex.reqbody_error_msg = e.msg.into_bytes();
        tx.body_error_log = Some(e.log);
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
    tx.engine
        .rules
        .settings
        .response_body_mime_types
        .contains(&mime)
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
            if let Some(v) = reject(tx, 500, 4, "Response body too large.".to_string()) {
                return v;
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
