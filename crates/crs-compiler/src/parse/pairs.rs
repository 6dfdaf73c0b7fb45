//! The name/value list reader that ModSecurity v2 uses for both target
//! lists (`ARGS|!ARGS:foo|&TX:x`) and action lists (`id:1,t:none,msg:'…'`),
//! `msre_parse_generic` in `re.c`.
//!
//! Pairs are separated by `,` or `|` (both in either list) and optional
//! whitespace. A value follows a `:`. A value in single quotes may contain
//! separators; inside it a backslash must be followed by `'` or `\` (which
//! it escapes), anything else is an error, exactly as in v2. An unquoted
//! value runs to the next separator or whitespace.
//!
//! One deliberate extension for targets: an unquoted selector that starts
//! with `/` runs to its closing unescaped `/`, so `ARGS:/^a|b$/` keeps its
//! `|`. ModSecurity v2 would split it into two broken targets (and then
//! reject `b$/` as an unknown variable); v3 and Coraza read it as one regex.

/// One `name[:value]` pair with byte offsets into the parsed text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pair {
    /// The name as written (for targets including any `!`/`&` prefix).
    pub(crate) name: String,
    /// Offset of the name.
    pub(crate) name_offset: usize,
    /// The value, unquoted; `None` when absent or empty.
    pub(crate) value: Option<String>,
    /// Offset of the value's first character (after an opening quote).
    pub(crate) value_offset: usize,
    /// True when the value was written in single quotes.
    pub(crate) quoted: bool,
}

/// A malformed list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PairError {
    /// What is wrong.
    pub(crate) message: String,
    /// Offset into the text.
    pub(crate) offset: usize,
}

/// Which list is read (they differ only in the `/regex/` extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListKind {
    /// A target list.
    Targets,
    /// An action list.
    Actions,
}

fn is_sep(b: u8) -> bool {
    b == b',' || b == b'|' || b.is_ascii_whitespace()
}

/// Reads a list of pairs.
pub(crate) fn parse_pairs(text: &str, kind: ListKind) -> Result<Vec<Pair>, PairError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut p = 0;
    loop {
        while p < b.len() && b[p].is_ascii_whitespace() {
            p += 1;
        }
        if p >= b.len() {
            return Ok(out);
        }
        let name_start = p;
        while p < b.len() && !is_sep(b[p]) && b[p] != b':' {
            p += 1;
        }
        let name = text.get(name_start..p).unwrap_or_default().to_string();
        if name.is_empty() {
            return Err(PairError {
                message: format!("expected a name, found {:?}", char_at(text, p)),
                offset: p,
            });
        }
        if b.get(p) != Some(&b':') {
            out.push(Pair {
                name: name.clone(),
                name_offset: name_start,
                value: None,
                value_offset: p,
                quoted: false,
            });
            while p < b.len() && b[p].is_ascii_whitespace() {
                p += 1;
            }
            if p >= b.len() {
                return Ok(out);
            }
            if b[p] == b',' || b[p] == b'|' {
                p += 1;
                continue;
            }
            return Err(PairError {
                message: format!(
                    "unexpected {:?} after {name:?} (missing comma?)",
                    char_at(text, p)
                ),
                offset: p,
            });
        }
        p += 1; // the colon
        if p >= b.len() || b[p] == b',' || b[p] == b'|' {
            out.push(Pair {
                name,
                name_offset: name_start,
                value: None,
                value_offset: p,
                quoted: false,
            });
            p += 1;
            continue;
        }
        let (value, value_offset, quoted) = if b[p] == b'\'' {
            let open = p;
            p += 1;
            let start = p;
            let mut v = String::new();
            loop {
                match b.get(p) {
                    None => {
                        return Err(PairError {
                            message: format!("missing closing quote for the value of {name:?}"),
                            offset: open,
                        })
                    }
                    Some(b'\\') => match b.get(p + 1) {
                        Some(&c @ (b'\'' | b'\\')) => {
                            v.push(c as char);
                            p += 2;
                        }
                        _ => {
                            return Err(PairError {
                                message: format!(
                                    "invalid escape in the quoted value of {name:?}: a backslash must be followed by ' or \\ (write \\\\ for a backslash)"
                                ),
                                offset: p,
                            })
                        }
                    },
                    Some(b'\'') => {
                        p += 1;
                        break;
                    }
                    Some(_) => {
                        let len = text.get(p..).and_then(|s| s.chars().next()).map_or(1, char::len_utf8);
                        v.push_str(text.get(p..p + len).unwrap_or_default());
                        p += len;
                    }
                }
            }
            (v, start, true)
        } else {
            let start = p;
            let end = if kind == ListKind::Targets
                && b[p] == b'/'
                && !name
                    .trim_start_matches(['!', '&'])
                    .eq_ignore_ascii_case("XML")
            {
                regex_end(b, p).unwrap_or_else(|| plain_end(b, p))
            } else {
                plain_end(b, p)
            };
            p = end;
            (
                text.get(start..end).unwrap_or_default().to_string(),
                start,
                false,
            )
        };
        out.push(Pair {
            name,
            name_offset: name_start,
            value: if value.is_empty() && !quoted {
                None
            } else {
                Some(value)
            },
            value_offset,
            quoted,
        });
        while p < b.len() && is_sep(b[p]) {
            p += 1;
        }
    }
}

