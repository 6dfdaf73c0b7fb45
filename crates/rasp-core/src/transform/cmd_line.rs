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
/// are written as [`WRITTEN`] maps them (lower-cased, a separator as a
/// space): letters, and a separator after a byte that is not one. Runs
/// of those are copied at once; only the other bytes (a deleted one, a
/// repeated separator, `/` or `(` after one) take a branch of their own,
/// which is rarely taken. Words and spaces alternate at random in text, so
/// a branch on each byte's kind was mispredicted about once a word:
/// measured on the bench's 4 KiB form text, 1.7 → 1.0 ns per byte (the
/// form POST runs about 4.5 KiB through it per exchange).
pub(super) fn rewrite(input: &[u8]) -> Vec<u8> {
    // v2's C string ends at the first NUL.
    let input = memchr::memchr(0, input).map_or(input, |end| input.get(..end).unwrap_or(input));
    let mut out = Vec::with_capacity(input.len());
    let copy = |out: &mut Vec<u8>, run: &[u8]| {
        out.extend(run.iter().map(|&c| WRITTEN[usize::from(c)]));
    };
    // Whether the last byte written is a separator's space (deleted bytes
    // since do not count).
    let mut in_space = false;
    // Where the bytes not copied yet start.
    let mut start = 0;
    for (at, &c) in input.iter().enumerate() {
        let role = ROLE[usize::from(c)];
        let separator = role == SEPARATOR;
        if role == KEEP || (separator && !in_space) {
            in_space = separator;
            continue;
        }
        copy(&mut out, input.get(start..at).unwrap_or_default());
        start = at + 1;
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
    copy(&mut out, input.get(start..).unwrap_or_default());
    out
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

/// What [`rewrite`] writes for each byte: a space for a separator, the
/// byte lower-cased otherwise.
static WRITTEN: [u8; 256] = {
    let mut written = [0; 256];
    let mut c = 0;
    while c < 256 {
        written[c] = (c as u8).to_ascii_lowercase();
        c += 1;
    }
    let mut i = 0;
    while i < SEPARATORS.len() {
        written[SEPARATORS[i] as usize] = b' ';
        i += 1;
    }
    written
};

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
    }
}
