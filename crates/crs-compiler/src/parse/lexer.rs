//! Reading configuration text as Apache does: logical lines and words.
//!
//! Apache (and so ModSecurity v2, the CRS reference engine) reads a
//! configuration file line by line. A line ending in a backslash continues
//! on the next physical line; the backslash is dropped and the next line is
//! appended as is. Apache only honours a backslash right before the line
//! break; we also accept blanks after it, since Apache would split such a
//! rule into broken directives and refuse to start. Only then is the logical
//! line checked for a leading `#`, so a comment ending in `\` swallows the
//! following line, exactly as in httpd.
//!
//! Words are split as `ap_getword_conf` splits them: a word starting with
//! `"` or `'` runs to the matching unescaped quote, and inside it `\<quote>`
//! stands for the quote. Every other backslash is kept, so `\d`, `\x5c` and
//! `\\` reach the regex compiler as written; unquoted words run to the next
//! whitespace, backslashes included. (httpd's `substring_conf` would also
//! collapse `\\` to `\`; ModSecurity v3 and Coraza do not, CRS never writes
//! `\\` in a rule (it uses `\x5c`) so it does not care, and rule authors
//! writing `[\\/]` mean a backslash or a slash. We follow v3 there.)
//!
//! Every word remembers where each of its pieces came from, so an error
//! found deep inside an action list or a regex can point at the file's own
//! line and column, even across continuation lines.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::Location;

/// A start position of a run of characters that are contiguous in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Mark {
    /// Byte offset of the run in the logical line (or word).
    offset: usize,
    /// Line of the first character, from 1.
    line: u32,
    /// Column of the first character, from 1 (counted in characters).
    column: u32,
}

/// One logical line: physical lines joined at trailing backslashes.
#[derive(Clone, Debug)]
pub(crate) struct LogicalLine {
    /// The joined text, without the continuation backslashes.
    text: String,
    /// Where each physical piece starts.
    marks: Vec<Mark>,
}

/// A word of a directive, with its source positions.
#[derive(Clone, Debug)]
pub(crate) struct Word {
    /// The word after quote removal.
    pub(crate) text: String,
    file: Arc<PathBuf>,
    marks: Vec<Mark>,
}

/// A word that could not be read (an unterminated quote).
#[derive(Clone, Debug)]
pub(crate) struct LexError {
    /// What is wrong.
    pub(crate) message: String,
    /// Where the offending quote starts.
    pub(crate) location: Location,
}

impl Word {
    /// The location of the word's first character.
    pub(crate) fn location(&self) -> Location {
        self.location_at(0)
    }

    /// The location of the character at byte `offset` of [`Word::text`].
    /// Offsets past the end point just after the last character.
    pub(crate) fn location_at(&self, offset: usize) -> Location {
        let offset = offset.min(self.text.len());
        let mark = self.marks.iter().rev().find(|m| m.offset <= offset);
        match mark {
            Some(m) => {
                let between = self
                    .text
                    .get(m.offset..offset)
                    .map_or(0, |s| s.chars().count());
                Location {
                    file: self.file.clone(),
                    line: m.line,
                    column: m.column + between as u32,
                }
            }
            None => Location {
                file: self.file.clone(),
                line: 1,
                column: 1,
            },
        }
    }
}

impl LogicalLine {
    /// The joined text.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Location of byte `offset` of the logical line.
    fn position(&self, offset: usize) -> (u32, u32) {
        match self.marks.iter().rev().find(|m| m.offset <= offset) {
            Some(m) => {
                let between = self
                    .text
                    .get(m.offset..offset)
                    .map_or(0, |s| s.chars().count());
                (m.line, m.column + between as u32)
            }
            None => (1, 1),
        }
    }

    /// True when `a` and `b` (byte offsets, `a < b`) lie on the same
    /// physical line, so characters between them are contiguous in the file.
    fn same_piece(&self, a: usize, b: usize) -> bool {
        !self.marks.iter().any(|m| m.offset > a && m.offset <= b)
    }
}

/// Splits a file's text into logical lines, dropping blank lines and
/// comments.
pub(crate) fn logical_lines(text: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    let mut current: Option<LogicalLine> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let trimmed_end = raw.trim_end();
        let (piece, continues) = match trimmed_end.strip_suffix('\\') {
            Some(before) => (before, true),
            None => (trimmed_end, false),
        };
        let line = current.get_or_insert_with(|| LogicalLine {
            text: String::new(),
            marks: Vec::new(),
        });
        line.marks.push(Mark {
            offset: line.text.len(),
            line: line_no,
            column: 1,
        });
        line.text.push_str(piece);
        if !continues {
            if let Some(done) = current.take() {
                push_line(&mut out, done);
            }
        }
    }
    if let Some(done) = current.take() {
        push_line(&mut out, done);
    }
    out
}

fn push_line(out: &mut Vec<LogicalLine>, line: LogicalLine) {
    let body = line.text.trim_start();
    if body.is_empty() || body.starts_with('#') {
        return;
    }
    out.push(line);
}

