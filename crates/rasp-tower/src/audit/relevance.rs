//! `SecAuditEngine` / `SecAuditLogRelevantStatus`.

use crs_compiler::ir::action::AuditEngine;

/// A compiled `SecAuditLogRelevantStatus` pattern. ModSecurity patterns
/// are PCRE and the customary one (`^(?:5|4(?!04))`) uses a lookahead, so
/// this uses `fancy-regex` (backtracking, only ever run on a 3-digit
/// status).
#[derive(Debug)]
pub(crate) struct RelevantStatus(fancy_regex::Regex);

impl RelevantStatus {
    pub(crate) fn new(pattern: &str) -> Result<RelevantStatus, Box<fancy_regex::Error>> {
        fancy_regex::Regex::new(pattern)
            .map(RelevantStatus)
            .map_err(Box::new)
    }

    pub(crate) fn is_match(&self, status: u16) -> bool {
        self.0.is_match(&status.to_string()).unwrap_or(false)
    }
}

/// Whether a transaction goes to the audit log.
pub(crate) fn should_log(
    engine: AuditEngine,
    relevant_tx: bool,
    status: u16,
    pattern: Option<&RelevantStatus>,
) -> bool {
    match engine {
        AuditEngine::On => true,
        AuditEngine::Off => false,
        _ => relevant_tx || pattern.is_some_and(|p| p.is_match(status)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_pattern_with_lookahead() {
        let p = RelevantStatus::new("^(?:5|4(?!04))").unwrap();
        assert!(p.is_match(500));
        assert!(p.is_match(403));
        assert!(!p.is_match(404));
        assert!(!p.is_match(200));
        assert!(should_log(AuditEngine::RelevantOnly, false, 403, Some(&p)));
        assert!(!should_log(AuditEngine::RelevantOnly, false, 404, Some(&p)));
        assert!(should_log(AuditEngine::RelevantOnly, true, 200, None));
        assert!(!should_log(AuditEngine::Off, true, 500, Some(&p)));
        assert!(should_log(AuditEngine::On, false, 200, None));
    }
}
