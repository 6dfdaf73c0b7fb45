//! `t:removeComments`, `t:replaceComments`, `t:removeCommentsChar`: the
//! three ModSecurity v2 comment strippers. Their quirks are kept on purpose,
//! since CRS rules are tuned against them.

use std::borrow::Cow;

use super::writer::CowWriter;

/// `t:replaceComments`: each C comment `/* … */` becomes one space; an
/// unterminated one also becomes a space (to the end of the value). A
/// stray `*/` is left alone.
pub(super) fn replace_comments(input: &[u8]) -> Cow<'_, [u8]> {
    // Without a comment opener nothing changes (the common case).
    if memchr::memmem::find(input, b"/*").is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = CowWriter::new(input);
    let mut in_comment = false;
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        let next = input.get(i + 1).copied();
        if !in_comment {
            if c == b'/' && next == Some(b'*') {
                in_comment = true;
                i += 2;
            } else {
                out.push(c);
                i += 1;
            }
        } else if c == b'*' && next == Some(b'/') {
            in_comment = false;
            out.push(b' ');
            i += 2;
        } else {
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    out.finish()
}

/// `t:removeComments`: removes `/* … */` and `<!-- … -->` comments and
/// cuts the value at `--` or `#` (SQL line comments). An unterminated
/// block comment becomes one space.
///
/// v2 quirk kept: after a comment closes, the byte that follows it is copied
/// without being examined (so `/*a*/#` keeps the `#`), and when the comment
/// closes at the very end of the value, that "byte" is v2's NUL terminator:
/// `x/*a*/` gives `x\0`.
pub(super) fn remove_comments(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = CowWriter::new(input);
    let mut in_comment = false;
    let mut i = 0;
    let at = |k: usize| input.get(k).copied();
    while let Some(c) = at(i) {
        if !in_comment {
            if c == b'/' && at(i + 1) == Some(b'*') {
                in_comment = true;
                i += 2;
            } else if input.get(i..i + 4) == Some(b"<!--") {
                in_comment = true;
                i += 4;
            } else if (c == b'-' && at(i + 1) == Some(b'-')) || c == b'#' {
                break;
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            let close = if c == b'*' && at(i + 1) == Some(b'/') {
                2
            } else if input.get(i..i + 3) == Some(b"-->") {
                3
            } else {
                0
            };
            if close == 0 {
                i += 1;
                continue;
            }
            in_comment = false;
            i += close;
            out.push(at(i).unwrap_or(0));
            i += 1;
        }
    }
    if in_comment {
        out.push(b' ');
    }
    out.finish()
}

/// `t:removeCommentsChar`: deletes the comment *markers* `/*`, `*/`,
/// `<!--`, `-->`, `--` and `#`, keeping the text between them.
pub(super) fn remove_comments_char(input: &[u8]) -> Cow<'_, [u8]> {
    if !has_comment_char(input) {
        return Cow::Borrowed(input);
    }
    strip_comment_chars(input)
}

/// `removeCommentsChar` without the shortcut.
pub(super) fn strip_comment_chars(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = CowWriter::new(input);
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        let rest = input.get(i..).unwrap_or_default();
        let marker = if rest.starts_with(b"/*") || rest.starts_with(b"*/") {
            2
        } else if rest.starts_with(b"<!--") {
            4
        } else if rest.starts_with(b"-->") {
            3
        } else if rest.starts_with(b"--") {
            2
        } else if c == b'#' {
            1
        } else {
            0
        };
        if marker == 0 {
            out.push(c);
            i += 1;
        } else {
            i += marker;
        }
    }
    out.finish()
}

/// Whether `input` holds any marker `removeCommentsChar` deletes (`/*`,
/// `*/`, `<!--`, `-->`, `--`, `#`): each contains `#`, `*` or `--`, found
/// with a vectorised search instead of testing every position.
fn has_comment_char(input: &[u8]) -> bool {
    memchr::memchr3_iter(b'#', b'*', b'-', input).any(|i| match input.get(i) {
        Some(b'#') => true,
        Some(b'*') => {
            i.checked_sub(1).and_then(|p| input.get(p)) == Some(&b'/')
                || input.get(i + 1) == Some(&b'/')
        }
        _ => input.get(i + 1) == Some(&b'-'),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(input: &[u8]) -> Vec<u8> {
        replace_comments(input).into_owned()
    }

    fn rem(input: &[u8]) -> Vec<u8> {
        remove_comments(input).into_owned()
    }

    fn chr(input: &[u8]) -> Vec<u8> {
        remove_comments_char(input).into_owned()
    }

    #[test]
    fn replace_v2_cases() {
        // From v2 tests/tfn/replaceComments.t.
        assert!(matches!(replace_comments(b"Test\0Case"), Cow::Borrowed(_)));
        for (input, want) in [
            (&b"/* TestCase */"[..], &b" "[..]),
            (b"/*TestCase*/", b" "),
            (b"Before/* TestCase */After", b"Before After"),
            (b"Before /* TestCase */ After", b"Before   After"),
            (b"/* Test\r\nCase */", b" "),
            (b"Before/* Test\r\nCase ", b"Before "),
            (b"Before /* Test\nCase ", b"Before  "),
            (b"Test\r\nCase */After", b"Test\r\nCase */After"),
            (b"Test\nCase */ After", b"Test\nCase */ After"),
        ] {
            assert_eq!(rep(input), want, "{input:?}");
        }
    }

    #[test]
    fn remove_block_and_html_comments() {
        assert!(matches!(remove_comments(b"TestCase"), Cow::Borrowed(_)));
        assert_eq!(rem(b"un/**/ion"), b"union");
        assert_eq!(rem(b"a<!-- x -->bc"), b"abc");
        assert_eq!(rem(b"a/* x -->bc"), b"abc");
        assert_eq!(rem(b"a/* unterminated"), b"a ");
    }

    #[test]
    fn remove_cuts_at_line_comments() {
        assert_eq!(rem(b"1 OR 1=1-- x"), b"1 OR 1=1");
        assert_eq!(rem(b"1 OR 1=1# x"), b"1 OR 1=1");
        assert_eq!(rem(b"#x"), b"");
    }

    #[test]
    fn remove_quirks() {
        // The byte after a closed comment is copied unexamined...
        assert_eq!(rem(b"/*a*/#b"), b"#b");
        assert_eq!(rem(b"/*a*//*b*/"), b"/*b*/");
        // ...and at the end of the value it is v2's NUL terminator.
        assert_eq!(rem(b"x/*a*/"), b"x\0");
        assert_eq!(rem(b"x<!--a-->"), b"x\0");
    }

    #[test]
    fn remove_char_markers() {
        assert!(matches!(
            remove_comments_char(b"TestCase"),
            Cow::Borrowed(_)
        ));
        assert_eq!(chr(b"un/**/ion"), b"union");
        assert_eq!(chr(b"a<!--b-->c"), b"abc");
        assert_eq!(chr(b"a--b#c"), b"abc");
        assert_eq!(chr(b"a---b"), b"a-b");
        assert_eq!(chr(b"*"), b"*");
    }
}
