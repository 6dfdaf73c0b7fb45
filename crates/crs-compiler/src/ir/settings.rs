//! Engine settings from configuration directives (`SecRuleEngine`,
//! `SecRequestBodyLimit`, …).

use std::path::PathBuf;

use super::action::{AuditEngine, EngineMode};

/// What happens when a body exceeds its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BodyLimitAction {
    /// Reject the request (413) or response (500). The default: fail closed.
    #[default]
    Reject,
    /// Inspect the part within the limit and pass the rest uninspected.
    ProcessPartial,
}

/// Engine settings collected from the configuration directives.
///
/// # Defaults
/// - `rule_engine`: `On` (ModSecurity's recommended file says
///   `DetectionOnly`; rasp protects by default)
/// - `request_body_access`: `true`
/// - `request_body_limit`: 13,107,200 bytes
/// - `request_body_no_files_limit`: 131,072 bytes
/// - `request_body_limit_action`: `Reject`
/// - `request_body_json_depth_limit`: 512
/// - `arguments_limit`: 1,000
/// - `response_body_access`: `false`
/// - `response_body_limit`: 524,288 bytes, action `ProcessPartial`
/// - `response_body_mime_types`: `text/plain`, `text/html`
/// - `argument_separator`: `&`; `cookie_format`: 0
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Settings {
    /// `SecRuleEngine`.
    pub rule_engine: EngineMode,
    /// `SecRequestBodyAccess`.
    pub request_body_access: bool,
    /// `SecRequestBodyLimit` (bytes).
    pub request_body_limit: u64,
    /// `SecRequestBodyNoFilesLimit` (bytes).
    pub request_body_no_files_limit: u64,
    /// `SecRequestBodyLimitAction`.
    pub request_body_limit_action: BodyLimitAction,
    /// `SecRequestBodyJsonDepthLimit`.
    pub request_body_json_depth_limit: u32,
    /// `SecArgumentsLimit`.
    pub arguments_limit: u32,
    /// `SecResponseBodyAccess`.
    pub response_body_access: bool,
    /// `SecResponseBodyLimit` (bytes).
    pub response_body_limit: u64,
    /// `SecResponseBodyLimitAction`.
    pub response_body_limit_action: BodyLimitAction,
    /// `SecResponseBodyMimeType` (lower-case, without parameters).
    pub response_body_mime_types: Vec<String>,
    /// `SecArgumentSeparator`.
    pub argument_separator: u8,
    /// `SecCookieFormat` (0 or 1).
    pub cookie_format: u8,
    /// `SecUnicodeMapFile` path and code page, if given.
    pub unicode_map: Option<(PathBuf, u32)>,
    /// `SecAuditEngine`.
    pub audit_engine: AuditEngine,
    /// `SecAuditLog`.
    pub audit_log: Option<PathBuf>,
    /// `SecAuditLogParts`.
    pub audit_log_parts: String,
    /// `SecAuditLogRelevantStatus` (a regex, as written).
    pub audit_log_relevant_status: Option<String>,
    /// `SecAuditLogFormat` (`JSON` or `Native`).
    pub audit_log_format: String,
    /// `SecAuditLogType`.
    pub audit_log_type: String,
    /// `SecComponentSignature`s.
    pub component_signatures: Vec<String>,
    /// `SecCollectionTimeout` (seconds).
    pub collection_timeout: u64,
    /// `SecPcreMatchLimit` (accepted; rasp's regex engine is linear-time).
    pub pcre_match_limit: Option<u64>,
    /// Directives that only configure files or logging and do not change
    /// evaluation (`SecTmpDir`, `SecDebugLog`, `SecUploadDir`, …), kept as
    /// (name, arguments) for reports.
    pub passive: Vec<(String, Vec<String>)>,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            rule_engine: EngineMode::On,
            request_body_access: true,
            request_body_limit: 13_107_200,
            request_body_no_files_limit: 131_072,
            request_body_limit_action: BodyLimitAction::Reject,
            request_body_json_depth_limit: 512,
            arguments_limit: 1000,
            response_body_access: false,
            response_body_limit: 524_288,
            response_body_limit_action: BodyLimitAction::ProcessPartial,
            response_body_mime_types: vec!["text/plain".into(), "text/html".into()],
            argument_separator: b'&',
            cookie_format: 0,
            unicode_map: None,
            audit_engine: AuditEngine::RelevantOnly,
            audit_log: None,
            audit_log_parts: "ABIJDEFHZ".into(),
            audit_log_relevant_status: None,
            audit_log_format: "JSON".into(),
            audit_log_type: "Serial".into(),
            component_signatures: Vec::new(),
            collection_timeout: 3600,
            pcre_match_limit: None,
            passive: Vec::new(),
        }
    }
}
