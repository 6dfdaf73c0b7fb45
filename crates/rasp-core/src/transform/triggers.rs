//! Which bytes a transformation needs to see to change a value.
//!
//! Most transformations leave an ordinary short value as it is, and each
//! finds that out with a scan of its own: a gate sweep tries a dozen of them
//! on every value of a request. One pass that notes the kinds of bytes a
//! value holds ([`ByteClasses::of`]) answers for all of them at once: a
//! transformation whose trigger bytes ([`triggers`]) are absent cannot
//! change the value.
//!
//! Each trigger set is a superset of what the function looks at (see each
//! function's module); a test checks every one on all short values made of
//! the other bytes.

use crs_compiler::ir::transform::Transform;

/// The kinds of bytes in a value, a bit per class (see the constants).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ByteClasses(u32);

const UPPER: u32 = 1 << 0; // A-Z
const LOWER: u32 = 1 << 1; // a-z
const PERCENT_PLUS: u32 = 1 << 2; // % +
const AMPERSAND: u32 = 1 << 3; // &
const BACKSLASH: u32 = 1 << 4; // \
const HIGH: u32 = 1 << 5; // 0x80-0xff
const NUL: u32 = 1 << 6; // 0x00
const SPACE: u32 = 1 << 7; // space \t \n \v \f \r, and 0xa0 (NBSP)
const SLASH: u32 = 1 << 8; // /
const DOT: u32 = 1 << 9; // .
const STAR: u32 = 1 << 10; // *
const DASH: u32 = 1 << 11; // -
const HASH: u32 = 1 << 12; // #
const LESS: u32 = 1 << 13; // <
const CMD_LINE: u32 = 1 << 14; // " ' ^ , ;

/// The class bits of each byte value.
const CLASS: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        table[b] = match c {
            b'A'..=b'Z' => UPPER,
            b'a'..=b'z' => LOWER,
            b'%' | b'+' => PERCENT_PLUS,
            b'&' => AMPERSAND,
            b'\\' => BACKSLASH,
            0 => NUL,
            b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => SPACE,
            0xa0 => HIGH | SPACE,
            0x80..=0xff => HIGH,
            b'/' => SLASH,
            b'.' => DOT,
            b'*' => STAR,
            b'-' => DASH,
            b'#' => HASH,
            b'<' => LESS,
            b'"' | b'\'' | b'^' | b',' | b';' => CMD_LINE,
            _ => 0,
        };
        b += 1;
    }
    table
};

impl ByteClasses {
    /// The classes of the bytes of `value`.
    pub(crate) fn of(value: &[u8]) -> ByteClasses {
        ByteClasses(value.iter().fold(0, |acc, &b| acc | CLASS[usize::from(b)]))
    }

    /// Whether `t` certainly returns a value with these classes as it is.
    pub(crate) fn leave_unchanged(self, t: Transform) -> bool {
        triggers(t).is_some_and(|needed| needed & self.0 == 0)
    }

    /// Whether `t` certainly changes a value with these classes (a byte it
    /// always rewrites or drops), so that nothing need be computed to
    /// know. `false` when it may not; a caller that takes `false` as
    /// "unchanged" must try the transformation.
    pub(crate) fn certainly_change(self, t: Transform) -> bool {
        let rewritten = match t {
            Transform::Lowercase => UPPER,
            Transform::Uppercase => LOWER,
            Transform::RemoveNulls | Transform::ReplaceNulls => NUL,
            // Every byte of the class is whitespace to it (`is_space`).
            Transform::RemoveWhitespace => SPACE,
            // Lowercases, deletes `\ " ' ^`, turns `,` `;` into a space
            // and cuts at NUL.
            Transform::CmdLine => UPPER | BACKSLASH | CMD_LINE | NUL,
            _ => 0,
        };
        rewritten & self.0 != 0
    }

    /// Whether `t` certainly returns a value with these classes as it is
    /// and v2 reports no change for it (see [`super::apply_tracked`]):
    /// `multiMatch` then has nothing to check again after it. Not so for
    /// the functions v2 reports as changing whatever they return
    /// (`cmdLine`, the decoders of whole values).
    pub(crate) fn leave_unreported(self, t: Transform) -> bool {
        use super::ChangeReport as R;
        matches!(super::change_report(t), R::Length | R::Content | R::Tracked)
            && self.leave_unchanged(t)
    }
}

