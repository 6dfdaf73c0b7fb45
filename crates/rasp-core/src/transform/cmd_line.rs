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

/// The whole normalisation, written straight into a vector (the value
/// changes): the copy-on-write writer's per-byte comparison made this the
/// slowest transformation on long values.
pub(super) fn rewrite(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
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
}
