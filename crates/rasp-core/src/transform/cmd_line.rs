//! `t:cmdLine`: ModSecurity v2's normalisation of command lines, against
//! evasions like `c^md`, `"c"at` or `ls  ,-la`.
//!
//! - deletes `\`, `"`, `'` and `^`;
//! - turns each run of space, `\t`, `\r`, `\n`, `,` and `;` into one space
//!   (deleted characters inside the run do not break it);
//! - deletes a space before `/` or `(`;
//! - lowercases ASCII letters.
//!
//! v2 works on a C string here: the value ends at its first NUL byte.

use std::borrow::Cow;

/// `t:cmdLine`.
pub(super) fn cmd_line(input: &[u8]) -> Cow<'_, [u8]> {
    if unchanged(input) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(rewrite(input))
}

/// The whole normalisation, written straight into a vector. Most bytes
/// are written as [`written`] maps them (lower-cased, a separator as a
/// space): letters, and a separator after a byte that is not one. Runs
/// of those are copied at once; only the other bytes (a deleted one, a
/// repeated separator, `/` or `(` after one) take a branch of their own,
/// which is rarely taken. Words and spaces alternate at random in text, so
/// a branch on each byte's kind was mispredicted about once a word
/// (measured on the bench's 4 KiB form text, 1.7 → 1.0 ns per byte); the
/// runs are found a chunk at a time and copied with arithmetic, both
/// vectorised, instead of a table lookup per byte (77 k → 37 k
/// instructions on that text, 3.8 KiB once per exchange).
pub(super) fn rewrite(input: &[u8]) -> Vec<u8> {
    // v2's C string ends at the first NUL.
    let input = memchr::memchr(0, input).map_or(input, |end| input.get(..end).unwrap_or(input));
    let mut out = Vec::with_capacity(input.len());
    // Whether the last byte written is a separator's space (deleted bytes
    // since do not count).
    let mut in_space = false;
    // Where the bytes not copied yet start.
    let mut start = 0;
    let mut at = 0;
    while at < input.len() {
        // A chunk without a byte that breaks the run is part of it, tested
        // all at once (the compiler turns the test into vector compares):
        // in prose a break (an apostrophe, a comma before a space, a line
        // end) comes every few hundred bytes (21 in the form's 3.8 KiB).
        if let Some(chunk) = input.get(at..at + CHUNK) {
            if !breaks_run(chunk, in_space) {
                in_space = chunk.last().is_some_and(|&c| is_separator(c));
                at += CHUNK;
                continue;
            }
        }
        let end = (at + CHUNK).min(input.len());
        for (i, &c) in input.get(at..end).unwrap_or_default().iter().enumerate() {
            let role = ROLE[usize::from(c)];
            let separator = role == SEPARATOR;
            if role == KEEP || (separator && !in_space) {
                in_space = separator;
                continue;
            }
            copy(&mut out, input.get(start..at + i).unwrap_or_default());
            start = at + i + 1;
            if role == TIGHT {
                // A space before `/` or `(` is taken back.
                if in_space {
                    out.pop();
                }
                out.push(c);
                in_space = false;
            }
            // A deleted byte or a repeated separator is left out, and the
            // run of separators goes on.
        }
        at = end;
    }
    copy(&mut out, input.get(start..).unwrap_or_default());
    out
}

/// Bytes tested at once for a break of the run being copied.
const CHUNK: usize = 32;

/// Whether a byte of `chunk` is not copied as [`written`] maps it: a
/// deleted byte, `/` or `(` (which may take a space back), or a separator
/// after a separator (`in_space` for the byte before the chunk). No
/// branch per byte: the compiler vectorises it.
fn breaks_run(chunk: &[u8], in_space: bool) -> bool {
    let mut previous_separator = in_space;
    let mut breaks = false;
    for &c in chunk {
        let separator = is_separator(c);
        let deleted_or_tight = any_of(c, &DELETED) | (c == b'/') | (c == b'(');
        breaks |= deleted_or_tight | (separator & previous_separator);
        previous_separator = separator;
    }
    breaks
}

/// One of [`SEPARATORS`].
fn is_separator(c: u8) -> bool {
    any_of(c, &SEPARATORS)
}

/// Whether `c` is one of `set`: compares joined without branches, which
/// the compiler vectorises over a chunk (a `match` became bit tests that
/// it does not).
fn any_of(c: u8, set: &[u8]) -> bool {
    set.iter().fold(false, |any, &s| any | (c == s))
}

/// `run` as the normalisation writes it: separators as spaces, letters
/// lower-cased (arithmetic the compiler vectorises, where a table lookup
/// per byte cannot be).
fn copy(out: &mut Vec<u8>, run: &[u8]) {
    let from = out.len();
    out.resize(from + run.len(), 0);
    if let Some(to) = out.get_mut(from..) {
        for (o, &c) in to.iter_mut().zip(run) {
            *o = written(c);
        }
    }
}

