//! Configuration directives that set engine [`Settings`]
//! (`SecRuleEngine`, `SecRequestBodyLimit`, …), and directives that only
//! configure files or logging, which are kept in [`Settings::passive`].
//!
//! [`Settings`]: crate::ir::settings::Settings
//! [`Settings::passive`]: crate::ir::settings::Settings::passive

use std::path::PathBuf;

use super::suggest;
use super::State;
use crate::error::{CompileError, CompileErrorKind};
use crate::ir::action::{AuditEngine, EngineMode};
use crate::ir::settings::BodyLimitAction;
use crate::parse::directive::Directive;

/// Directives that configure paths, debug logging, uploads, persistent
/// storage and other things that do not change how rules evaluate. They
/// are accepted (so stock configurations load) and kept for reports.
const PASSIVE: &[&str] = &[
    "secauditlog2",
    "secauditlogdirmode",
    "secauditlogfilemode",
    "secauditlogstoragedir",
    "secchrootdir",
    "secconnengine",
    "seccontentinjection",
    "secdatadir",
    "secdebuglog",
    "secdebugloglevel",
    "secdisablebackendcompression",
    "secgeolookupdb",
    "secgsblookupdb",
    "sechashengine",
    "sechashkey",
    "sechashparam",
    "sechashmethodpm",
    "sechashmethodrx",
    "sechttpblkey",
    "secinterceptonerror",
    "secpcrematchlimitrecursion",
    "secreadstatelimit",
    "secwritestatelimit",
    "secremoterules",
    "secremoterulesfailaction",
    "secrequestbodyinmemorylimit",
    "secruleinheritance",
    "secruleperftime",
    "secsensorid",
    "secserversignature",
    "secstatusengine",
    "secstreaminbodyinspection",
    "secstreamoutbodyinspection",
    "sectmpdir",
    "sectmpsaveuploadedfiles",
    "secuploaddir",
    "secuploadfilelimit",
    "secuploadfilemode",
    "secuploadkeepfiles",
    "secwebappid",
    "secxmlexternalentity",
    "seccachetransformations",
    "secguardianlog",
];

/// Directive names as documented, for "did you mean" hints.
const DIRECTIVES: &[&str] = &[
    "SecRule",
    "SecAction",
    "SecMarker",
    "SecDefaultAction",
    "SecRuleEngine",
    "SecRequestBodyAccess",
    "SecResponseBodyAccess",
    "SecRequestBodyLimit",
    "SecRequestBodyNoFilesLimit",
    "SecRequestBodyLimitAction",
    "SecRequestBodyJsonDepthLimit",
    "SecArgumentsLimit",
    "SecResponseBodyLimit",
    "SecResponseBodyLimitAction",
    "SecResponseBodyMimeType",
    "SecResponseBodyMimeTypesClear",
    "SecAuditEngine",
    "SecAuditLog",
    "SecAuditLogParts",
    "SecAuditLogRelevantStatus",
    "SecAuditLogFormat",
    "SecAuditLogType",
    "SecArgumentSeparator",
    "SecCookieFormat",
    "SecUnicodeMapFile",
    "SecRuleRemoveById",
    "SecRuleRemoveByTag",
    "SecRuleRemoveByMsg",
    "SecRuleUpdateTargetById",
    "SecRuleUpdateTargetByTag",
    "SecRuleUpdateTargetByMsg",
    "SecRuleUpdateActionById",
    "SecComponentSignature",
    "SecCollectionTimeout",
    "SecPcreMatchLimit",
    "SecPcreMatchLimitRecursion",
    "SecTmpDir",
    "SecDataDir",
    "SecDebugLog",
    "SecDebugLogLevel",
    "SecUploadDir",
    "SecUploadKeepFiles",
    "SecUploadFileMode",
    "SecUploadFileLimit",
    "SecAuditLogStorageDir",
    "SecAuditLogDirMode",
    "SecAuditLogFileMode",
    "SecStatusEngine",
    "SecTmpSaveUploadedFiles",
    "SecRequestBodyInMemoryLimit",
    "SecXmlExternalEntity",
    "Include",
    "IncludeOptional",
];

