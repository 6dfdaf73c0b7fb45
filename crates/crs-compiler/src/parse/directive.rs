//! Directives: the first word of a logical line names the directive, the
//! rest are its arguments. `Include` and `IncludeOptional` are expanded
//! here, so the compiler sees one flat list in load order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::lexer::{logical_lines, words, Word};
use crate::error::{CompileError, CompileErrorKind, Location};

/// How deep `Include` may nest. Apache allows 128; a cycle is caught
/// earlier by the open-file set, so this only bounds pathological trees.
const MAX_INCLUDE_DEPTH: usize = 64;

/// One directive with its words.
#[derive(Clone, Debug)]
pub(crate) struct Directive {
    /// The directive name as written.
    pub(crate) name: Word,
    /// Its arguments, quotes removed.
    pub(crate) args: Vec<Word>,
}

impl Directive {
    /// Where the directive starts.
    pub(crate) fn location(&self) -> Location {
        self.name.location()
    }

    /// The directive name as written.
    pub(crate) fn name(&self) -> &str {
        &self.name.text
    }

    /// The directory of the file the directive is in (data files and
    /// includes are relative to it).
    pub(crate) fn base_dir(&self) -> PathBuf {
        let loc = self.location();
        loc.file.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

/// Reads directives from files and strings, expanding includes.
#[derive(Debug, Default)]
pub(crate) struct Reader {
    /// Directives in load order.
    pub(crate) directives: Vec<Directive>,
    /// Errors found while reading (the reader keeps going).
    pub(crate) errors: Vec<CompileError>,
    /// Files read, in order.
    pub(crate) files: Vec<String>,
    /// Files currently open (include cycle detection).
    open: HashSet<PathBuf>,
}

impl Reader {
    /// Reads a rule file. `included_from` is the `Include` directive, for
    /// error locations.
    pub(crate) fn read_file(&mut self, path: &Path, included_from: Option<&Directive>) {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let err_at = |e: CompileError| match included_from {
            Some(d) => e.at(d.location()).in_directive(d.name()),
            None => e,
        };
        if self.open.contains(&canonical) {
            self.errors.push(err_at(CompileError::new(
                CompileErrorKind::Io,
                format!("{} includes itself (include cycle)", path.display()),
            )));
            return;
        }
        if self.open.len() >= MAX_INCLUDE_DEPTH {
            self.errors.push(err_at(CompileError::new(
                CompileErrorKind::Io,
                format!(
                    "includes nested deeper than {MAX_INCLUDE_DEPTH} levels at {}",
                    path.display()
                ),
            )));
            return;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.errors.push(err_at(CompileError::new(
                    CompileErrorKind::Io,
                    format!("cannot read rule file {}: {e}", path.display()),
                )));
                return;
            }
        };
        // Rule files are ASCII in practice; stray non-UTF-8 bytes (Latin-1
        // comments) are replaced rather than rejected, as Apache does not
        // care about encodings either.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.files.push(path.display().to_string());
        self.open.insert(canonical.clone());
        self.read_text(Arc::new(path.to_path_buf()), &text);
        self.open.remove(&canonical);
    }

    /// Reads rules given as text; `name` stands for the file in locations.
    pub(crate) fn read_text(&mut self, file: Arc<PathBuf>, text: &str) {
        for line in logical_lines(text) {
            let mut ws = match words(&line, &file) {
                Ok(ws) => ws,
                Err(e) => {
                    // The words could not be read, but the directive name
                    // (first word, never quoted in practice) still helps.
                    let name = line
                        .text()
                        .split_ascii_whitespace()
                        .next()
                        .unwrap_or_default();
                    self.errors.push(
                        CompileError::new(CompileErrorKind::Syntax, e.message)
                            .at(e.location)
                            .in_directive(name),
                    );
                    continue;
                }
            };
            if ws.is_empty() {
                continue;
            }
            let name = ws.remove(0);
            let directive = Directive { name, args: ws };
            let lower = directive.name().to_ascii_lowercase();
            if lower == "include" || lower == "includeoptional" {
                self.include(&directive, lower == "includeoptional");
            } else {
                self.directives.push(directive);
            }
        }
    }

    fn include(&mut self, d: &Directive, optional: bool) {
        let [pattern] = d.args.as_slice() else {
            self.errors.push(
                CompileError::new(
                    CompileErrorKind::Syntax,
                    "expects exactly one file or glob pattern",
                )
                .at(d.location())
                .in_directive(d.name()),
            );
            return;
        };
        let rel = Path::new(&pattern.text);
        let full = if rel.is_absolute() {
            rel.to_path_buf()
        } else {
            d.base_dir().join(rel)
        };
        let full_text = full.to_string_lossy().into_owned();
        let is_glob = pattern.text.contains(['*', '?', '[']);
        let mut files: Vec<PathBuf> = if is_glob {
            match glob::glob(&full_text) {
                Ok(paths) => paths
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .collect(),
                Err(e) => {
                    self.errors.push(
                        CompileError::new(
                            CompileErrorKind::Syntax,
                            format!("bad glob pattern {}: {e}", pattern.text),
                        )
                        .at(pattern.location())
                        .in_directive(d.name()),
                    );
                    return;
                }
            }
        } else if full.is_dir() {
            // Apache includes every file of a directory, sorted.
            match std::fs::read_dir(&full) {
                Ok(rd) => rd
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.is_file())
                    .collect(),
                Err(_) => Vec::new(),
            }
        } else if full.exists() || !optional {
            vec![full.clone()]
        } else {
            Vec::new()
        };
        files.sort();
        if files.is_empty() && !optional {
            self.errors.push(
                CompileError::new(
                    CompileErrorKind::Io,
                    format!("no file matches {}", full.display()),
                )
                .at(pattern.location())
                .in_directive(d.name()),
            );
            return;
        }
        for f in files {
            self.read_file(&f, Some(d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_in_order_with_args() {
        let mut r = Reader::default();
        r.read_text(
            Arc::new(PathBuf::from("x.conf")),
            "SecRuleEngine On\nSecMarker \"END\"\n",
        );
        assert!(r.errors.is_empty());
        let names: Vec<_> = r.directives.iter().map(|d| d.name().to_string()).collect();
        assert_eq!(names, ["SecRuleEngine", "SecMarker"]);
        assert_eq!(r.directives[1].args[0].text, "END");
        assert_eq!(r.directives[1].location().line, 2);
    }

    #[test]
    fn include_is_relative_to_the_including_file() {
        let dir = std::env::temp_dir().join(format!("crs-compiler-inc-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(
            dir.join("main.conf"),
            "Include sub/*.conf\nIncludeOptional nothing/*.conf\n",
        )
        .unwrap();
        std::fs::write(dir.join("sub/b.conf"), "SecMarker B\n").unwrap();
        std::fs::write(dir.join("sub/a.conf"), "SecMarker A\n").unwrap();
        let mut r = Reader::default();
        r.read_file(&dir.join("main.conf"), None);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        let args: Vec<_> = r
            .directives
            .iter()
            .map(|d| d.args[0].text.clone())
            .collect();
        assert_eq!(args, ["A", "B"]);
        std::fs::write(dir.join("loop.conf"), "Include loop.conf\n").unwrap();
        let mut r = Reader::default();
        r.read_file(&dir.join("loop.conf"), None);
        assert_eq!(r.errors.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
