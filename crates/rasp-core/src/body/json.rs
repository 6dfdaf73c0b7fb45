//! JSON request bodies → `ARGS_POST`, named the way ModSecurity v2 names
//! them (`msc_json.c`, driven by the yajl parser's callbacks).
//!
//! v2's naming has no `json.` prefix (that is libmodsecurity 3) and is
//! quirky; CRS rules only see what it produces, so it is kept exactly:
//! - an object member is named by its key, nested objects join keys with
//!   `.`: `{"a":{"b":1}}` → `a.b=1`;
//! - array elements are *not* numbered: they repeat the array's own name
//!   under it, `{"a":[1,2]}` → `a.a=1`, `a.a=2`; a top-level array is named
//!   `array`: `[1]` → `array.array=1`;
//! - numbers keep their source text, booleans are `true`/`false`, `null` is
//!   the empty string, strings are unescaped (`\u0000` is a NUL byte, a lone
//!   surrogate becomes `?`; a key ends at its first NUL, as v2 copies keys
//!   as C strings);
//! - the top-level object is not counted in the depth; every nested object or
//!   array is, and going past `SecRequestBodyJsonDepthLimit` stops parsing
//!   with "JSON depth limit exceeded";
//! - arguments parsed before an error are kept (v2 adds them while it parses);
//! - one deliberate difference: the argument names of a body may total at
//!   most [`MAX_NAME_BYTES`] (deep paths of long keys repeat in every name,
//!   which v2 would build without bound);
//! - an empty body is not an error, a blank one is ("premature EOF").
//!
//! The parser is our own tokenizer with yajl's grammar and error texts (no
//! comments, strict numbers, UTF-8 checked in strings, no trailing data),
//! including which errors v2 only reports once the body is complete
//! ("JSON parser error: …" rather than "JSON parsing error: …"). yajl ends
//! its messages with a newline; we leave it out. It never recurses, so
//! nesting depth costs no stack. `v2_vectors` checks it against v2's own
//! `msc_json.c` with yajl 2.1.

use std::borrow::Cow;

use super::log_escape::until_nul;
use super::{Arg, BodyError, BodyLimits};

/// What the JSON processor produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonArgs {
    /// `ARGS_POST`, in document order.
    pub args: Vec<Arg>,
    /// The parse error, when there was one.
    pub error: Option<BodyError>,
}

/// Parses a JSON body. `existing_args` counts arguments the transaction
/// already holds (v2's argument limit is on the total).
pub fn parse(body: &[u8], limits: &BodyLimits, existing_args: usize) -> JsonArgs {
    parse_into(body, limits, existing_args, &mut Arg::default)
}