/// Splits a logical line into words (`ap_getword_conf`).
pub(crate) fn words(line: &LogicalLine, file: &Arc<PathBuf>) -> Result<Vec<Word>, LexError> {
    let text = line.text();
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let mut builder = WordBuilder::new(file.clone());
        let first = bytes[i];
        if first == b'"' || first == b'\'' {
            let open = i;
            i += 1;
            loop {
                let Some(&c) = bytes.get(i) else {
                    let (l, c) = line.position(open);
                    return Err(LexError {
                        message: format!(
                            "missing closing {} quote",
                            if first == b'"' { "double" } else { "single" }
                        ),
                        location: Location {
                            file: file.clone(),
                            line: l,
                            column: c,
                        },
                    });
                };
                if c == b'\\' {
                    match bytes.get(i + 1) {
                        // `\"` is an escaped quote: only the quote is kept.
                        Some(&n) if n == first => {
                            builder.push(line, i + 1, 1);
                            i += 2;
                            continue;
                        }
                        // Any other escape is kept whole (so `\\` cannot
                        // escape the closing quote).
                        Some(_) => {
                            let len = 1 + char_len(text, i + 1);
                            builder.push(line, i, len);
                            i += len;
                            continue;
                        }
                        None => {}
                    }
                }
                if c == first {
                    i += 1;
                    break;
                }
                let len = char_len(text, i);
                builder.push(line, i, len);
                i += len;
            }
        } else {
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                let len = char_len(text, i);
                builder.push(line, i, len);
                i += len;
            }
        }
        words.push(builder.finish(line));
        // A closing quote ends the word even when text follows directly,
        // as in Apache.
    }
    Ok(words)
}

fn char_len(text: &str, i: usize) -> usize {
    text.get(i..)
        .and_then(|s| s.chars().next())
        .map_or(1, char::len_utf8)
}

struct WordBuilder {
    text: String,
    file: Arc<PathBuf>,
    marks: Vec<Mark>,
    /// Logical-line offset just after the last copied character.
    next_source: Option<usize>,
    /// Logical-line offset of the first character (for empty words).
    first_source: Option<usize>,
}

impl WordBuilder {
    fn new(file: Arc<PathBuf>) -> WordBuilder {
        WordBuilder {
            text: String::new(),
            file,
            marks: Vec::new(),
            next_source: None,
            first_source: None,
        }
    }

    /// Copies `len` bytes of the logical line starting at `src`.
    fn push(&mut self, line: &LogicalLine, src: usize, len: usize) {
        let contiguous = matches!(self.next_source, Some(n) if n == src && line.same_piece(n.saturating_sub(1), src));
        if !contiguous {
            let (l, c) = line.position(src);
            self.marks.push(Mark {
                offset: self.text.len(),
                line: l,
                column: c,
            });
        }
        if self.first_source.is_none() {
            self.first_source = Some(src);
        }
        if let Some(s) = line.text.get(src..src + len) {
            self.text.push_str(s);
        }
        self.next_source = Some(src + len);
    }

    fn finish(self, line: &LogicalLine) -> Word {
        let mut marks = self.marks;
        if marks.is_empty() {
            // An empty quoted word: point at the opening quote.
            let (l, c) = line.position(self.first_source.unwrap_or(0));
            marks.push(Mark {
                offset: 0,
                line: l,
                column: c,
            });
        }
        Word {
            text: self.text,
            file: self.file,
            marks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Arc<PathBuf> {
        Arc::new(PathBuf::from("t.conf"))
    }

    fn split(text: &str) -> Vec<Vec<String>> {
        logical_lines(text)
            .iter()
            .map(|l| {
                words(l, &file())
                    .unwrap()
                    .into_iter()
                    .map(|w| w.text)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn comments_and_blank_lines_are_dropped() {
        assert_eq!(
            split("# c\n\n   # indented\nSecRuleEngine On\n"),
            vec![vec!["SecRuleEngine", "On"]]
        );
    }

    #[test]
    fn continuation_joins_lines() {
        let lines = split("SecRule ARGS \"@rx a\" \\\n    \"id:1,\\\n    pass\"\n");
        assert_eq!(
            lines,
            vec![vec!["SecRule", "ARGS", "@rx a", "id:1,    pass"]]
        );
    }

    #[test]
    fn comment_continuation_swallows_next_line_like_apache() {
        assert_eq!(
            split("# comment \\\nSecRuleEngine On\nSecMarker X\n"),
            vec![vec!["SecMarker", "X"]]
        );
    }

    #[test]
    fn quoting_follows_ap_getword_conf() {
        assert_eq!(
            split(r#"A "x \"y\" \d \\ z" 'a\'b' c\\d "e\\" f"#),
            vec![vec!["A", r#"x "y" \d \\ z"#, "a'b", r"c\\d", r"e\\", "f"]]
        );
        assert_eq!(split(r#"A "" B"#), vec![vec!["A", "", "B"]]);
    }

    #[test]
    fn unterminated_quote_is_an_error() {
        let lines = logical_lines("SecRule ARGS \"@rx a\n");
        let err = words(&lines[0], &file()).unwrap_err();
        assert_eq!((err.location.line, err.location.column), (1, 14));
    }

    #[test]
    fn positions_survive_continuations_and_escapes() {
        let text = "SecRule ARGS \"@rx \\\"a\" \\\n  \"id:1,\\\n  msg:x\"\n";
        let lines = logical_lines(text);
        let w = words(&lines[0], &file()).unwrap();
        let op = &w[2];
        assert_eq!(op.text, "@rx \"a");
        let loc = op.location_at(5);
        assert_eq!((loc.line, loc.column), (1, 21));
        let actions = &w[3];
        let at = actions.text.find("msg").unwrap();
        let loc = actions.location_at(at);
        assert_eq!((loc.line, loc.column), (3, 3));
        assert_eq!((actions.location().line, actions.location().column), (2, 4));
    }
}
