//! Transformation functions (`t:`), one file per function.
//!
//! Every function of the ModSecurity reference list is implemented with
//! ModSecurity **v2** semantics, byte for byte, because v2 is the engine the
//! OWASP CRS regression suite is judged against. Where v2 does something
//! surprising (it drops broken UTF-8 lead bytes in `utf8toUnicode`, cuts
//! `cmdLine` at a NUL byte, returns raw digests from `sha1`, …) the
//! function's module documents it and a unit test pins it.
//!
//! Two entry points:
//!
//! - [`apply`] runs one transformation. It never panics, works in one pass
//!   and does not allocate when nothing changes: the result is
//!   `Cow::Borrowed(input)` exactly when the value is unchanged.
//! - [`apply_tracked`] also returns v2's "changed" report. v2 uses that
//!   report, not a comparison of the values, to decide when `multiMatch`
//!   runs the operator again and what its transformation cache records; some
//!   functions report a change even when the value is the same (`cmdLine`,
//!   `length`, `hexDecode`, …) and `utf8toUnicode` or `normalizePath` can
//!   alter a value without reporting it.
//!
//! ```
//! use std::borrow::Cow;
//! use crs_compiler::ir::transform::Transform;
//! use rasp_core::transform::apply;
//!
//! assert_eq!(apply(Transform::UrlDecodeUni, b"%u0041%2F").as_ref(), b"A/");
//! assert!(matches!(apply(Transform::Lowercase, b"plain"), Cow::Borrowed(b"plain")));
//! ```
//!
//! `t:urlDecodeUni` maps `%uXXXX` with the code page 20127 (US-ASCII) table
//! the CRS CI configures (`SecUnicodeMapFile unicode.mapping 20127`); see
//! the `unicode_map` module.
//!
//! v2 transforms a NUL-terminated copy of the value, and two functions read
//! the byte after it (`removeComments` after a closing comment,
//! `utf8toUnicode` for a truncated sequence): that byte is taken to be the
//! NUL, as v2 sees it for the first transformation of a list and after
//! every function that terminates its output. (After `removeNulls`,
//! `removeWhitespace`, `compressWhitespace` or `*Comments`, v2 could read a
//! stale byte there instead; no CRS rule chains into those two after them.)
//!
//! The results were checked against v2's own C code, compiled in a test
//! harness, on hundreds of thousands of random and CRS-style inputs;
//! `testdata/v2_vectors.tsv` keeps 2,560 of those pairs as a regression
//! test. `t:uppercase` is not in v2 (it comes from v3) and is plain ASCII.

use std::borrow::Cow;

use crs_compiler::ir::transform::Transform;

mod base64;
mod case;
mod cmd_line;
mod comments;
mod css_decode;
mod escape_seq;
mod hash;
mod hex;
mod html_entity_decode;
mod js_decode;
mod length;
mod normalize_path;
mod nulls;
mod parity;
mod sql_hex;
mod triggers;
mod trim;
mod unicode_map;
mod url_decode;

pub(crate) use case::has_ascii_uppercase;
pub(crate) use hex::{is_hex, pair as hex_pair};
pub(crate) use triggers::{ByteClasses, IdleAfterLowercase};
pub(crate) use url_decode::url_decode_reporting;
mod url_encode;
mod utf8_to_unicode;
#[cfg(test)]
mod v2_vectors;
mod whitespace;
mod writer;

use parity::Parity;

/// Applies one transformation to `input`.
///
/// Returns `Cow::Borrowed(input)` exactly when the value is unchanged, and
/// an owned value otherwise, so `matches!(out, Cow::Borrowed(_))` tells
/// whether the transformation changed anything. (That is a comparison of
/// values; v2's own notion of "changed" is [`apply_tracked`]'s.)
pub fn apply(t: Transform, input: &[u8]) -> Cow<'_, [u8]> {
    borrow_if_unchanged(input, apply_raw(t, input))
}

/// The per-function code may borrow a sub-slice (trims, values cut at a
/// NUL) or build an owned value equal to its input (`hexEncode` of nothing);
/// this makes "borrowed" mean "unchanged" in both cases.
fn borrow_if_unchanged<'a>(input: &'a [u8], out: Cow<'a, [u8]>) -> Cow<'a, [u8]> {
    match out {
        Cow::Borrowed(b) if b.len() == input.len() => Cow::Borrowed(input),
        Cow::Borrowed(b) => Cow::Owned(b.to_vec()),
        Cow::Owned(v) if v.as_slice() == input => Cow::Borrowed(input),
        owned => owned,
    }
}

