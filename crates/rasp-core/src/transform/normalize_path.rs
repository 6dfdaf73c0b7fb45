//! `t:normalizePath` and `t:normalizePathWin`: ModSecurity v2's path
//! normalisation.
//!
//! Removes `.` segments, resolves `..` against the previous segment and
//! collapses repeated slashes. `normalizePathWin` first turns every `\`
//! into `/`. The v2 details this keeps:
//!
//! - a relative path cannot climb above its start: the `..` that would do
//!   so is kept (`dir/../../foo` → `../foo`), an absolute path stops at `/`;
//! - a trailing slash is kept only if the input had one;
//! - a lone `.` normalises to the empty string, and a value whose last
//!   segment is `..` can lose its only segment (`ab..` → empty: v2 treats
//!   the two dots at the end as a back-reference).
//!
//! The walk below mirrors v2's in-place algorithm step by step (source and
//! destination cursors over one buffer); its edge cases are what CRS was
//! tested with, so it is ported rather than reinvented.

use std::borrow::Cow;

/// `t:normalizePath` (`win == false`) and `t:normalizePathWin`. The flag
/// is v2's "changed" report, which misses one case: a `..` removed at the
/// very end of the value (`a/b/..` → `a`) is not reported.
pub(super) fn normalize_path(input: &[u8], win: bool) -> (Cow<'_, [u8]>, bool) {
    if is_normal(input, win) {
        return (Cow::Borrowed(input), false);
    }
    let mut buf = input.to_vec();
    let (len, changed) = normalize_in_place(&mut buf, win);
    buf.truncate(len);
    if buf == input {
        (Cow::Borrowed(input), changed)
    } else {
        (Cow::Owned(buf), changed)
    }
}

/// Cheap test for a path the walk below leaves alone (most request paths):
/// no backslash (Windows mode), no empty segment (`//`) and no segment
/// ending in `.` — v2 only acts at the end of a segment, and only on a
/// slash or a dot there.
///
/// Only slashes are visited (found with `memchr`): free text, which CRS
/// also normalises, rarely has any.
fn is_normal(input: &[u8], win: bool) -> bool {
    if win && memchr::memchr(b'\\', input).is_some() {
        return false;
    }
    let after_slash_or_dot = |i: usize| {
        i.checked_sub(1)
            .and_then(|j| input.get(j))
            .is_some_and(|&b| b == b'/' || b == b'.')
    };
    !memchr::memchr_iter(b'/', input).any(after_slash_or_dot) && input.last() != Some(&b'.')
}

/// Byte at a possibly negative cursor (0 when out of range, which v2 never
/// reads: the callers check the cursor first).
fn at(buf: &[u8], k: isize) -> u8 {
    usize::try_from(k)
        .ok()
        .and_then(|k| buf.get(k))
        .copied()
        .unwrap_or(0)
}

fn set(buf: &mut [u8], k: isize, b: u8) {
    if let Some(slot) = usize::try_from(k).ok().and_then(|k| buf.get_mut(k)) {
        *slot = b;
    }
}

