//! The public builder: collect rule sources, then compile.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{CompileError, CompileErrorKind, CompileErrors};
use crate::parse::directive::Reader;
use crate::program::CompiledRuleset;

/// Collects rule sources and compiles them into a [`CompiledRuleset`].
///
/// Sources are read in the order they are added, exactly as ModSecurity
/// reads configuration: later directives see the state left by earlier
/// ones (`SecDefaultAction`, `SecRuleRemoveById`, …).
#[derive(Debug, Default)]
pub struct Compiler {
    sources: Vec<Source>,
    support: Support,
}

/// What to do with rules that are valid SecLang but use something rasp
/// cannot run (`@rbl`, `@inspectFile`, `exec`, Lua rules, remote data
/// files).
///
/// # Defaults
/// - [`Support::Strict`]: such a rule is a load error, so nothing a rule
///   author wrote is ever silently ignored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Support {
    /// Unsupported constructs are load errors. The default.
    #[default]
    Strict,
    /// Rules (whole chains) with unsupported constructs are left out and
    /// listed in [`crate::program::CompileReport::skipped`]; mistakes
    /// (unknown names, bad regexes, broken chains…) are still errors.
    BestEffort,
}

#[derive(Debug)]
enum Source {
    File(PathBuf),
    Text { name: String, text: String },
}

impl Compiler {
    /// An empty compiler.
    pub fn new() -> Compiler {
        Compiler::default()
    }

    /// Sets how unsupported constructs are handled. Default is
    /// [`Support::Strict`].
    pub fn support(mut self, support: Support) -> Compiler {
        self.support = support;
        self
    }

    /// Adds a rule file.
    pub fn add_file(mut self, path: impl AsRef<Path>) -> Result<Compiler, CompileError> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(CompileError::new(
                CompileErrorKind::Io,
                format!("rule file {} does not exist", path.display()),
            ));
        }
        self.sources.push(Source::File(path.to_path_buf()));
        Ok(self)
    }

    /// Adds every file matching a glob, in sorted order.
    pub fn add_glob(mut self, pattern: &str) -> Result<Compiler, CompileError> {
        let paths = glob::glob(pattern).map_err(|e| {
            CompileError::new(CompileErrorKind::Io, format!("bad glob {pattern}: {e}"))
        })?;
        let mut files: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
        files.sort();
        for f in files {
            self.sources.push(Source::File(f));
        }
        Ok(self)
    }

    /// Adds an OWASP CRS directory in the order CRS documents:
    /// `crs-setup.conf` (or, when absent, `crs-setup.conf.example`), then
    /// `rules/*.conf` in name order. Renamed exclusion files
    /// (`REQUEST-900-….conf`, `RESPONSE-999-….conf`) are picked up by the
    /// glob like any other rule file.
    pub fn add_crs_dir(self, dir: impl AsRef<Path>) -> Result<Compiler, CompileError> {
        let dir = dir.as_ref();
        let rules = dir.join("rules");
        if !rules.is_dir() {
            return Err(CompileError::new(
                CompileErrorKind::Io,
                format!(
                    "{} is not a CRS directory (no rules/ inside)",
                    dir.display()
                ),
            ));
        }
        let setup = ["crs-setup.conf", "crs-setup.conf.example"]
            .iter()
            .map(|n| dir.join(n))
            .find(|p| p.is_file());
        let mut c = self;
        if let Some(setup) = setup {
            c = c.add_file(setup)?;
        }
        c.add_glob(&rules.join("*.conf").to_string_lossy())
    }

    /// Adds rules given as text; `name` is used in error locations.
    pub fn add_str(mut self, name: &str, text: &str) -> Compiler {
        self.sources.push(Source::Text {
            name: name.to_string(),
            text: text.to_string(),
        });
        self
    }

    /// Compiles everything added so far.
    ///
    /// Every problem is reported, not only the first: the returned
    /// [`CompileErrors`] lists each error with its file, line, directive
    /// and rule id.
    pub fn compile(self) -> Result<CompiledRuleset, CompileErrors> {
        let mut reader = Reader::default();
        for source in &self.sources {
            match source {
                Source::File(path) => reader.read_file(path, None),
                Source::Text { name, text } => {
                    reader.files.push(name.clone());
                    reader.read_text(Arc::new(PathBuf::from(name)), text);
                }
            }
        }
        crate::compile::compile(reader, self.support)
    }
}