/// The per-function dispatch behind [`apply`].
fn apply_raw(t: Transform, input: &[u8]) -> Cow<'_, [u8]> {
    match t {
        Transform::Base64Decode => base64::base64_decode(input),
        Transform::Base64DecodeExt => base64::base64_decode_ext(input),
        Transform::Base64Encode => base64::base64_encode(input),
        Transform::CmdLine => cmd_line::cmd_line(input),
        Transform::CompressWhitespace => whitespace::compress_whitespace(input),
        Transform::CssDecode => css_decode::css_decode(input),
        Transform::EscapeSeqDecode => escape_seq::escape_seq_decode(input),
        Transform::HexDecode => hex::hex_decode(input),
        Transform::HexEncode => hex::hex_encode(input),
        Transform::HtmlEntityDecode => html_entity_decode::html_entity_decode(input),
        Transform::JsDecode => js_decode::js_decode(input),
        Transform::Length => length::length(input),
        Transform::Lowercase => case::lowercase(input),
        Transform::Md5 => hash::md5(input),
        Transform::NormalizePath => normalize_path::normalize_path(input, false).0,
        Transform::NormalizePathWin => normalize_path::normalize_path(input, true).0,
        Transform::ParityEven7bit => parity::parity(input, Parity::Even),
        Transform::ParityOdd7bit => parity::parity(input, Parity::Odd),
        Transform::ParityZero7bit => parity::parity(input, Parity::Zero),
        Transform::RemoveComments => comments::remove_comments(input),
        Transform::RemoveCommentsChar => comments::remove_comments_char(input),
        Transform::RemoveNulls => nulls::remove_nulls(input),
        Transform::RemoveWhitespace => whitespace::remove_whitespace(input),
        Transform::ReplaceComments => comments::replace_comments(input),
        Transform::ReplaceNulls => nulls::replace_nulls(input),
        Transform::Sha1 => hash::sha1(input),
        Transform::SqlHexDecode => sql_hex::sql_hex_decode(input),
        Transform::Trim => trim::trim(input),
        Transform::TrimLeft => trim::trim_left(input),
        Transform::TrimRight => trim::trim_right(input),
        Transform::Uppercase => case::uppercase(input),
        Transform::UrlDecode => url_decode::url_decode(input),
        Transform::UrlDecodeUni => url_decode::url_decode_uni(input),
        Transform::UrlEncode => url_encode::url_encode(input),
        Transform::Utf8ToUnicode => utf8_to_unicode::utf8_to_unicode(input).0,
        // `Transform` is non-exhaustive: a transformation added to the
        // compiler later and not yet implemented here leaves the value
        // alone rather than failing a request.
        _ => Cow::Borrowed(input),
    }
}

/// The length of `apply(t, input)` where it is known without computing
/// the result (`t:base64Decode`: from its valid prefix). A `multiMatch`
/// rule whose pattern needs more bytes stops there without decoding; CRS's
/// 934100 decodes every value it reads, and most values' prefixes end
/// within a few characters (a space, `_`, `-`, `.`).
pub(crate) fn known_output_len(t: Transform, input: &[u8]) -> Option<usize> {
    match t {
        Transform::Base64Decode => Some(base64::base64_decoded_len(input)),
        _ => None,
    }
}

/// Whether `t` adds no byte to a value: every byte of its result is, ASCII
/// case aside, one of its input's, or a space (what `t:cmdLine` and
/// `t:compressWhitespace` put in place of others). A pattern whose every
/// match holds a byte the value lacks cannot match any result of such
/// steps (see `RequiredLiterals::common_byte`). Not the decoders, which
/// make any byte of an escape.
pub(crate) fn never_adds_bytes(t: Transform) -> bool {
    matches!(
        t,
        Transform::CmdLine
            | Transform::CompressWhitespace
            | Transform::Lowercase
            | Transform::RemoveNulls
            | Transform::RemoveWhitespace
            | Transform::ReplaceNulls
            | Transform::Trim
            | Transform::TrimLeft
            | Transform::TrimRight
            | Transform::Uppercase
    )
}

