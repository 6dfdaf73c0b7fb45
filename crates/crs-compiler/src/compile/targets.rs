//! Target lists: `ARGS|!ARGS:foo|&TX:x|REQUEST_COOKIES:/^_ga/|XML:/*`.
//!
//! Semantics follow v2 `msre_create_var_ex` and the variables' `validate`
//! hooks: `!` excludes, `&` counts (collections only), a selector on a
//! scalar is an error, `HTTP_X` is an alias for `REQUEST_HEADERS:X`, a
//! selector written `/…/` is a case-insensitive regex on member names, and
//! any selector of `XML` is an XPath expression. Plain keys are compared
//! case-insensitively, so they are stored lower-cased.

use super::ctx::Ctx;
use super::suggest;
use crate::error::{CompileError, CompileErrorKind};
use crate::ir::variable::{Exclusion, Selector, SelectorRegex, Target, Variable};
use crate::parse::lexer::Word;
use crate::parse::pairs::{parse_pairs, ListKind, Pair};

/// One parsed target, before it is sorted into targets and exclusions.
pub(crate) struct ParsedTarget {
    pub(crate) negated: bool,
    pub(crate) target: Target,
}

/// Parses a whole target list word.
pub(crate) fn parse_target_list(
    ctx: &mut Ctx,
    word: &Word,
) -> Result<Vec<ParsedTarget>, CompileError> {
    parse_target_text(ctx, &word.text).map_err(|(kind, message, offset)| {
        CompileError::new(kind, message).at(word.location_at(offset))
    })
}

/// Parses a target list given as text; errors carry a byte offset.
pub(crate) fn parse_target_text(
    ctx: &mut Ctx,
    text: &str,
) -> Result<Vec<ParsedTarget>, (CompileErrorKind, String, usize)> {
    let pairs = parse_pairs(text, ListKind::Targets).map_err(|e| {
        (
            CompileErrorKind::Syntax,
            format!("malformed variable list: {}", e.message),
            e.offset,
        )
    })?;
    if pairs.is_empty() {
        return Err((CompileErrorKind::Syntax, "missing variables".into(), 0));
    }
    pairs.iter().map(|p| parse_one(ctx, p)).collect()
}

fn parse_one(
    ctx: &mut Ctx,
    pair: &Pair,
) -> Result<ParsedTarget, (CompileErrorKind, String, usize)> {
    let (negated, count, name) = if let Some(n) = pair.name.strip_prefix('!') {
        (true, false, n)
    } else if let Some(n) = pair.name.strip_prefix('&') {
        (false, true, n)
    } else {
        (false, false, pair.name.as_str())
    };
    let mut value = pair.value.clone();
    let variable = match Variable::from_name(name) {
        Some(v) => v,
        None => {
            // v2: `HTTP_USER_AGENT` is `REQUEST_HEADERS:USER_AGENT`.
            match name.get(..5) {
                Some(prefix) if name.len() > 5 && prefix.eq_ignore_ascii_case("HTTP_") => {
                    value = name.get(5..).map(str::to_string);
                    Variable::RequestHeaders
                }
                _ => {
                    return Err((
                        CompileErrorKind::UnsupportedVariable,
                        format!(
                            "unknown variable {name:?}{}",
                            suggest::hint(name, Variable::ALL.iter().map(|v| v.name()))
                        ),
                        pair.name_offset,
                    ))
                }
            }
        }
    };
    if count && !variable.is_collection() {
        return Err((
            CompileErrorKind::BadArgument,
            format!(
                "& counts members of a collection, but {} is not a collection",
                variable.name()
            ),
            pair.name_offset,
        ));
    }
    let selector = match value {
        None => Selector::All,
        Some(v) => {
            if !variable.is_collection() {
                return Err((
                    CompileErrorKind::BadArgument,
                    format!(
                        "{} is not a collection and takes no selector (got {v:?})",
                        variable.name()
                    ),
                    pair.value_offset,
                ));
            }
            selector(ctx, variable, &v)
                .map_err(|m| (CompileErrorKind::Regex, m, pair.value_offset))?
        }
    };
    Ok(ParsedTarget {
        negated,
        target: Target {
            variable,
            selector,
            count,
        },
    })
}

fn selector(ctx: &mut Ctx, variable: Variable, v: &str) -> Result<Selector, String> {
    if variable == Variable::Xml {
        return Ok(Selector::XPath(v.to_string()));
    }
    if v.len() > 2 && v.starts_with('/') && v.ends_with('/') {
        let source = v.get(1..v.len() - 1).unwrap_or_default();
        let regex = ctx
            .name_pattern(source)
            .map_err(|e| format!("bad regex in selector {}:{v}: {e}", variable.name()))?;
        return Ok(Selector::Regex(SelectorRegex::new(source, regex)));
    }
    Ok(Selector::Key(v.to_ascii_lowercase()))
}

/// Parses the target of `ctl:ruleRemoveTargetById=ID;TARGET` or the like.
pub(crate) fn parse_exclusion(ctx: &mut Ctx, text: &str) -> Result<Exclusion, String> {
    let mut parsed = parse_target_text(ctx, text).map_err(|(_, m, _)| m)?;
    if parsed.len() != 1 {
        return Err(format!("expected exactly one target, got {text:?}"));
    }
    let Some(p) = parsed.pop() else {
        return Err("missing target".into());
    };
    if p.target.count {
        return Err(format!("cannot remove a count target (&) {text:?}"));
    }
    Ok(Exclusion {
        variable: p.target.variable,
        selector: p.target.selector,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Vec<String> {
        let mut ctx = Ctx::default();
        parse_target_text(&mut ctx, text)
            .map_err(|e| e.1)
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{}{}",
                    if p.negated { "!" } else { "" },
                    p.target.describe()
                )
            })
            .collect()
    }

    #[test]
    fn lists() {
        assert_eq!(
            parse("ARGS|!ARGS:Foo|&TX:X|REQUEST_COOKIES:/^_ga/|XML:/*|HTTP_User_Agent"),
            [
                "ARGS",
                "!ARGS:foo",
                "&TX:x",
                "REQUEST_COOKIES:/^_ga/",
                "XML:/*",
                "REQUEST_HEADERS:user_agent"
            ]
        );
    }

    #[test]
    fn errors() {
        let mut ctx = Ctx::default();
        let err = |t: &str, ctx: &mut Ctx| parse_target_text(ctx, t).err().map(|e| e.0);
        assert_eq!(
            err("NOPE", &mut ctx),
            Some(CompileErrorKind::UnsupportedVariable)
        );
        assert_eq!(
            err("REQUEST_URI:x", &mut ctx),
            Some(CompileErrorKind::BadArgument)
        );
        assert_eq!(
            err("&REQUEST_URI", &mut ctx),
            Some(CompileErrorKind::BadArgument)
        );
        assert_eq!(err("ARGS:/(/", &mut ctx), Some(CompileErrorKind::Regex));
        assert_eq!(err("", &mut ctx), Some(CompileErrorKind::Syntax));
    }
}