/// [`parse`], each argument written into the buffers `buffers` hands out
/// (a finished transaction's, see `transaction::spare`).
pub(crate) fn parse_into(
    body: &[u8],
    limits: &BodyLimits,
    existing_args: usize,
    buffers: &mut dyn FnMut() -> Arg,
) -> JsonArgs {
    let room = limits.arguments_limit.saturating_sub(existing_args);
    let mut namer = Namer {
        prefix: None,
        key: None,
        depth: 0,
        depth_limit: limits.json_depth_limit,
        args: Vec::new(),
        room,
        limit: limits.arguments_limit,
        name_bytes: 0,
        cancelled: None,
        buffers,
    };
    if body.is_empty() {
        return JsonArgs::default();
    }
    let outcome = Parser {
        lexer: Lexer {
            input: body,
            pos: 0,
        },
        stack: Vec::new(),
        state: State::Start,
        pending: false,
    }
    .run(&mut namer);
    let error = match outcome {
        Ok(()) => None,
        Err(Failure::Incomplete) => Some(BodyError::same(
            "JSON parser error: parse error: premature EOF".to_owned(),
        )),
        Err(Failure::Cancelled) => {
            let why = match namer.cancelled {
                Some(Cancel::Args) => format!("More than {} JSON keys", namer.limit),
                Some(Cancel::Names) => format!("JSON argument names exceed {MAX_NAME_BYTES} bytes"),
                _ => "JSON depth limit exceeded".to_owned(),
            };
            Some(BodyError::same(format!("JSON parsing error: {why}")))
        }
        // v2 feeds data as it arrives; errors seen then get one prefix,
        // errors only seen once the body ended get another.
        Err(Failure::Syntax { text, at_end }) => Some(BodyError::same(if at_end {
            format!("JSON parser error: {text}")
        } else {
            format!("JSON parsing error: {text}")
        })),
    };
    JsonArgs {
        args: namer.args,
        error,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancel {
    Depth,
    Args,
    Names,
}

/// v2's callback state: the current name prefix and key.
struct Namer<'b> {
    prefix: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    depth: usize,
    depth_limit: usize,
    args: Vec<Arg>,
    room: usize,
    limit: usize,
    name_bytes: usize,
    cancelled: Option<Cancel>,
    /// Where each argument's buffers come from.
    buffers: &'b mut dyn FnMut() -> Arg,
}

/// The most bytes of argument names one body may produce. v2 has no such
/// bound, but deep nesting with long keys makes names grow quadratically
/// (every value repeats its whole path): past this the body is refused.
pub const MAX_NAME_BYTES: usize = 32 << 20;

impl Namer<'_> {
    /// `json_add_argument`. Returns false to cancel the parse.
    fn value(&mut self, value: &[u8]) -> bool {
        if self.args.len() >= self.room {
            self.cancelled = Some(Cancel::Args);
            return false;
        }
        let (mut name, mut value_buffer) = (self.buffers)();
        let key = self.key.get_or_insert_with(Vec::new);
        if let Some(prefix) = &self.prefix {
            name.reserve(prefix.len() + key.len() + 1);
            name.extend_from_slice(prefix);
            name.push(b'.');
        }
        name.extend_from_slice(key);
        value_buffer.extend_from_slice(value);
        self.name_bytes = self.name_bytes.saturating_add(name.len());
        if self.name_bytes > MAX_NAME_BYTES {
            self.cancelled = Some(Cancel::Names);
            return false;
        }
        self.args.push((name, value_buffer));
        true
    }

    fn key(&mut self, key: &[u8]) {
        // v2 copies keys as C strings (into the last key's buffer here).
        let buffer = self.key.get_or_insert_with(Vec::new);
        buffer.clear();
        buffer.extend_from_slice(until_nul(key));
    }

    fn enter(&mut self) -> bool {
        self.depth += 1;
        if self.depth > self.depth_limit {
            self.cancelled = Some(Cancel::Depth);
            return false;
        }
        true
    }

    /// Appends `.key` to the prefix in place (or starts it with `key`), so
    /// nesting costs the key's length, not the path's.
    fn push_prefix(&mut self, key: &[u8]) {
        match self.prefix.as_mut() {
            Some(prefix) => {
                prefix.push(b'.');
                prefix.extend_from_slice(key);
            }
            None => self.prefix = Some(key.to_vec()),
        }
    }

    fn start_map(&mut self) -> bool {
        // The top-level object changes nothing and is not counted.
        let Some(key) = self.key.take() else {
            return true;
        };
        self.push_prefix(&key);
        self.key = Some(key);
        self.enter()
    }

    fn end_map(&mut self) {
        let Some(prefix) = self.prefix.as_mut() else {
            return;
        };
        // The key becomes what follows the last dot, which may be inside a
        // key that contains dots: v2 does the same.
        match prefix.iter().rposition(|&b| b == b'.') {
            Some(dot) => {
                self.key = Some(prefix.get(dot + 1..).unwrap_or_default().to_vec());
                prefix.truncate(dot);
            }
            None => self.key = self.prefix.take(),
        }
        self.depth = self.depth.saturating_sub(1);
    }

    fn start_array(&mut self) -> bool {
        if self.prefix.is_none() && self.key.is_none() {
            self.prefix = Some(b"array".to_vec());
            self.key = Some(b"array".to_vec());
        } else {
            let key = self.key.take().unwrap_or_default();
            self.push_prefix(&key);
            self.key = Some(key);
        }
        self.enter()
    }

    fn end_array(&mut self) {
        let Some(prefix) = self.prefix.as_mut() else {
            return;
        };
        // Unlike maps, v2 does not restore the key here.
        match prefix.iter().rposition(|&b| b == b'.') {
            Some(dot) => prefix.truncate(dot),
            None => self.prefix = None,
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

#[derive(Debug)]
enum Failure {
    Cancelled,
    /// The body ended inside a string.
    Incomplete,
    Syntax {
        text: String,
        /// Only detectable once the body ended.
        at_end: bool,
    },
}

fn lexical(text: &str, at_end: bool) -> Failure {
    Failure::Syntax {
        text: format!("lexical error: {text}"),
        at_end,
    }
}

fn syntax(text: &str, at_end: bool) -> Failure {
    Failure::Syntax {
        text: format!("parse error: {text}"),
        at_end,
    }
}

/// A token; strings without escapes and numbers borrow the body's bytes
/// (keys are then copied once into the name, values once into theirs:
/// a copy per token before cost the bench JSON POST 2.4 %).
#[derive(Debug)]
enum Token<'a> {
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    Str(Cow<'a, [u8]>),
    /// `true`, `false` (as text) or `null` (as the empty string).
    Scalar(&'static [u8]),
    /// A number's source text.
    Number(&'a [u8]),
}

struct Lexer<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn peek(&self, k: usize) -> Option<u8> {
        self.input.get(self.pos + k).copied()
    }

    /// The next token, `Ok(None)` at the end of input.
    fn next(&mut self) -> Result<Option<Token<'a>>, Failure> {
        while matches!(
            self.peek(0),
            Some(b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
        ) {
            self.pos += 1;
        }
        let Some(c) = self.peek(0) else {
            return Ok(None);
        };
        let simple = match c {
            b'{' => Some(Token::LBrace),
            b'}' => Some(Token::RBrace),
            b'[' => Some(Token::LBracket),
            b']' => Some(Token::RBracket),
            b',' => Some(Token::Comma),
            b':' => Some(Token::Colon),
            _ => None,
        };
        if let Some(token) = simple {
            self.pos += 1;
            return Ok(Some(token));
        }
        match c {
            b'"' => self.string().map(|s| Some(Token::Str(s))),
            b't' => self.literal(b"true", b"true"),
            b'f' => self.literal(b"false", b"false"),
            b'n' => self.literal(b"null", b""),
            b'-' | b'0'..=b'9' => self.number().map(|n| Some(Token::Number(n))),
            b'/' => Err(lexical(
                "probable comment found in input text, comments are not enabled.",
                false,
            )),
            _ => Err(lexical("invalid char in json text.", false)),
        }
    }

    fn literal(&mut self, word: &[u8], value: &'static [u8]) -> Result<Option<Token<'a>>, Failure> {
        for (k, &expected) in word.iter().enumerate() {
            match self.peek(k) {
                Some(got) if got == expected => {}
                Some(_) => return Err(lexical("invalid string in json text.", false)),
                None => return Err(lexical("invalid string in json text.", true)),
            }
        }
        self.pos += word.len();
        Ok(Some(Token::Scalar(value)))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek(0).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<&'a [u8], Failure> {
        let start = self.pos;
        let need_digit = |lexer: &Self, text: &str| lexical(text, lexer.peek(0).is_none());
        if self.peek(0) == Some(b'-') {
            self.pos += 1;
        }
        match self.peek(0) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => {
                return Err(need_digit(
                    self,
                    "malformed number, a digit is required after the minus sign.",
                ))
            }
        }
        if self.peek(0) == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(need_digit(
                    self,
                    "malformed number, a digit is required after the decimal point.",
                ));
            }
        }
        if matches!(self.peek(0), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(0), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(need_digit(
                    self,
                    "malformed number, a digit is required after the exponent.",
                ));
            }
        }
        Ok(self.input.get(start..self.pos).unwrap_or_default())
    }

    fn hex4(&self, at: usize) -> Result<u32, Failure> {
        let mut v = 0u32;
        for k in 0..4 {
            // At the end of the body yajl adds a space, which is not hex.
            let digit = self
                .input
                .get(at + k)
                .and_then(|b| char::from(*b).to_digit(16));
            match digit {
                Some(d) => v = v << 4 | d,
                None => {
                    return Err(lexical(
                        "invalid (non-hex) character occurs after '\\u' inside string.",
                        self.input.get(at + k).is_none(),
                    ))
                }
            }
        }
        Ok(v)
    }

    fn string(&mut self) -> Result<Cow<'a, [u8]>, Failure> {
        // Past the opening quote. Most strings are one plain run (below) up
        // to their closing quote: those are the body's own bytes.
        self.pos += 1;
        let input: &'a [u8] = self.input;
        let rest = input.get(self.pos..).unwrap_or_default();
        if let Some(end) = rest
            .iter()
            .position(|&b| !(0x20..0x80).contains(&b) || b == b'\\' || b == b'"')
        {
            if rest.get(end) == Some(&b'"') {
                self.pos += end + 1;
                return Ok(Cow::Borrowed(rest.get(..end).unwrap_or_default()));
            }
        }
        let mut out = Vec::new();
        loop {
            // A run of printable ASCII other than `"` and `\` is copied
            // at once: most of a string (bench JSON POST: −1.2 %
            // instructions per exchange).
            let rest = self.input.get(self.pos..).unwrap_or_default();
            let plain = rest
                .iter()
                .position(|&b| !(0x20..0x80).contains(&b) || b == b'"' || b == b'\\')
                .unwrap_or(rest.len());
            out.extend_from_slice(rest.get(..plain).unwrap_or_default());
            self.pos += plain;
            let Some(c) = self.peek(0) else {
                return Err(Failure::Incomplete);
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    let Some(e) = self.peek(1) else {
                        // yajl ends the body with a space: not escapable.
                        return Err(lexical(
                            "inside a string, '\\' occurs before a character which it may not.",
                            true,
                        ));
                    };
                    self.pos += 2;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let cp = self.hex4(self.pos)?;
                            self.pos += 4;
                            self.unicode_escape(cp, &mut out)?;
                        }
                        _ => {
                            return Err(lexical(
                                "inside a string, '\\' occurs before a character which it may not.",
                                false,
                            ))
                        }
                    }
                }
                0..=0x1f => {
                    return Err(lexical("invalid character inside string.", false));
                }
                0x80..=0xff => {
                    // yajl checks only the shape of UTF-8 sequences.
                    let extra = if c >> 5 == 0x6 {
                        1
                    } else if c >> 4 == 0xe {
                        2
                    } else if c >> 3 == 0x1e {
                        3
                    } else {
                        return Err(lexical("invalid bytes in UTF8 string.", false));
                    };
                    for k in 1..=extra {
                        match self.peek(k) {
                            Some(b) if b >> 6 == 0x2 => {}
                            Some(_) => return Err(lexical("invalid bytes in UTF8 string.", false)),
                            // yajl ends the body with a space: not a
                            // continuation byte.
                            None => return Err(lexical("invalid bytes in UTF8 string.", true)),
                        }
                    }
                    out.extend_from_slice(
                        self.input
                            .get(self.pos..=self.pos + extra)
                            .unwrap_or_default(),
                    );
                    self.pos += extra + 1;
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// yajl's `\u` decoding: surrogate pairs combine, a high surrogate
    /// without a following `\u` becomes `?`.
    fn unicode_escape(&mut self, cp: u32, out: &mut Vec<u8>) -> Result<(), Failure> {
        let mut cp = cp;
        if cp & 0xfc00 == 0xd800 {
            if self.peek(0) == Some(b'\\') && self.peek(1) == Some(b'u') {
                let low = self.hex4(self.pos + 2)?;
                self.pos += 6;
                cp = (((cp & 0x3f) << 10) | ((((cp >> 6) & 0xf) + 1) << 16)) | (low & 0x3ff);
            } else {
                out.push(b'?');
                return Ok(());
            }
        }
        push_utf8(cp, out);
        Ok(())
    }
}

/// UTF-8 encoding without validity checks (yajl encodes lone low
/// surrogates as they are).
fn push_utf8(cp: u32, out: &mut Vec<u8>) {
    // Truncating casts are intended: each byte is masked first.
    match cp {
        0..=0x7f => out.push(cp as u8),
        0x80..=0x7ff => {
            out.push(0xc0 | (cp >> 6) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
        0x800..=0xffff => {
            out.push(0xe0 | (cp >> 12) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3f) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
        _ => {
            out.push(0xf0 | ((cp >> 18) & 0x07) as u8);
            out.push(0x80 | ((cp >> 12) & 0x3f) as u8);
            out.push(0x80 | ((cp >> 6) & 0x3f) as u8);
            out.push(0x80 | (cp & 0x3f) as u8);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    Done,
    MapStart,
    MapNeedKey,
    MapSep,
    MapNeedVal,
    MapGotVal,
    ArrayStart,
    ArrayNeedVal,
    ArrayGotVal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Map,
    Array,
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    stack: Vec<Frame>,
    state: State,
    /// The current token is a number that ends the body: yajl cannot know
    /// it ended before the body is complete, so errors it causes are
    /// reported at completion.
    pending: bool,
}

impl Parser<'_> {
    fn after_value(&mut self) {
        self.state = match self.stack.last() {
            None => State::Done,
            Some(Frame::Map) => State::MapGotVal,
            Some(Frame::Array) => State::ArrayGotVal,
        };
    }

    /// Handles a token in a position where a value is expected.
    fn value(&mut self, token: Token<'_>, namer: &mut Namer<'_>) -> Result<(), Failure> {
        match token {
            Token::LBrace => {
                if !namer.start_map() {
                    return Err(Failure::Cancelled);
                }
                self.stack.push(Frame::Map);
                self.state = State::MapStart;
            }
            Token::LBracket => {
                if !namer.start_array() {
                    return Err(Failure::Cancelled);
                }
                self.stack.push(Frame::Array);
                self.state = State::ArrayStart;
            }
            Token::Str(s) => {
                if !namer.value(&s) {
                    return Err(Failure::Cancelled);
                }
                self.after_value();
            }
            Token::Scalar(s) | Token::Number(s) => {
                if !namer.value(s) {
                    return Err(Failure::Cancelled);
                }
                self.after_value();
            }
            _ => return Err(syntax("unallowed token at this point in JSON text", false)),
        }
        Ok(())
    }

    fn close(&mut self, frame: Frame, namer: &mut Namer<'_>) {
        self.stack.pop();
        match frame {
            Frame::Map => namer.end_map(),
            Frame::Array => namer.end_array(),
        }
        self.after_value();
    }

    fn run(mut self, namer: &mut Namer<'_>) -> Result<(), Failure> {
        loop {
            if self.state == State::Done {
                // yajl reports anything after the document, even a token it
                // cannot lex, as trailing garbage. A number needs one more
                // byte to end, so at the very end yajl only sees it once
                // the body is complete.
                return match self.lexer.next() {
                    Ok(None) => Ok(()),
                    Ok(Some(token)) => {
                        let at_end = matches!(token, Token::Number(_))
                            && self.lexer.pos >= self.lexer.input.len();
                        Err(syntax("trailing garbage", at_end))
                    }
                    Err(Failure::Syntax { at_end, .. }) => Err(syntax("trailing garbage", at_end)),
                    // A string still open when the body ends is never
                    // seen as a token, so yajl accepts the document.
                    Err(Failure::Incomplete) => Ok(()),
                    Err(other) => Err(other),
                };
            }
            let token = self.lexer.next()?;
            self.pending =
                matches!(token, Some(Token::Number(_))) && self.lexer.pos >= self.lexer.input.len();
            let Some(token) = token else {
                return match self.state {
                    State::Done => Ok(()),
                    _ => Err(syntax("premature EOF", true)),
                };
            };
            match self.state {
                State::Done => return Err(syntax("trailing garbage", false)),
                State::Start | State::MapNeedVal | State::ArrayNeedVal => {
                    self.value(token, namer)?;
                }
                State::ArrayStart => match token {
                    Token::RBracket => self.close(Frame::Array, namer),
                    other => self.value(other, namer)?,
                },
                State::MapStart | State::MapNeedKey => match token {
                    Token::Str(key) => {
                        namer.key(&key);
                        self.state = State::MapSep;
                    }
                    Token::RBrace if self.state == State::MapStart => {
                        self.close(Frame::Map, namer);
                    }
                    _ => {
                        return Err(syntax(
                            "invalid object key (must be a string)",
                            self.pending,
                        ))
                    }
                },
                State::MapSep => match token {
                    Token::Colon => self.state = State::MapNeedVal,
                    _ => {
                        return Err(syntax(
                            "object key and value must be separated by a colon (':')",
                            self.pending,
                        ))
                    }
                },
                State::MapGotVal => match token {
                    Token::Comma => self.state = State::MapNeedKey,
                    Token::RBrace => self.close(Frame::Map, namer),
                    _ => {
                        return Err(syntax(
                            "after key and value, inside map, I expect ',' or '}'",
                            self.pending,
                        ))
                    }
                },
                State::ArrayGotVal => match token {
                    Token::Comma => self.state = State::ArrayNeedVal,
                    Token::RBracket => self.close(Frame::Array, namer),
                    _ => {
                        return Err(syntax(
                            "after array element, I expect ',' or ']'",
                            self.pending,
                        ))
                    }
                },
            }
        }
    }
}

#[cfg(test)]
mod v2_vectors;

#[cfg(test)]
mod tests {
    use super::*;

    fn args(body: &str) -> Vec<(String, String)> {
        let r = parse(body.as_bytes(), &BodyLimits::default(), 0);
        assert_eq!(r.error, None, "{body}");
        r.args
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(&n).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_owned(), v.to_owned())
    }

    fn error(body: &[u8]) -> Option<String> {
        parse(body, &BodyLimits::default(), 0).error.map(|e| e.msg)
    }

    #[test]
    fn v2_naming() {
        assert_eq!(
            args(r#"{"a":"x","b":{"c":1,"d":{"e":true}},"f":null,"g":-1.5e3}"#),
            vec![
                p("a", "x"),
                p("b.c", "1"),
                p("b.d.e", "true"),
                p("f", ""),
                p("g", "-1.5e3")
            ]
        );
        assert_eq!(
            args(r#"{"a":[1,"2",[3]],"b":false}"#),
            vec![
                p("a.a", "1"),
                p("a.a", "2"),
                p("a.a.a", "3"),
                p("b", "false")
            ]
        );
        assert_eq!(
            args("[1,2]"),
            vec![p("array.array", "1"), p("array.array", "2")]
        );
        assert_eq!(
            args(r#"[{"a":1},{"b":2}]"#),
            vec![p("array.array.a", "1"), p("array.array.b", "2")]
        );
        assert_eq!(args(r#""top""#), vec![p("", "top")]);
        assert_eq!(args(""), vec![]);
    }

    #[test]
    fn crs_934130_prototype_pollution_names() {
        // CRS 934130-1 sends this body; the rule looks at ARGS_NAMES.
        assert_eq!(
            args(
                r#"{"text":"a","title":{"__proto__":{"where":{"name":"sqlinjection","where":null}}}}"#
            ),
            vec![
                p("text", "a"),
                p("title.__proto__.where.name", "sqlinjection"),
                p("title.__proto__.where.where", "")
            ]
        );
    }

    #[test]
    fn string_unescaping() {
        assert_eq!(
            args(r#"{"k\"":"a\n\u0041\u00e9\ud83d\ude00\u0000\/"}"#),
            vec![p("k\"", "a\nAé😀\0/")]
        );
        // Keys are C strings in v2: they end at the first NUL.
        assert_eq!(args(r#"{"a\u0000b":1}"#), vec![p("a", "1")]);
        let r = parse(br#"{"a":"\ud800x"}"#, &BodyLimits::default(), 0);
        assert_eq!(r.args[0].1, b"?x");
        // CRS 941xxx JSON payload: an escaped backslash stays one backslash.
        assert_eq!(
            args("{\"testarg\": \"\\\\u0065val\"}"),
            vec![p("testarg", "\\u0065val")]
        );
    }

    #[test]
    fn depth_limit() {
        let limits = BodyLimits {
            json_depth_limit: 2,
            ..BodyLimits::default()
        };
        let ok = parse(br#"{"a":{"b":{"c":1}}}"#, &limits, 0);
        assert_eq!(ok.error, None);
        let deep = parse(br#"{"a":{"b":{"c":{"d":1}}},"e":1}"#, &limits, 0);
        assert_eq!(
            deep.error.map(|e| e.msg),
            Some("JSON parsing error: JSON depth limit exceeded".to_owned())
        );
        let arrays = parse(b"[[[1]]]", &limits, 0);
        assert!(arrays.error.is_some());
        // Deep nesting never recurses.
        let mut huge = vec![b'['; 200_000];
        huge.extend(vec![b']'; 200_000]);
        assert!(parse(&huge, &BodyLimits::default(), 0).error.is_some());
    }

    #[test]
    fn long_paths_stay_bounded() {
        // 2,000 levels of 1 KiB keys, then many values at the bottom: the
        // names would repeat a 2 MiB path each.
        let key = "k".repeat(1024);
        let mut body = String::new();
        for _ in 0..2000 {
            body.push_str(&format!("{{\"{key}\":"));
        }
        body.push('[');
        body.push_str(&vec!["1"; 900].join(","));
        body.push(']');
        body.push_str(&"}".repeat(2000));
        let r = parse(body.as_bytes(), &BodyLimits::default(), 0);
        assert_eq!(
            r.error.map(|e| e.msg),
            Some(format!(
                "JSON parsing error: JSON argument names exceed {MAX_NAME_BYTES} bytes"
            ))
        );
        assert!(r.args.iter().map(|(n, _)| n.len()).sum::<usize>() <= MAX_NAME_BYTES);
    }

    #[test]
    fn argument_limit() {
        let limits = BodyLimits {
            arguments_limit: 2,
            ..BodyLimits::default()
        };
        let r = parse(br#"{"a":1,"b":2,"c":3}"#, &limits, 0);
        assert_eq!(r.args.len(), 2);
        assert_eq!(
            r.error.map(|e| e.msg),
            Some("JSON parsing error: More than 2 JSON keys".to_owned())
        );
    }

    #[test]
    fn errors_have_yajl_texts() {
        assert_eq!(
            error(b"{\"a\":1"),
            Some("JSON parser error: parse error: premature EOF".to_owned())
        );
        assert_eq!(
            error(b" "),
            Some("JSON parser error: parse error: premature EOF".to_owned())
        );
        // Anything after the document is trailing garbage, even bytes that
        // do not lex; a number at the very end is only seen at completion.
        assert_eq!(
            error(b"{\"a\":1} x"),
            Some("JSON parsing error: parse error: trailing garbage".to_owned())
        );
        assert_eq!(
            error(b"{\"a\":1} 2"),
            Some("JSON parser error: parse error: trailing garbage".to_owned())
        );
        assert_eq!(error(b"{\"a\":1} \"open"), None);
        assert_eq!(
            error(b"{0"),
            Some(
                "JSON parser error: parse error: invalid object key (must be a string)".to_owned()
            )
        );
        assert_eq!(
            error(b"{a:1}"),
            Some("JSON parsing error: lexical error: invalid char in json text.".to_owned())
        );
        assert_eq!(
            error(b"{1:1}"),
            Some(
                "JSON parsing error: parse error: invalid object key (must be a string)".to_owned()
            )
        );
        assert_eq!(
            error(b"{\"a\" 1}"),
            Some(
                "JSON parsing error: parse error: object key and value must be separated by a colon (':')"
                    .to_owned()
            )
        );
        assert_eq!(
            error(b"[1 2]"),
            Some(
                "JSON parsing error: parse error: after array element, I expect ',' or ']'"
                    .to_owned()
            )
        );
        assert_eq!(
            error(b"{\"a\":01}"),
            Some(
                "JSON parsing error: parse error: after key and value, inside map, I expect ',' or '}'"
                    .to_owned()
            )
        );
        assert_eq!(
            error(b"[-]"),
            Some(
                "JSON parsing error: lexical error: malformed number, a digit is required after the minus sign."
                    .to_owned()
            )
        );
        assert_eq!(
            error(b"1."),
            Some(
                "JSON parser error: lexical error: malformed number, a digit is required after the decimal point."
                    .to_owned()
            )
        );
        assert_eq!(
            error(b"[\"\x01\"]"),
            Some("JSON parsing error: lexical error: invalid character inside string.".to_owned())
        );
        assert_eq!(
            error(b"[\"text \x1f\"]"),
            Some("JSON parsing error: lexical error: invalid character inside string.".to_owned())
        );
        assert_eq!(
            error(b"[\"\xff\"]"),
            Some("JSON parsing error: lexical error: invalid bytes in UTF8 string.".to_owned())
        );
        assert_eq!(
            error(b"[tru]"),
            Some("JSON parsing error: lexical error: invalid string in json text.".to_owned())
        );
        assert_eq!(
            error(b"[1,]"),
            Some(
                "JSON parsing error: parse error: unallowed token at this point in JSON text"
                    .to_owned()
            )
        );
        assert_eq!(
            error(b"/* c */ {}"),
            Some(
                "JSON parsing error: lexical error: probable comment found in input text, comments are not enabled."
                    .to_owned()
            )
        );
    }

    #[test]
    fn args_before_an_error_are_kept() {
        let r = parse(br#"{"a":"1","b":}"#, &BodyLimits::default(), 0);
        assert_eq!(r.args, vec![(b"a".to_vec(), b"1".to_vec())]);
        assert!(r.error.is_some());
    }
}