/// Normalises `buf` in place; returns the new length and v2's "changed"
/// flag, which is set at the same steps as in v2.
fn normalize_in_place(buf: &mut [u8], win: bool) -> (usize, bool) {
    // A slice is never longer than isize::MAX, so this conversion holds.
    let Some(end) = buf
        .len()
        .checked_sub(1)
        .and_then(|last| isize::try_from(last).ok())
    else {
        return (0, false);
    };
    let is_sep = |b: u8| b == b'/' || (win && b == b'\\');
    let relative = !is_sep(at(buf, 0));
    let trailing = is_sep(at(buf, end));

    let mut src: isize = 0;
    let mut dst: isize = 0;
    let mut hit_root = false;
    let mut done = false;
    let mut changed = false;

    while !done && src <= end && dst <= end {
        if win {
            if at(buf, src) == b'\\' {
                set(buf, src, b'/');
                changed = true;
            }
            if src < end && at(buf, src + 1) == b'\\' {
                set(buf, src + 1, b'/');
                changed = true;
            }
        }

        // Normalisation happens only at the end of a segment.
        let mut normalize = true;
        if src == end {
            done = true;
        } else if at(buf, src + 1) != b'/' {
            normalize = false;
        }

        let mut skip_copy = false;
        if normalize {
            let c = at(buf, src);
            if src != end && c == b'/' {
                // Empty segment: the copy below collapses the slashes.
                changed = true;
            } else if c == b'.' {
                if dst > 0 && at(buf, dst - 1) == b'.' {
                    // Back-reference.
                    if relative && (hit_root || dst <= 2) {
                        // Nothing left to climb: keep the "..".
                        hit_root = true;
                    } else {
                        // Drop ".." and the previous segment.
                        dst -= 3;
                        while dst > 0 && at(buf, dst) != b'/' {
                            dst -= 1;
                        }
                        if dst <= 0 {
                            hit_root = true;
                            dst = 0;
                            // An absolute path keeps its root slash.
                            if !relative && src == end {
                                dst += 1;
                            }
                        }
                        // v2 reports this removal only before the end.
                        if done {
                            skip_copy = true;
                        } else {
                            src += 1;
                            changed = true;
                        }
                    }
                } else if dst == 0 {
                    // Leading self-reference: dropped.
                    changed = true;
                    if done {
                        skip_copy = true;
                    } else {
                        src += 1;
                    }
                } else if at(buf, dst - 1) == b'/' {
                    // Self-reference: dropped with its slash.
                    changed = true;
                    if done {
                        skip_copy = true;
                    } else {
                        dst -= 1;
                        src += 1;
                    }
                }
            } else if dst > 0 {
                hit_root = false;
            }
        }

        if skip_copy {
            continue;
        }

        if at(buf, src) == b'/' {
            // Collapse a run of separators to its last one.
            while src < end && is_sep(at(buf, src + 1)) {
                src += 1;
                changed = true;
            }
            // A relative path does not start with a slash.
            if relative && dst == 0 {
                src += 1;
                continue;
            }
        }
        let b = at(buf, src);
        set(buf, dst, b);
        dst += 1;
        src += 1;
    }

    if !trailing && dst > 0 && at(buf, dst - 1) == b'/' {
        dst -= 1;
    }
    (usize::try_from(dst).unwrap_or(0), changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(input: &[u8]) -> Vec<u8> {
        normalize_path(input, false).0.into_owned()
    }

    fn win(input: &[u8]) -> Vec<u8> {
        normalize_path(input, true).0.into_owned()
    }

    /// v2 tests/tfn/normalisePath.t, input → output.
    const CASES: &[(&str, &str)] = &[
        ("", ""),
        ("/foo/bar/baz", "/foo/bar/baz"),
        ("/foo/bar\0/baz", "/foo/bar\0/baz"),
        ("x", "x"),
        (".", ""),
        ("./", ""),
        ("./..", ".."),
        ("./../", "../"),
        ("..", ".."),
        ("../", "../"),
        ("../.", ".."),
        (".././", "../"),
        ("../..", "../.."),
        ("../../", "../../"),
        ("/dir/foo//bar", "/dir/foo/bar"),
        ("dir/foo//bar/", "dir/foo/bar/"),
        ("dir/../foo", "foo"),
        ("dir/../../foo", "../foo"),
        ("dir/./.././../../foo/bar", "../../foo/bar"),
        ("dir/./.././../../foo/bar/.", "../../foo/bar"),
        ("dir/./.././../../foo/bar/./", "../../foo/bar/"),
        ("dir/./.././../../foo/bar/..", "../../foo"),
        ("dir/./.././../../foo/bar/../", "../../foo/"),
        ("dir/./.././../../foo/bar/", "../../foo/bar/"),
        ("dir//.//..//.//..//..//foo//bar", "../../foo/bar"),
        ("dir//.//..//.//..//..//foo//bar//", "../../foo/bar/"),
        ("dir/subdir/subsubdir/subsubsubdir/../../..", "dir"),
        ("dir/./subdir/./subsubdir/./subsubsubdir/../../..", "dir"),
        ("dir/./subdir/../subsubdir/../subsubsubdir/..", "dir"),
        ("/dir/./subdir/../subsubdir/../subsubsubdir/../", "/dir/"),
    ];

    #[test]
    fn v2_unix_cases() {
        for (input, want) in CASES {
            assert_eq!(unix(input.as_bytes()), want.as_bytes(), "{input:?}");
        }
    }

    #[test]
    fn v2_windows_cases() {
        // v2 tests/tfn/normalisePathWin.t: the same table with backslashes.
        for (input, want) in CASES {
            let input = input.replace('/', "\\");
            assert_eq!(win(input.as_bytes()), want.as_bytes(), "{input:?}");
        }
        assert_eq!(win(b"\\dir\\foo\\\\bar"), b"/dir/foo/bar");
        assert_eq!(win(b"dir/..\\foo"), b"foo");
    }

    #[test]
    fn unix_keeps_backslashes() {
        assert_eq!(unix(b"a\\..\\b"), b"a\\..\\b");
    }

    #[test]
    fn absolute_paths_stop_at_root() {
        // v2 keeps the root slash here, then its trailing-slash rule (the
        // input had none) removes it.
        assert_eq!(unix(b"/.."), b"");
        assert_eq!(unix(b"/../"), b"/");
        assert_eq!(unix(b"/../etc/passwd"), b"/etc/passwd");
        assert_eq!(unix(b"/a/../../etc/./passwd"), b"/etc/passwd");
    }

    #[test]
    fn dots_without_separator() {
        assert_eq!(unix(b"ab.."), b"");
        assert_eq!(unix(b"a.."), b"a..");
        assert_eq!(unix(b"x."), b"x.");
        assert!(matches!(
            normalize_path(b"index.php", false).0,
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn fast_path_only_for_normal_paths() {
        assert!(is_normal(b"/index.php", false));
        assert!(is_normal(b"a\\.\\b", false));
        assert!(!is_normal(b"a\\b", true));
        assert!(!is_normal(b"a//b", false));
        assert!(!is_normal(b"a/./b", false));
        assert!(!is_normal(b"a.", false));
        // v2 treats any segment ending in ".." as a back-reference.
        assert!(!is_normal(b"/foo../bar", false));
        assert_eq!(unix(b"/a/foo../bar"), b"/a/bar");
    }

    proptest::proptest! {
        #[test]
        fn fast_path_is_the_byte_walk(input in proptest::collection::vec(
            proptest::sample::select(b"/.\\a".to_vec()), 0..12), win: bool) {
            // The definition the slash search replaced: one pass over every
            // byte with the previous one.
            let walk = |input: &[u8]| {
                if win && input.contains(&b'\\') {
                    return false;
                }
                let mut prev = None;
                for &b in input {
                    match (prev, b) {
                        (Some(b'/'), b'/') | (Some(b'.'), b'/') => return false,
                        _ => prev = Some(b),
                    }
                }
                prev != Some(b'.')
            };
            proptest::prop_assert_eq!(is_normal(&input, win), walk(&input));
        }
    }

    #[test]
    fn unchanged_borrows() {
        assert!(matches!(
            normalize_path(b"/foo/bar", false).0,
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn change_report_misses_final_back_reference() {
        assert_eq!(
            normalize_path(b"a/b/..", false),
            (Cow::Owned(b"a".to_vec()), false)
        );
        assert_eq!(
            normalize_path(b"a/b/../", false),
            (Cow::Owned(b"a/".to_vec()), true)
        );
        assert_eq!(
            normalize_path(b"a//b", false),
            (Cow::Owned(b"a/b".to_vec()), true)
        );
        assert!(normalize_path(b"a\\b", true).1);
    }
}