fn plain_end(b: &[u8], mut p: usize) -> usize {
    while p < b.len() && !is_sep(b[p]) {
        p += 1;
    }
    p
}

/// End (exclusive) of a `/regex/` starting at `start`, when a closing
/// unescaped slash is followed by the end of the list or a separator.
fn regex_end(b: &[u8], start: usize) -> Option<usize> {
    let mut p = start + 1;
    while p < b.len() {
        match b[p] {
            b'\\' => p += 2,
            b'/' => {
                if p + 1 >= b.len() || is_sep(b[p + 1]) {
                    return Some(p + 1);
                }
                p += 1;
            }
            _ => p += 1,
        }
    }
    None
}

fn char_at(text: &str, p: usize) -> String {
    text.get(p..)
        .and_then(|s| s.chars().next())
        .map_or_else(|| "end of list".to_string(), |c| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_values(text: &str, kind: ListKind) -> Vec<(String, Option<String>)> {
        parse_pairs(text, kind)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.value))
            .collect()
    }

    #[test]
    fn actions_with_quotes_and_whitespace() {
        let got = names_values(
            "id:1, phase:2,t:none,\n msg:'a, b \\' c',nolog",
            ListKind::Actions,
        );
        let want: Vec<(String, Option<String>)> = vec![
            ("id".into(), Some("1".into())),
            ("phase".into(), Some("2".into())),
            ("t".into(), Some("none".into())),
            ("msg".into(), Some("a, b ' c".into())),
            ("nolog".into(), None),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn v2_quoted_pair_rules() {
        assert!(parse_pairs("msg:'a\\d'", ListKind::Actions).is_err());
        assert!(parse_pairs("msg:'open", ListKind::Actions).is_err());
        assert_eq!(
            names_values("msg:'a\\\\d'", ListKind::Actions)[0]
                .1
                .as_deref(),
            Some("a\\d")
        );
        assert!(parse_pairs("id:1 phase:2", ListKind::Actions).is_ok());
        assert!(parse_pairs("nolog phase:2", ListKind::Actions).is_err());
    }

    #[test]
    fn targets_with_regex_selectors() {
        let got = names_values(
            "ARGS:/a|b:c/|!ARGS:x|&TX|XML:/*|XML://@*",
            ListKind::Targets,
        );
        let names: Vec<_> = got
            .iter()
            .map(|(n, v)| format!("{n}={}", v.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            names,
            ["ARGS=/a|b:c/", "!ARGS=x", "&TX=", "XML=/*", "XML=//@*"]
        );
        let got = names_values("ARGS:'/a b/'|REQUEST_HEADERS:User-Agent", ListKind::Targets);
        assert_eq!(got[0].1.as_deref(), Some("/a b/"));
    }
}
