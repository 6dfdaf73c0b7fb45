//! Operators: from `@name argument` to a compiled [`Operator`].
//!
//! v2 resolves operator names through an `apr_table`, so they are
//! case-insensitive (`@pmFromFile` = `@pmfromfile`). Data files
//! (`@pmFromFile`, `@ipMatchFromFile`) are resolved relative to the
//! directory of the rule file, as v2's `resolve_relative_path` does.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ctx::Ctx;
use super::suggest;
use crate::build;
use crate::error::{CompileError, CompileErrorKind};
use crate::ir::operator::{CompiledRegex, IpNet, Operator, OperatorKind};
use crate::parse::lexer::Word;
use crate::parse::macros::{has_macro_syntax, parse_macros};
use crate::parse::operator::RawOperator;
use crate::parse::pm_content;

/// Operators ModSecurity has but rasp does not run.
const UNSUPPORTED: &[&str] = &[
    "rbl",
    "geolookup",
    "gsblookup",
    "inspectfile",
    "verifycc",
    "verifycpf",
    "verifyssn",
    "validatedtd",
    "validateschema",
    "validatehash",
    "fuzzyhash",
    "rsub",
];

/// Every supported operator, canonical spelling.
const SUPPORTED: &[&str] = &[
    "rx",
    "pm",
    "pmf",
    "pmFromFile",
    "strmatch",
    "streq",
    "contains",
    "containsWord",
    "beginsWith",
    "endsWith",
    "within",
    "eq",
    "ge",
    "gt",
    "le",
    "lt",
    "ipMatch",
    "ipMatchF",
    "ipMatchFromFile",
    "detectSQLi",
    "detectXSS",
    "validateByteRange",
    "validateUrlEncoding",
    "validateUtf8Encoding",
    "unconditionalMatch",
    "noMatch",
];

/// The canonical spelling of a supported operator, from its lower-cased name.
pub(crate) fn canonical_name(lower: &str) -> Option<&'static str> {
    SUPPORTED
        .iter()
        .copied()
        .find(|name| name.eq_ignore_ascii_case(lower))
}