fn one(d: &Directive) -> Result<&str, CompileError> {
    match d.args.as_slice() {
        [a] => Ok(a.text.as_str()),
        args => Err(CompileError::new(
            CompileErrorKind::Syntax,
            format!("{} takes one argument, got {}", d.name(), args.len()),
        )),
    }
}

fn bad(d: &Directive, msg: String) -> CompileError {
    let loc = d
        .args
        .first()
        .map_or_else(|| d.location(), |a| a.location());
    CompileError::new(CompileErrorKind::BadArgument, msg).at(loc)
}

fn on_off(d: &Directive) -> Result<bool, CompileError> {
    let v = one(d)?;
    match v.to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(bad(d, format!("{} takes On or Off, got {v:?}", d.name()))),
    }
}

fn number(d: &Directive) -> Result<u64, CompileError> {
    let v = one(d)?;
    v.trim()
        .parse()
        .map_err(|_| bad(d, format!("{} needs a number, got {v:?}", d.name())))
}

fn limit_action(d: &Directive) -> Result<BodyLimitAction, CompileError> {
    let v = one(d)?;
    match v.to_ascii_lowercase().as_str() {
        "reject" => Ok(BodyLimitAction::Reject),
        "processpartial" => Ok(BodyLimitAction::ProcessPartial),
        _ => Err(bad(
            d,
            format!("{} takes Reject or ProcessPartial, got {v:?}", d.name()),
        )),
    }
}

/// Applies a settings directive; unknown directives are errors.
pub(crate) fn apply(state: &mut State, d: &Directive, lower: &str) {
    if let Err(e) = apply_inner(state, d, lower) {
        state.error_or_skip(d, vec![e]);
    }
}

