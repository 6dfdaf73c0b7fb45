//! "Did you mean …?" hints for misspelled names.
//!
//! Rule authors mostly hit unknown-name errors through typos
//! (`t:urlDecodeUnI` is fine, `t:urlDecodUni` is not), so every such error
//! names the closest known name when one is close enough.

/// Case-insensitive edit distance (Levenshtein) between two ASCII-ish names.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<u8> = a.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<u8> = b.bytes().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j + 1] + 1).min(cur[j] + 1).min(prev[j] + cost);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The closest candidate within a third of the name's length (at least
/// one edit, at most three), if any.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.len() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `" (did you mean X?)"` or an empty string.
pub(crate) fn hint<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(name, candidates) {
        Some(c) => format!(" (did you mean {c}?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(
            closest("urlDecodUni", ["urlDecodeUni", "urlDecode", "lowercase"]),
            Some("urlDecodeUni")
        );
        assert_eq!(
            closest("SecRuleEngin", ["SecRuleEngine", "SecRule"]),
            Some("SecRuleEngine")
        );
        assert_eq!(closest("zzzz", ["SecRule"]), None);
        assert_eq!(hint("ARGZ", ["ARGS", "TX"]), " (did you mean ARGS?)");
    }
}