/// Builds the operator of a `SecRule`. `word` is the operator word (for
/// error positions), `base_dir` the rule file's directory.
pub(crate) fn build_operator(
    ctx: &mut Ctx,
    raw: &RawOperator,
    word: &Word,
    base_dir: &Path,
) -> Result<(Operator, &'static str), CompileError> {
    let lower = raw.name.to_ascii_lowercase();
    let at_arg = |offset: usize| word.location_at(raw.argument_offset + offset);
    let err_arg = |kind: CompileErrorKind, msg: String| CompileError::new(kind, msg).at(at_arg(0));
    let Some(canonical) = canonical_name(&lower) else {
        let message = if UNSUPPORTED.contains(&lower.as_str()) {
            format!("operator @{} is not supported by rasp", raw.name)
        } else if raw.name.is_empty() {
            "missing operator name after @".to_string()
        } else {
            format!(
                "unknown operator @{}{}",
                raw.name,
                suggest::hint(&raw.name, SUPPORTED.iter().copied())
            )
        };
        let err = CompileError::new(CompileErrorKind::UnsupportedOperator, message)
            .at(word.location_at(raw.name_offset));
        return Err(if UNSUPPORTED.contains(&lower.as_str()) {
            err.unsupported()
        } else {
            err
        });
    };
    let arg = raw.argument.as_str();
    let macro_arg = |arg: &str| {
        parse_macros(arg).map_err(|e| {
            CompileError::new(CompileErrorKind::BadArgument, e.message).at(at_arg(e.offset))
        })
    };
    let needs_arg = |what: &str| -> Result<(), CompileError> {
        if arg.is_empty() {
            Err(err_arg(
                CompileErrorKind::BadArgument,
                format!("operator @{canonical} needs {what}"),
            ))
        } else {
            Ok(())
        }
    };
    let kind = match canonical {
        "rx" => {
            if has_macro_syntax(arg) {
                OperatorKind::RxMacro(macro_arg(arg)?)
            } else {
                let measured = ctx.rx(arg).map_err(|e| {
                    let kind = if e.size_limit {
                        CompileErrorKind::SizeLimit {
                            limit: build::regex::REGEX_SIZE_LIMIT,
                        }
                    } else {
                        CompileErrorKind::Regex
                    };
                    let err =
                        CompileError::new(kind, format!("bad regular expression: {}", e.message))
                            .at(at_arg(e.offset.unwrap_or(0)))
                            .also_at(word.location());
                    match e.syntax {
                        Some(se) => err.caused_by(*se),
                        None => err,
                    }
                })?;
                OperatorKind::Rx(CompiledRegex {
                    source: arg.to_string(),
                    regex: measured.regex,
                    matches_everything: CompiledRegex::matches_everything(arg),
                    min_len: measured.min_len,
                    required: measured.required,
                    match_message: CompiledRegex::match_message(arg),
                })
            }
        }
        "pm" => {
            needs_arg("a list of phrases")?;
            let phrases =
                pm_argument_phrases(arg).map_err(|m| err_arg(CompileErrorKind::BadArgument, m))?;
            let set = build::phrases::build_sized(phrases).map_err(|e| {
                err_arg(
                    CompileErrorKind::SizeLimit { limit: 0 },
                    format!("cannot build phrase list: {e}"),
                )
            })?;
            OperatorKind::Pm(set)
        }
        "pmf" | "pmFromFile" => {
            needs_arg("one or more data file names")?;
            let files = data_files(arg, base_dir)
                .map_err(|m| err_arg(CompileErrorKind::UnsupportedOperator, m).unsupported())?;
            if let Some(set) = ctx.phrase_files.get(&files) {
                OperatorKind::Pm(set.clone())
            } else {
                let mut phrases = Vec::new();
                for f in &files {
                    let text = read_data_file(f).map_err(|m| err_arg(CompileErrorKind::Io, m))?;
                    phrases.extend(data_file_phrases(&text).map_err(|m| {
                        err_arg(
                            CompileErrorKind::BadArgument,
                            format!("{}: {m}", f.display()),
                        )
                    })?);
                }
                let set = build::phrases::build_sized(phrases).map_err(|e| {
                    err_arg(
                        CompileErrorKind::SizeLimit { limit: 0 },
                        format!("cannot build phrase list: {e}"),
                    )
                })?;
                ctx.phrase_files.insert(files, set.clone());
                OperatorKind::Pm(set)
            }
        }
        "strmatch" => {
            needs_arg("a string")?;
            OperatorKind::StrMatch(arg.to_string())
        }
        "streq" => OperatorKind::StrEq(macro_arg(arg)?),
        "contains" => OperatorKind::Contains(macro_arg(arg)?),
        "containsWord" => OperatorKind::ContainsWord(macro_arg(arg)?),
        "beginsWith" => OperatorKind::BeginsWith(macro_arg(arg)?),
        "endsWith" => OperatorKind::EndsWith(macro_arg(arg)?),
        "within" => OperatorKind::Within(macro_arg(arg)?),
        "eq" | "ge" | "gt" | "le" | "lt" => {
            needs_arg("a number")?;
            let m = macro_arg(arg)?;
            if let Some(lit) = m.as_literal() {
                // v2 reads the argument with atoi and would quietly compare
                // against 0; a literal that is not a number is a rule bug.
                if lit.trim().parse::<i64>().is_err() {
                    return Err(err_arg(
                        CompileErrorKind::BadArgument,
                        format!("operator @{canonical} needs a number or a macro, got {lit:?}"),
                    ));
                }
            }
            match canonical {
                "eq" => OperatorKind::Eq(m),
                "ge" => OperatorKind::Ge(m),
                "gt" => OperatorKind::Gt(m),
                "le" => OperatorKind::Le(m),
                _ => OperatorKind::Lt(m),
            }
        }
        "ipMatch" => {
            needs_arg("a list of IP addresses or networks")?;
            let nets = parse_ip_list(arg.split(','))
                .map_err(|m| err_arg(CompileErrorKind::BadArgument, m))?;
            OperatorKind::IpMatch(Arc::new(nets))
        }
        "ipMatchF" | "ipMatchFromFile" => {
            needs_arg("a data file name")?;
            let files = data_files(arg, base_dir)
                .map_err(|m| err_arg(CompileErrorKind::UnsupportedOperator, m).unsupported())?;
            let mut nets = Vec::new();
            for f in &files {
                let text = read_data_file(f).map_err(|m| err_arg(CompileErrorKind::Io, m))?;
                let lines = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'));
                nets.extend(parse_ip_list(lines).map_err(|m| {
                    err_arg(
                        CompileErrorKind::BadArgument,
                        format!("{}: {m}", f.display()),
                    )
                })?);
            }
            OperatorKind::IpMatch(Arc::new(nets))
        }
        "detectSQLi" => OperatorKind::DetectSqli,
        "detectXSS" => OperatorKind::DetectXss,
        "validateByteRange" => {
            needs_arg("byte ranges such as 1-255")?;
            OperatorKind::ValidateByteRange(Arc::new(
                parse_byte_ranges(arg).map_err(|m| err_arg(CompileErrorKind::BadArgument, m))?,
            ))
        }
        "validateUrlEncoding" => OperatorKind::ValidateUrlEncoding,
        "validateUtf8Encoding" => OperatorKind::ValidateUtf8Encoding,
        "unconditionalMatch" => OperatorKind::UnconditionalMatch,
        _ => OperatorKind::NoMatch,
    };
    Ok((
        Operator {
            kind,
            negated: raw.negated,
            name: raw.name.clone(),
            argument: raw.argument.clone(),
        },
        canonical,
    ))
}