/// Whether `t` never returns a value longer than its input: decoders,
/// removers and case or parity changes. Not the encoders, the digests,
/// `length` (of an empty value: `0`) or `utf8toUnicode` (`é` becomes
/// `%u00e9`).
pub(crate) fn never_lengthens(t: Transform) -> bool {
    matches!(
        t,
        Transform::Base64Decode
            | Transform::Base64DecodeExt
            | Transform::CmdLine
            | Transform::CompressWhitespace
            | Transform::CssDecode
            | Transform::EscapeSeqDecode
            | Transform::HexDecode
            | Transform::HtmlEntityDecode
            | Transform::JsDecode
            | Transform::Lowercase
            | Transform::NormalizePath
            | Transform::NormalizePathWin
            | Transform::ParityEven7bit
            | Transform::ParityOdd7bit
            | Transform::ParityZero7bit
            | Transform::RemoveComments
            | Transform::RemoveCommentsChar
            | Transform::RemoveNulls
            | Transform::RemoveWhitespace
            | Transform::ReplaceComments
            | Transform::ReplaceNulls
            | Transform::SqlHexDecode
            | Transform::Trim
            | Transform::TrimLeft
            | Transform::TrimRight
            | Transform::Uppercase
            | Transform::UrlDecode
            | Transform::UrlDecodeUni
    )
}

/// How v2 decides that a transformation "changed" the value.
#[derive(Clone, Copy, Debug)]
enum ChangeReport {
    /// Always reports a change.
    Always,
    /// Reports a change when the result is not empty.
    NonEmpty,
    /// Reports a change when the length differs.
    Length,
    /// Reports a change when the bytes differ.
    Content,
    /// Tracked by the function itself, the way v2 does (not derivable from
    /// the values; see [`apply_tracked`]).
    Tracked,
}

fn change_report(t: Transform) -> ChangeReport {
    use ChangeReport::*;
    match t {
        Transform::CmdLine
        | Transform::Length
        | Transform::Md5
        | Transform::Sha1
        | Transform::SqlHexDecode
        | Transform::HexDecode
        | Transform::HexEncode => Always,
        Transform::Base64Decode | Transform::Base64DecodeExt | Transform::Base64Encode => NonEmpty,
        // compressWhitespace reports only runs of two or more, which is
        // exactly when the length shrinks (one tab becoming one space is
        // "unchanged" for v2).
        Transform::CompressWhitespace
        | Transform::CssDecode
        | Transform::EscapeSeqDecode
        | Transform::HtmlEntityDecode
        | Transform::JsDecode
        | Transform::RemoveComments
        | Transform::RemoveCommentsChar
        | Transform::RemoveNulls
        | Transform::RemoveWhitespace
        | Transform::ReplaceComments
        | Transform::Trim
        | Transform::TrimLeft
        | Transform::TrimRight => Length,
        Transform::Utf8ToUnicode | Transform::NormalizePath | Transform::NormalizePathWin => {
            Tracked
        }
        _ => Content,
    }
}

/// Applies one transformation and also returns ModSecurity v2's "changed"
/// report for it (see the module docs for why it can differ from comparing
/// the values).
pub fn apply_tracked(t: Transform, input: &[u8]) -> (Cow<'_, [u8]>, bool) {
    let tracked = match t {
        Transform::Utf8ToUnicode => Some(utf8_to_unicode::utf8_to_unicode(input)),
        Transform::NormalizePath => Some(normalize_path::normalize_path(input, false)),
        Transform::NormalizePathWin => Some(normalize_path::normalize_path(input, true)),
        _ => None,
    };
    if let Some((out, changed)) = tracked {
        return (borrow_if_unchanged(input, out), changed);
    }
    let out = apply(t, input);
    let changed = reports_change(t, input, &out).unwrap_or(true);
    (out, changed)
}

