//! ModSecurity v2 error-log lines (TESTING.md §7.4), which is what go-ftw
//! reads: `[id "N"]` gives the rule ids and `match_regex` runs over lines.

use rasp_core::MatchRecord;

/// The parts of a match that the log line shows.
#[derive(Debug, Clone, Default)]
pub struct LogEntry {
    pub id: u32,
    pub match_text: String,
    pub file: String,
    pub line: u32,
    pub msg: Option<String>,
    pub data: Option<String>,
    pub severity: Option<u8>,
    pub ver: Option<String>,
    pub tags: Vec<String>,
}

impl From<&MatchRecord> for LogEntry {
    fn from(m: &MatchRecord) -> LogEntry {
        LogEntry {
            id: m.id,
            match_text: m.match_text.clone(),
            file: m.file.clone(),
            line: m.line,
            msg: m.msg.clone(),
            data: m.data.clone(),
            severity: m.severity,
            ver: m.ver.clone(),
            tags: m.tags.to_vec(),
        }
    }
}

/// Request facts shown at the end of each line.
#[derive(Debug, Clone, Default)]
pub struct LineContext {
    pub client: String,
    pub hostname: Vec<u8>,
    pub uri: Vec<u8>,
    pub unique_id: String,
}

/// ModSecurity v2 `_log_escape` (msg, ver, tags, hostname, uri): C escapes
/// for \b \n \r \t \v, `\\`, optionally `\"`, other bytes outside printable
/// ASCII as `\xHH`.
pub fn log_escape(s: &[u8], escape_quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        match b {
            b'"' if escape_quotes => out.push_str("\\\""),
            b'\x08' => out.push_str("\\b"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            b'\x0b' => out.push_str("\\v"),
            b'\\' => out.push_str("\\\\"),
            0..=0x1f | 0x7f..=0xff => out.push_str(&format!("\\x{b:02x}")),
            _ => out.push(b as char),
        }
    }
    out
}

/// ModSecurity v2 `log_escape_hex` (logdata): `"`, `\`, control bytes and
/// bytes ≥ 0x7f as `\xHH`.
pub fn log_escape_hex(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s {
        if b == b'"' || b == b'\\' || b <= 0x1f || b >= 0x7f {
            out.push_str(&format!("\\x{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// The `[data "…"]` field: escaped, then cut so the whole field is at most
/// 521 bytes, ending in `..."]` (v2 `msre_format_metadata`).
pub fn data_field(data: &[u8]) -> String {
    let mut field = format!(" [data \"{}\"]", log_escape_hex(data));
    if field.len() > 521 {
        // Everything is ASCII after escaping, so byte cuts are char cuts.
        field.truncate(517);
        field.push_str("...\"]");
    }
    field
}

fn severity_name(s: u8) -> &'static str {
    match s {
        0 => "EMERGENCY",
        1 => "ALERT",
        2 => "CRITICAL",
        3 => "ERROR",
        4 => "WARNING",
        5 => "NOTICE",
        6 => "INFO",
        _ => "DEBUG",
    }
}

/// One error-log line for a match with `log`.
pub fn format_line(e: &LogEntry, cx: &LineContext) -> String {
    let mut line = format!("[client {}] ModSecurity: Warning. ", cx.client);
    // The match text quotes operator and values itself; v2 escapes the
    // values inside it without touching quotes (`log_escape_nq`).
    line.push_str(&log_escape(e.match_text.as_bytes(), false));
    line.push_str(&format!(
        " [file \"{}\"] [line \"{}\"] [id \"{}\"]",
        log_escape(e.file.as_bytes(), true),
        e.line,
        e.id
    ));
    if let Some(msg) = &e.msg {
        line.push_str(&format!(" [msg \"{}\"]", log_escape(msg.as_bytes(), true)));
    }
    if let Some(data) = &e.data {
        line.push_str(&data_field(data.as_bytes()));
    }
    if let Some(s) = e.severity.filter(|s| *s <= 7) {
        line.push_str(&format!(" [severity \"{}\"]", severity_name(s)));
    }
    if let Some(ver) = &e.ver {
        line.push_str(&format!(" [ver \"{}\"]", log_escape(ver.as_bytes(), true)));
    }
    for tag in &e.tags {
        line.push_str(&format!(" [tag \"{}\"]", log_escape(tag.as_bytes(), true)));
    }
    line.push_str(&format!(
        " [hostname \"{}\"] [uri \"{}\"] [unique_id \"{}\"]",
        log_escape(&cx.hostname, true),
        log_escape(&cx.uri, true),
        cx.unique_id
    ));
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> LogEntry {
        LogEntry {
            id: 932300,
            match_text:
                "Matched \"Operator `Rx' with parameter `x' against variable `ARGS:textarea' (Value: `a\r\nb' )".into(),
            file: "/crs/rules/REQUEST-932-APPLICATION-ATTACK-RCE.conf".into(),
            line: 1234,
            msg: Some("Remote Command Execution: \"SMTP\" Command Execution".into()),
            data: Some("Matched Data: \r\nMAIL FROM:<a@b> found within ARGS:textarea: \r\nMAIL FROM:<a@b>".into()),
            severity: Some(2),
            ver: Some("OWASP_CRS/4.28.0".into()),
            tags: vec!["attack-rce".into(), "paranoia-level/2".into()],
        }
    }

    #[test]
    fn line_is_single_and_matches_crs_regexes() {
        let cx = LineContext {
            client: "127.0.0.1".into(),
            hostname: b"localhost".to_vec(),
            uri: b"/".to_vec(),
            unique_id: "u".into(),
        };
        let line = format_line(&entry(), &cx);
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        // 932300-10: Go's `.` does not cross newlines; escaping keeps one line.
        let re = regex::Regex::new(
            r"Matched Data:.*MAIL FROM:.* found within ARGS:textarea:.*MAIL FROM:",
        )
        .unwrap();
        assert!(re.is_match(&line), "{line}");
        assert!(line.contains(r#"[id "932300"]"#));
        assert!(
            line.contains(r#"[msg "Remote Command Execution: \"SMTP\" Command Execution"]"#),
            "{line}"
        );
        assert!(
            line.contains(r#"[data "Matched Data: \x0d\x0aMAIL FROM:<a@b>"#),
            "{line}"
        );
        assert!(line
            .contains(r#"[severity "CRITICAL"] [ver "OWASP_CRS/4.28.0"] [tag "attack-rce"] [tag "paranoia-level/2"]"#));
        assert!(line.contains(r"(Value: `a\r\nb' )"), "{line}");
    }

    #[test]
    fn data_is_truncated_like_v2() {
        let long = "A".repeat(600);
        let f = data_field(long.as_bytes());
        assert_eq!(f.len(), 522);
        assert!(f.starts_with(" [data \"AAAA"));
        assert!(f.ends_with("A...\"]"));
        // v2 counts 9 label bytes where there are 10: 511 bytes still fit,
        // 512 are already cut.
        let fits = "B".repeat(511);
        assert_eq!(data_field(fits.as_bytes()), format!(" [data \"{fits}\"]"));
        assert!(data_field("B".repeat(512).as_bytes()).ends_with("B...\"]"));
        assert_eq!(data_field(b"\"\\\xc3\xb6"), r#" [data "\x22\x5c\xc3\xb6"]"#);
    }

    #[test]
    fn msg_escaping() {
        assert_eq!(
            log_escape(b"a\"b\\c\td\x01\xff", true),
            r#"a\"b\\c\td\x01\xff"#
        );
        assert_eq!(log_escape(b"a\"b", false), "a\"b");
    }
}