/// Phrases of an `@pm` argument: v2 decodes the whole argument as phrase
/// content (see [`crate::parse::pm_content`]) and then splits it at
/// whitespace.
fn pm_argument_phrases(arg: &str) -> Result<Vec<String>, String> {
    let decoded = phrase_text(pm_content::decode(arg))?;
    Ok(decoded
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect())
}

/// Phrases of a `@pmFromFile` data file: each line decoded as phrase
/// content, then trimmed; empty lines and `#` comments skipped (v2
/// `msre_op_pmFromFile_param_init`).
pub(crate) fn data_file_phrases(text: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let decoded = phrase_text(pm_content::decode(line))?;
        let phrase = decoded.trim();
        if phrase.is_empty() || phrase.starts_with('#') {
            continue;
        }
        out.push(phrase.to_string());
    }
    Ok(out)
}

fn phrase_text(bytes: Vec<u8>) -> Result<String, String> {
    String::from_utf8(bytes)
        .map_err(|_| "binary phrase content (|hex|) that is not UTF-8 is not supported".to_string())
}

/// Resolves whitespace-separated data file names against the rule file's
/// directory. Sorted so that caching by file list is order-independent
/// (a phrase set does not depend on the order of its phrases).
pub(crate) fn data_files(arg: &str, base_dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for name in arg.split_ascii_whitespace() {
        if name.starts_with("http://") || name.starts_with("https://") {
            return Err(format!(
                "remote data files are not supported by rasp ({name})"
            ));
        }
        let p = Path::new(name);
        out.push(if p.is_absolute() {
            p.to_path_buf()
        } else {
            base_dir.join(p)
        });
    }
    out.sort();
    Ok(out)
}

pub(crate) fn read_data_file(path: &Path) -> Result<String, String> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|e| format!("cannot read data file {}: {e}", path.display()))
}

/// Parses IPv4/IPv6 addresses and CIDR networks.
pub(crate) fn parse_ip_list<'a>(
    items: impl Iterator<Item = &'a str>,
) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for item in items.map(str::trim).filter(|s| !s.is_empty()) {
        let (addr, prefix) = match item.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (item, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{item:?} is not an IP address or network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => return Err(format!("bad prefix length in {item:?} (0-{max})")),
            },
        };
        out.push(IpNet { addr, prefix });
    }
    if out.is_empty() {
        return Err("no IP addresses given".into());
    }
    Ok(out)
}

/// Parses `@validateByteRange` arguments (`1-255`, `9,10,13,32-126`).
pub(crate) fn parse_byte_ranges(arg: &str) -> Result<[bool; 256], String> {
    let mut table = [false; 256];
    for part in arg.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let byte = |s: &str| -> Result<u8, String> {
            s.trim()
                .parse::<u8>()
                .map_err(|_| format!("{s:?} is not a byte value (0-255) in range {part:?}"))
        };
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (byte(a)?, byte(b)?),
            None => {
                let v = byte(part)?;
                (v, v)
            }
        };
        if b < a {
            return Err(format!("byte range {part:?} ends before it starts"));
        }
        for v in a..=b {
            table[usize::from(v)] = true;
        }
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges() {
        let t = parse_byte_ranges("9,10, 32-126").unwrap();
        assert!(t[9] && t[10] && t[32] && t[126] && !t[127] && !t[0]);
        assert!(parse_byte_ranges("1-256").is_err());
        assert!(parse_byte_ranges("5-1").is_err());
    }

    #[test]
    fn ip_lists() {
        let nets = parse_ip_list("127.0.0.1, 10.0.0.0/8,::1,2001:db8::/32".split(',')).unwrap();
        assert_eq!(nets.len(), 4);
        assert!(nets[1].contains("10.1.2.3".parse().unwrap()));
        assert!(!nets[1].contains("11.1.2.3".parse().unwrap()));
        assert!(nets[3].contains("2001:db8::1".parse().unwrap()));
        assert!(parse_ip_list(["10.0.0.0/33"].into_iter()).is_err());
        assert!(parse_ip_list(["nope"].into_iter()).is_err());
    }
}