/// v2's "changed" report for `t` turning `input` into `output`, or `None`
/// for the transformations whose report is not derivable from the values
/// (the functions track it the way v2 does; see [`apply_tracked`]).
pub(crate) fn reports_change(t: Transform, input: &[u8], output: &[u8]) -> Option<bool> {
    Some(match change_report(t) {
        ChangeReport::Always => true,
        ChangeReport::NonEmpty => !output.is_empty(),
        ChangeReport::Length => output.len() != input.len(),
        ChangeReport::Content => output != input,
        ChangeReport::Tracked => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_transform_is_implemented() {
        // A transform that fell through to the `_` arm would return its
        // input unchanged; each real one changes one of these probes.
        let probes: [&[u8]; 2] = [
            b" A%41+\\x41&lt;\0/*c*/  --#\t\xc3\xa9\xa0./../b 0x41 ",
            b"QUJD a",
        ];
        for &t in Transform::ALL {
            let changes = probes.iter().any(|&probe| {
                let (out, changed) = apply_tracked(t, probe);
                changed && out.as_ref() != probe
            });
            assert!(changes, "{t} left every probe unchanged");
        }
    }

    #[test]
    fn unlisted_transformations_lengthen_some_value() {
        // `never_lengthens` leaves out only what can lengthen a value.
        let probes: [&[u8]; 3] = [b"", b"a \xc3\xa9", b"0123456789012345678901234"];
        for &t in Transform::ALL.iter().filter(|t| !never_lengthens(**t)) {
            let grows = probes.iter().any(|p| apply(t, p).len() > p.len());
            assert!(grows, "{t} lengthens none of the probes: list it");
        }
    }

    #[test]
    fn change_reports_follow_v2() {
        // cmdLine reports a change even when the value is the same.
        assert!(apply_tracked(Transform::CmdLine, b"ls").1);
        // A single tab turned into a space is "unchanged" for v2.
        let (out, changed) = apply_tracked(Transform::CompressWhitespace, b"a\tb");
        assert_eq!(out.as_ref(), b"a b");
        assert!(!changed);
        // utf8toUnicode drops a NUL without reporting it.
        let (out, changed) = apply_tracked(Transform::Utf8ToUnicode, b"a\0");
        assert_eq!(out.as_ref(), b"a");
        assert!(!changed);
        assert!(!apply_tracked(Transform::Base64Decode, b"!!").1);
        assert!(apply_tracked(Transform::UrlDecode, b"a+b").1);
        assert!(!apply_tracked(Transform::UrlDecode, b"a%zz").1);
    }

    #[test]
    fn crs_chains() {
        // 942xxx-style chain: t:urlDecodeUni,t:utf8toUnicode,t:removeNulls…
        let v = apply(Transform::UrlDecodeUni, b"1%27%20%u006Fr%201=1");
        let v = apply(Transform::Utf8ToUnicode, &v).into_owned();
        assert_eq!(v, b"1' or 1=1");
        // 930xxx: t:utf8toUnicode,t:urlDecodeUni,t:removeNulls,t:cmdLine.
        let v = apply(Transform::UrlDecodeUni, b"..%c0%af..%2F%00etc");
        let v = apply(Transform::RemoveNulls, &v).into_owned();
        let v = apply(Transform::CmdLine, &v).into_owned();
        assert_eq!(v, b"..\xc0\xaf../etc");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            for &t in Transform::ALL {
                let (out, changed) = apply_tracked(t, &input);
                // Borrowed means unchanged, owned means changed.
                match &out {
                    Cow::Borrowed(b) => prop_assert_eq!(*b, input.as_slice(), "{}", t),
                    Cow::Owned(v) => prop_assert_ne!(v, &input, "{}", t),
                }
                // Where v2's report is about the value, it must agree with
                // a comparison.
                let value_based = matches!(
                    change_report(t),
                    ChangeReport::Length | ChangeReport::Content
                ) && t != Transform::CompressWhitespace;
                if value_based {
                    prop_assert_eq!(changed, out.as_ref() != input.as_slice(), "{}", t);
                }
            }
        }

        #[test]
        fn never_panics_on_escape_heavy_input(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'%'), Just(b'\\'), Just(b'&'), Just(b'#'), Just(b'/'), Just(b'.'),
                    Just(b'*'), Just(b'-'), Just(b'u'), Just(b'x'), Just(b'0'), Just(b'f'),
                    Just(b';'), Just(b'='), Just(0xc3), Just(0xf0), Just(0x80), Just(0),
                    any::<u8>(),
                ],
                0..48,
            )
        ) {
            for &t in Transform::ALL {
                let _ = apply(t, &input);
            }
        }

        #[test]
        fn listed_transformations_never_lengthen(
            input in proptest::collection::vec(any::<u8>(), 0..64),
            escapes in proptest::collection::vec(
                prop_oneof![
                    Just(b'%'), Just(b'\\'), Just(b'&'), Just(b'#'), Just(b'/'), Just(b'.'),
                    Just(b'*'), Just(b'-'), Just(b'u'), Just(b'x'), Just(b'0'), Just(b'f'),
                    Just(b';'), Just(b' '), Just(b'A'), Just(0xc3), Just(0xa9), Just(0),
                    any::<u8>(),
                ],
                0..48,
            ),
        ) {
            // The engine stops a `multiMatch` chain at a result shorter
            // than the rule's pattern needs when no later step lengthens.
            for &t in Transform::ALL.iter().filter(|t| never_lengthens(**t)) {
                prop_assert!(apply(t, &input).len() <= input.len(), "{} grew", t);
                prop_assert!(apply(t, &escapes).len() <= escapes.len(), "{} grew", t);
            }
        }

        #[test]
        fn listed_transformations_add_no_byte(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b'\\'), Just(b'"'), Just(b'\''), Just(b'^'), Just(b','), Just(b';'),
                    Just(b' '), Just(b'\t'), Just(b'\n'), Just(0), Just(0xa0), Just(b'/'),
                    Just(b'('), Just(b'.'), Just(b'A'), Just(b'z'), Just(b'%'), Just(b'&'),
                    any::<u8>(),
                ],
                0..48,
            ),
        ) {
            // The engine skips a `multiMatch` rule's remaining steps when
            // the value lacks a byte every match of its pattern holds.
            let has = |b: u8| input.iter().any(|i| i.eq_ignore_ascii_case(&b));
            for &t in Transform::ALL.iter().filter(|t| never_adds_bytes(**t)) {
                let out = apply(t, &input);
                for &b in out.iter() {
                    prop_assert!(b == b' ' || has(b), "{} added {:#04x}", t, b);
                }
            }
        }

        #[test]
        fn steps_said_to_commute_with_lowercase_do(
            input in proptest::collection::vec(
                prop_oneof![
                    Just(b' '), Just(b'\t'), Just(b'\n'), Just(0x0b), Just(0x0c), Just(b'\r'),
                    Just(0xa0), Just(0), Just(b'A'), Just(b'z'), Just(b'Q'), Just(0xc0),
                    any::<u8>(),
                ],
                0..48,
            ),
        ) {
            // The gate plan moves `t:lowercase` past these steps.
            let lower = |v: &[u8]| v.to_ascii_lowercase();
            let mut commuting = 0;
            for &t in Transform::ALL.iter().filter(|t| t.commutes_with_lowercase()) {
                commuting += 1;
                prop_assert_eq!(
                    apply(t, &lower(&input)).into_owned(),
                    lower(&apply(t, &input)),
                    "{}", t
                );
            }
            prop_assert!(commuting >= 5);
        }

        #[test]
        fn encode_decode_round_trips(input in proptest::collection::vec(any::<u8>(), 0..64)) {
            let hex = apply(Transform::HexEncode, &input).into_owned();
            prop_assert_eq!(apply(Transform::HexDecode, &hex).into_owned(), input.clone());
            let b64 = apply(Transform::Base64Encode, &input).into_owned();
            prop_assert_eq!(apply(Transform::Base64Decode, &b64).into_owned(), input.clone());
            let url = apply(Transform::UrlEncode, &input).into_owned();
            prop_assert_eq!(apply(Transform::UrlDecode, &url).into_owned(), input.clone());
        }
    }
}