/// Whether the steps after a `t:lowercase` certainly leave a value
/// lower-cased (ASCII) as it is: none of them finds its trigger bytes
/// there (see [`ByteClasses::leave_unchanged`]), so they give the
/// lower-cased value itself. Worked out once per chain.
#[derive(Clone, Debug)]
pub(crate) struct IdleAfterLowercase {
    /// The classes any of the steps needs to see.
    needed: u32,
    /// Those classes' bytes in a lower-cased value, when there are few:
    /// a long value is searched for them (`memchr`) rather than classified
    /// byte by byte. CRS's 941310 decodes after lower-casing: `% + & \`.
    bytes: Option<([u8; 6], usize)>,
}

impl IdleAfterLowercase {
    /// The test for `steps`; `None` when one of them may change any value.
    pub(crate) fn new(steps: &[Transform]) -> Option<IdleAfterLowercase> {
        let needed = steps
            .iter()
            .try_fold(0, |needed, t| Some(needed | triggers(*t)?))?;
        let mut bytes = [0u8; 6];
        let mut count = 0;
        for b in 0..=255u8 {
            if lowercased(CLASS[usize::from(b)]) & needed != 0 {
                if let Some(slot) = bytes.get_mut(count) {
                    *slot = b;
                }
                count += 1;
            }
        }
        Some(IdleAfterLowercase {
            needed,
            bytes: (count <= bytes.len()).then_some((bytes, count)),
        })
    }

    /// Whether the steps leave `value`, lower-cased, as it is.
    pub(crate) fn holds(&self, value: &[u8]) -> bool {
        match self.bytes {
            Some((bytes, count)) if value.len() > MEMCHR_MIN_LEN => {
                let [a, b, c, d, e, f] = bytes;
                // Unused slots repeat the first byte, which changes nothing.
                let pad = |i: usize, x: u8| if i < count { x } else { a };
                count == 0
                    || (memchr::memchr3(a, pad(1, b), pad(2, c), value).is_none()
                        && (count <= 3
                            || memchr::memchr3(pad(3, d), pad(4, e), pad(5, f), value).is_none()))
            }
            _ => lowercased(ByteClasses::of(value).0) & self.needed == 0,
        }
    }
}

/// The classes of a value with `classes` once lower-cased: no upper-case
/// letters, and lower-case ones where it had those.
fn lowercased(classes: u32) -> u32 {
    if classes & UPPER != 0 {
        (classes & !UPPER) | LOWER
    } else {
        classes
    }
}

/// Values longer than this are searched for a few trigger bytes by
/// `memchr` in [`IdleAfterLowercase::holds`] rather than classified byte
/// by byte.
const MEMCHR_MIN_LEN: usize = 64;