fn apply_inner(state: &mut State, d: &Directive, lower: &str) -> Result<(), CompileError> {
    let s = &mut state.settings;
    match lower {
        "secruleengine" => {
            let v = one(d)?;
            s.rule_engine = EngineMode::parse(v).ok_or_else(|| {
                bad(
                    d,
                    format!("SecRuleEngine takes On, Off or DetectionOnly, got {v:?}"),
                )
            })?;
        }
        "secrequestbodyaccess" => s.request_body_access = on_off(d)?,
        "secresponsebodyaccess" => s.response_body_access = on_off(d)?,
        "secrequestbodylimit" => s.request_body_limit = number(d)?,
        "secrequestbodynofileslimit" => s.request_body_no_files_limit = number(d)?,
        "secrequestbodylimitaction" => s.request_body_limit_action = limit_action(d)?,
        "secresponsebodylimitaction" => s.response_body_limit_action = limit_action(d)?,
        "secresponsebodylimit" => s.response_body_limit = number(d)?,
        "secrequestbodyjsondepthlimit" => {
            s.request_body_json_depth_limit = u32::try_from(number(d)?)
                .map_err(|_| bad(d, "JSON depth limit too large".into()))?
        }
        "secargumentslimit" => {
            s.arguments_limit =
                u32::try_from(number(d)?).map_err(|_| bad(d, "arguments limit too large".into()))?
        }
        "secresponsebodymimetype" => {
            if d.args.is_empty() {
                return Err(CompileError::new(
                    CompileErrorKind::Syntax,
                    "SecResponseBodyMimeType needs at least one MIME type",
                ));
            }
            // The first use replaces the built-in list; later ones add to it.
            if !state.mime_types_set {
                s.response_body_mime_types.clear();
                state.mime_types_set = true;
            }
            for a in &d.args {
                let t = a
                    .text
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                if !t.is_empty() && !s.response_body_mime_types.contains(&t) {
                    s.response_body_mime_types.push(t);
                }
            }
        }
        "secresponsebodymimetypesclear" => {
            s.response_body_mime_types.clear();
            state.mime_types_set = true;
        }
        "secauditengine" => {
            let v = one(d)?;
            s.audit_engine = AuditEngine::parse(v).ok_or_else(|| {
                bad(
                    d,
                    format!("SecAuditEngine takes On, Off or RelevantOnly, got {v:?}"),
                )
            })?;
        }
        "secauditlog" => s.audit_log = Some(PathBuf::from(one(d)?)),
        "secauditlogparts" => s.audit_log_parts = one(d)?.to_string(),
        "secauditlogrelevantstatus" => {
            let v = one(d)?;
            // A PCRE pattern matched against the status code, not against
            // request data: lookaround is allowed (the seed's own
            // "^(?:5|4(?!04))" needs it), so it is validated with
            // fancy-regex, which the audit writer uses to evaluate it.
            fancy_regex::Regex::new(v).map_err(|e| {
                CompileError::new(
                    CompileErrorKind::Regex,
                    format!("bad SecAuditLogRelevantStatus regex: {e}"),
                )
            })?;
            s.audit_log_relevant_status = Some(v.to_string());
        }
        "secauditlogformat" => {
            let v = one(d)?;
            if !v.eq_ignore_ascii_case("json") && !v.eq_ignore_ascii_case("native") {
                return Err(bad(
                    d,
                    format!("SecAuditLogFormat takes JSON or Native, got {v:?}"),
                ));
            }
            s.audit_log_format = v.to_string();
        }
        "secauditlogtype" => {
            let v = one(d)?;
            if !["serial", "concurrent", "https"].contains(&v.to_ascii_lowercase().as_str()) {
                return Err(bad(
                    d,
                    format!("SecAuditLogType takes Serial, Concurrent or HTTPS, got {v:?}"),
                ));
            }
            s.audit_log_type = v.to_string();
        }
        "secargumentseparator" => {
            let v = one(d)?;
            match v.as_bytes() {
                [c] => s.argument_separator = *c,
                _ => {
                    return Err(bad(
                        d,
                        format!("SecArgumentSeparator takes a single character, got {v:?}"),
                    ))
                }
            }
        }
        "seccookieformat" => {
            let v = one(d)?;
            s.cookie_format = match v.trim() {
                "0" => 0,
                "1" => 1,
                _ => return Err(bad(d, format!("SecCookieFormat takes 0 or 1, got {v:?}"))),
            };
        }
        "secunicodemapfile" => match d.args.as_slice() {
            [path, page] => {
                let code_page = page.text.trim().parse::<u32>().map_err(|_| {
                    bad(
                        d,
                        format!(
                            "SecUnicodeMapFile needs a code page number, got {:?}",
                            page.text
                        ),
                    )
                })?;
                let p = PathBuf::from(&path.text);
                let p = if p.is_absolute() {
                    p
                } else {
                    d.base_dir().join(p)
                };
                s.unicode_map = Some((p, code_page));
            }
            args => {
                return Err(CompileError::new(
                    CompileErrorKind::Syntax,
                    format!(
                        "SecUnicodeMapFile takes a file and a code page, got {} arguments",
                        args.len()
                    ),
                ))
            }
        },
        "seccomponentsignature" => s.component_signatures.push(one(d)?.to_string()),
        "seccollectiontimeout" => s.collection_timeout = number(d)?,
        "secpcrematchlimit" => s.pcre_match_limit = Some(number(d)?),
        "secrulescript" => {
            return Err(CompileError::new(
                CompileErrorKind::UnknownDirective,
                "SecRuleScript (Lua rules) is not supported by rasp",
            )
            .unsupported())
        }
        _ if PASSIVE.contains(&lower) => {
            s.passive.push((
                d.name().to_string(),
                d.args.iter().map(|a| a.text.clone()).collect(),
            ));
        }
        _ => {
            return Err(CompileError::new(
                CompileErrorKind::UnknownDirective,
                format!(
                    "unknown directive {}{}",
                    d.name(),
                    suggest::hint(d.name(), DIRECTIVES.iter().copied())
                ),
            ))
        }
    }
    Ok(())
}