/// What [`rewrite`] writes for a byte it keeps.
fn written(c: u8) -> u8 {
    if is_separator(c) {
        b' '
    } else {
        c.to_ascii_lowercase()
    }
}

/// A byte [`rewrite`] keeps, lower-cased.
const KEEP: u8 = 0;
/// A byte deleted: `\`, `"`, `'`, `^`.
const DELETE: u8 = 1;
/// A separator: space, `,`, `;`, `\t`, `\r`, `\n`.
const SEPARATOR: u8 = 2;
/// `/` or `(`: kept, with no space before it.
const TIGHT: u8 = 3;

/// The separators: each run of them becomes one space.
const SEPARATORS: [u8; 6] = [b' ', b',', b';', b'\t', b'\r', b'\n'];
/// The bytes deleted.
const DELETED: [u8; 4] = [b'\\', b'"', b'\'', b'^'];

/// Each byte's part in [`rewrite`].
static ROLE: [u8; 256] = {
    let mut role = [KEEP; 256];
    let mut i = 0;
    while i < SEPARATORS.len() {
        role[SEPARATORS[i] as usize] = SEPARATOR;
        i += 1;
    }
    let mut i = 0;
    while i < DELETED.len() {
        role[DELETED[i] as usize] = DELETE;
        i += 1;
    }
    role[b'/' as usize] = TIGHT;
    role[b'(' as usize] = TIGHT;
    role
};

/// Whether `cmd_line` would return `input` as is: no byte it deletes,
/// replaces or lowercases, no run of separators and no space before `/`
/// or `(`.
fn unchanged(input: &[u8]) -> bool {
    let mut after_space = false;
    for &c in input {
        match c {
            0 | b'"' | b'\'' | b'\\' | b'^' | b',' | b';' | b'\t' | b'\r' | b'\n' | b'A'..=b'Z' => {
                return false
            }
            b' ' if after_space => return false,
            b' ' => after_space = true,
            b'/' | b'(' if after_space => return false,
            _ => after_space = false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(input: &[u8]) -> Vec<u8> {
        cmd_line(input).into_owned()
    }

    #[test]
    fn unchanged() {
        assert!(matches!(cmd_line(b"ls -la"), Cow::Borrowed(_)));
        assert!(matches!(cmd_line(b"cat/etc/passwd"), Cow::Borrowed(_)));
    }

    #[test]
    fn reference_manual_examples() {
        // The ModSecurity reference manual's cmdLine examples.
        assert_eq!(cmd(b"c^ommand /c ..."), b"command/c ...");
        assert_eq!(cmd(b"\"command\" /c ..."), b"command/c ...");
        assert_eq!(cmd(b"'co\"mm\\and' ,;  /c"), b"command/c");
    }

    #[test]
    fn evasions() {
        assert_eq!(cmd(b"C^A^T  /ETC/PASSWD"), b"cat/etc/passwd");
        assert_eq!(cmd(b"ls\t,;\r\n-la"), b"ls -la");
        assert_eq!(cmd(b"echo ;' ' (id)"), b"echo(id)");
        assert_eq!(cmd(b" /bin"), b"/bin");
        assert_eq!(cmd(b"a ,"), b"a ");
    }

    #[test]
    fn stops_at_nul() {
        assert_eq!(cmd(b"ls\0 -la"), b"ls");
    }

    #[test]
    fn vertical_tab_and_form_feed_are_not_spaces() {
        assert_eq!(cmd(b"a\x0b\x0cb"), b"a\x0b\x0cb");
    }

    /// The normalisation as the description above says it, one byte at
    /// a time: what the run-copying `rewrite` must agree with.
    fn byte_by_byte(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut in_space = false;
        for &c in input {
            match c {
                0 => break,
                b'"' | b'\'' | b'\\' | b'^' => {}
                b' ' | b',' | b';' | b'\t' | b'\r' | b'\n' => {
                    if !in_space {
                        out.push(b' ');
                        in_space = true;
                    }
                }
                b'/' | b'(' => {
                    if in_space {
                        out.pop();
                    }
                    in_space = false;
                    out.push(c);
                }
                _ => {
                    out.push(c.to_ascii_lowercase());
                    in_space = false;
                }
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        #[test]
        fn agrees_with_the_byte_by_byte_normalisation(
            input in proptest::collection::vec(proptest::sample::select(
                b"aZ09 ,;\t\r\n\\\"'^/(\0\x0b\xe9.-".to_vec()), 0..48)
        ) {
            proptest::prop_assert_eq!(cmd(&input), byte_by_byte(&input));
            proptest::prop_assert_eq!(rewrite(&input), byte_by_byte(&input));
        }

        /// Mostly letters: long runs with no byte to handle, so that whole
        /// chunks take `rewrite`'s fast path between the others.
        #[test]
        fn agrees_on_text_with_long_runs(
            input in proptest::collection::vec(proptest::sample::select(
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123  ,.;'\"/(\t\n^".to_vec()), 0..400)
        ) {
            proptest::prop_assert_eq!(rewrite(&input), byte_by_byte(&input));
        }
    }
}