#[cfg(test)]
mod fast_path_tests {
    //! The "nothing to do" shortcuts of the transformations must agree
    //! with their full loops: every string of up to five bytes over the
    //! bytes the shortcuts look at.

    use std::borrow::Cow;

    const ALPHABET: &[u8] = b"aA /*-#(,\"\t\0%+<>!\xa0\x80";

    fn all_strings(max: usize, mut f: impl FnMut(&[u8])) {
        let mut buf = Vec::new();
        fn rec(buf: &mut Vec<u8>, max: usize, f: &mut dyn FnMut(&[u8])) {
            f(buf);
            if buf.len() == max {
                return;
            }
            for &b in ALPHABET {
                buf.push(b);
                rec(buf, max, f);
                buf.pop();
            }
        }
        rec(&mut buf, max, &mut f);
    }

    /// A borrowed output is the input or, for the writer-based
    /// functions, a prefix of it (a truncation).
    fn content(input: &[u8], out: Cow<'_, [u8]>) -> Vec<u8> {
        if let Cow::Borrowed(b) = out {
            assert!(input.starts_with(b), "borrowed output is not the input");
        }
        out.into_owned()
    }

    #[test]
    fn shortcuts_agree_with_the_full_loops() {
        let mut n = 0;
        all_strings(5, |s| {
            n += 1;
            assert_eq!(
                content(s, super::cmd_line::cmd_line(s)),
                super::cmd_line::rewrite(s),
                "cmdLine {s:?}"
            );
            assert_eq!(
                content(s, super::comments::remove_comments_char(s)),
                content(s, super::comments::strip_comment_chars(s)),
                "removeCommentsChar {s:?}"
            );
            assert_eq!(
                content(s, super::whitespace::compress_whitespace(s)),
                content(s, super::whitespace::compress(s)),
                "compressWhitespace {s:?}"
            );
            if memchr::memmem::find(s, b"/*").is_none() {
                assert!(matches!(
                    super::comments::replace_comments(s),
                    Cow::Borrowed(_)
                ));
            }
        });
        assert!(n > 2_000_000);
    }
}
