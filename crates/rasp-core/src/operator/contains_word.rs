//! `@containsWord`: the argument appears in the value as a whole word.

/// v2's test: an occurrence of `word` whose previous byte (if any) and next
/// byte (if any) are not word characters (`[A-Za-z0-9_]`). The empty word
/// always matches.
pub fn contains_word(value: &[u8], word: &[u8]) -> bool {
    if word.is_empty() {
        return true;
    }
    if word.len() > value.len() {
        return false;
    }
    let last = value.len() - word.len();
    (0..=last).any(|i| {
        let before_ok = i == 0 || value.get(i - 1).is_some_and(|&b| !is_word(b));
        before_ok
            && value.get(i..i + word.len()) == Some(word)
            && (i == last || value.get(i + word.len()).is_some_and(|&b| !is_word(b)))
    })
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries() {
        assert!(contains_word(b"select from", b"select"));
        assert!(contains_word(b"x=select", b"select"));
        assert!(contains_word(b"select", b"select"));
        assert!(!contains_word(b"selection", b"select"));
        assert!(!contains_word(b"_select", b"select"));
        assert!(!contains_word(b"preselect", b"select"));
        // A later occurrence can still be a word.
        assert!(contains_word(b"selected select", b"select"));
        assert!(contains_word(b"a", b""));
        assert!(!contains_word(b"ab", b"abc"));
        // Non-ASCII bytes are not word characters.
        assert!(contains_word(b"\xe9select\xe9", b"select"));
    }
}