/// The classes of bytes without which `t` changes no value; `None` for the
/// transformations that may change any value (decoders of whole values,
/// digests, `length`, encoders).
fn triggers(t: Transform) -> Option<u32> {
    Some(match t {
        Transform::Lowercase => UPPER,
        Transform::Uppercase => LOWER,
        Transform::UrlDecode | Transform::UrlDecodeUni => PERCENT_PLUS,
        Transform::HtmlEntityDecode => AMPERSAND,
        Transform::JsDecode | Transform::CssDecode | Transform::EscapeSeqDecode => BACKSLASH,
        // Drops NUL bytes and rewrites sequences from 0x80 up.
        Transform::Utf8ToUnicode => HIGH | NUL,
        Transform::RemoveNulls | Transform::ReplaceNulls => NUL,
        Transform::RemoveWhitespace | Transform::CompressWhitespace => SPACE,
        Transform::Trim | Transform::TrimLeft | Transform::TrimRight => SPACE,
        // Cut at NUL; deletes \ " ' ^; turns separator runs (space, tab,
        // CR, LF, comma, semicolon) into one space, then drops a space
        // before / and (; lowercases.
        Transform::CmdLine => NUL | BACKSLASH | CMD_LINE | SPACE | UPPER,
        // Only `/` preceded by `/` or `.`, or a final `.`, is rewritten;
        // the Windows form first turns `\` into `/`.
        Transform::NormalizePath => SLASH | DOT,
        Transform::NormalizePathWin => SLASH | DOT | BACKSLASH,
        // Comments open with `/*` (all three), `<!--` and `--` or `#` end
        // the value (removeComments), markers are deleted
        // (removeCommentsChar, which also deletes `*/` and `-->`).
        Transform::ReplaceComments => SLASH,
        Transform::RemoveComments => SLASH | LESS | DASH | HASH,
        Transform::RemoveCommentsChar => SLASH | STAR | LESS | DASH | HASH,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random numbers (xorshift64).
    fn rng(seed: u64) -> impl FnMut() -> u64 {
        let mut s = seed;
        move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        }
    }

    #[test]
    fn a_value_without_trigger_bytes_is_left_as_it_is() {
        let mut with_triggers = 0;
        for &t in Transform::ALL {
            let Some(needed) = triggers(t) else {
                continue;
            };
            with_triggers += 1;
            let quiet: Vec<u8> = (0..=255u8)
                .filter(|&b| CLASS[usize::from(b)] & needed == 0)
                .collect();
            assert!(quiet.len() > 100, "{t}: few bytes left to test with");
            let check = |value: &[u8]| {
                assert!(ByteClasses::of(value).leave_unchanged(t));
                assert_eq!(
                    super::super::apply(t, value).as_ref(),
                    value,
                    "{t} changed {value:?}, which has none of its trigger bytes"
                );
            };
            check(b"");
            // Every value of one or two bytes, then random longer ones.
            for &a in &quiet {
                check(&[a]);
                for &b in &quiet {
                    check(&[a, b]);
                }
            }
            let mut next = rng(0x9e37_79b9_7f4a_7c15 ^ t as u64);
            for _ in 0..20_000 {
                let len = 3 + (next() % 62) as usize;
                let value: Vec<u8> = (0..len)
                    .map(|_| quiet[(next() % quiet.len() as u64) as usize])
                    .collect();
                check(&value);
            }
        }
        assert!(
            with_triggers >= 20,
            "only {with_triggers} transformations have triggers"
        );
    }

    #[test]
    fn steps_said_idle_after_lowercase_leave_the_lowercased_value_alone() {
        let idle = |value: &[u8], steps: &[Transform]| {
            IdleAfterLowercase::new(steps).is_some_and(|test| test.holds(value))
        };
        let steps: &[&[Transform]] = &[
            &[
                Transform::UrlDecodeUni,
                Transform::HtmlEntityDecode,
                Transform::JsDecode,
            ],
            &[Transform::UrlDecode],
            &[Transform::Lowercase, Transform::CssDecode],
            &[Transform::RemoveWhitespace],
            &[Transform::Base64Decode],
        ];
        let alphabet = b"aAzZ%+&\\ \t;#<x41";
        let mut next = rng(0x2545_f491_4f6c_dd1d);
        let mut said_idle = [0usize; 2];
        for _ in 0..20_000 {
            // Short and long values (the long ones take the memchr path).
            let len = match next() % 4 {
                0 => 200 + (next() % 200) as usize,
                _ => (next() % 12) as usize,
            };
            let mut value: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if len > MEMCHR_MIN_LEN {
                // Long values: mostly quiet bytes, with one trigger byte
                // or none.
                value.retain(|b| b.is_ascii_alphanumeric() || b" \t;#<".contains(b));
                if next() % 2 == 0 {
                    let at = (next() % (value.len() as u64 + 1)) as usize;
                    value.insert(at, b"%+&\\"[(next() % 4) as usize]);
                }
            }
            let lowered = value.to_ascii_lowercase();
            for chain in steps {
                if !idle(&value, chain) {
                    continue;
                }
                said_idle[usize::from(len > MEMCHR_MIN_LEN)] += 1;
                let mut out = lowered.clone();
                for t in *chain {
                    out = super::super::apply(*t, &out).into_owned();
                }
                assert_eq!(out, lowered, "{chain:?} on {value:?}");
            }
        }
        // Both paths said "idle" often enough to mean something.
        assert!(said_idle.iter().all(|&n| n > 100), "{said_idle:?}");
        // Whole-value decoders may change anything.
        assert!(!idle(b"abc", &[Transform::Base64Decode]));
        assert!(!idle(&b"a".repeat(100), &[Transform::Base64Decode]));
        assert!(idle(
            &b"A b".repeat(100),
            &[Transform::UrlDecodeUni, Transform::Lowercase]
        ));
        let mut with_percent = b"A b".repeat(100);
        with_percent.push(b'%');
        assert!(!idle(&with_percent, &[Transform::UrlDecodeUni]));
    }

    #[test]
    fn what_certainly_changes_a_value_does() {
        // Random values over all bytes, weighted towards the classes that
        // settle a change: wherever the classes say "certainly changes",
        // the transformation returns other bytes.
        let mut next = rng(0x2545_f491_4f6c_dd1d);
        let mut certain = 0;
        for _ in 0..20_000 {
            let len = 1 + (next() % 40) as usize;
            let value: Vec<u8> = (0..len)
                .map(|_| {
                    let special = b"aZ \t\0\"',;^\\%&/.";
                    match next() % 4 {
                        0 => special[(next() % special.len() as u64) as usize],
                        _ => (next() % 256) as u8,
                    }
                })
                .collect();
            let classes = ByteClasses::of(&value);
            for &t in Transform::ALL {
                if classes.certainly_change(t) {
                    certain += 1;
                    assert_ne!(
                        super::super::apply(t, &value).as_ref(),
                        value.as_slice(),
                        "{t} left {value:?} as it is"
                    );
                }
            }
        }
        assert!(certain > 10_000, "only {certain} certain changes tried");
    }

    #[test]
    fn a_trigger_byte_lets_the_transformation_run() {
        // One probe per trigger class each transformation lists: the
        // classes say "may change", and the function does change it.
        let probes: &[(Transform, &[u8])] = &[
            (Transform::Lowercase, b"aBc"),
            (Transform::UrlDecodeUni, b"a+b"),
            (Transform::UrlDecode, b"a%41"),
            (Transform::HtmlEntityDecode, b"&lt;"),
            (Transform::JsDecode, b"\\x41"),
            (Transform::CssDecode, b"\\41"),
            (Transform::Utf8ToUnicode, b"a\0b"),
            (Transform::Utf8ToUnicode, "é".as_bytes()),
            (Transform::RemoveNulls, b"a\0b"),
            (Transform::RemoveWhitespace, b"a\xa0b"),
            (Transform::CompressWhitespace, b"a\tb"),
            (Transform::Trim, b" a"),
            (Transform::CmdLine, b"c^md"),
            (Transform::CmdLine, b"A"),
            (Transform::NormalizePath, b"a//b"),
            (Transform::NormalizePath, b"a/./b"),
            (Transform::NormalizePathWin, b"a\\\\b"),
            (Transform::ReplaceComments, b"a/*b*/c"),
            (Transform::RemoveComments, b"a#b"),
            (Transform::RemoveComments, b"a<!--b-->c"),
            (Transform::RemoveCommentsChar, b"a*/b"),
        ];
        for &(t, value) in probes {
            assert!(!ByteClasses::of(value).leave_unchanged(t), "{t} {value:?}");
            assert_ne!(
                super::super::apply(t, value).as_ref(),
                value,
                "{t} {value:?}"
            );
        }
        // Transformations that may change any value are always run.
        for t in [Transform::Base64Decode, Transform::Length, Transform::Md5] {
            assert!(!ByteClasses::of(b"plain").leave_unchanged(t));
        }
    }

    #[test]
    fn a_step_left_unreported_is_reported_as_no_change() {
        // Where `leave_unreported` says so, v2's report is "unchanged" too
        // (the functions that track their own report included), on random
        // values without the trigger bytes.
        let mut next = rng(0x2545_f491_4f6c_dd1d);
        let mut skipped = 0;
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let value: Vec<u8> = (0..len).map(|_| (next() % 128) as u8).collect();
            let classes = ByteClasses::of(&value);
            for &t in Transform::ALL {
                if classes.leave_unreported(t) {
                    skipped += 1;
                    let (out, changed) = super::super::apply_tracked(t, &value);
                    assert!(!changed && out.as_ref() == value, "{t} {value:?}");
                }
            }
        }
        assert!(skipped > 10_000, "only {skipped} steps skipped");
        // `cmdLine` is reported as changing even an unchanged value.
        assert!(!ByteClasses::of(b"ls").leave_unreported(Transform::CmdLine));
        assert!(super::super::apply_tracked(Transform::CmdLine, b"ls").1);
    }
}
