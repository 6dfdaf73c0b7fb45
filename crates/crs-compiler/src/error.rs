//! Load and compile errors. Every error names the file, line and directive.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// A position in a rule file. Lines and columns count from 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    /// The file (as given, or resolved from an `Include`). `<string>` style
    /// names are used for rules given as text.
    pub file: Arc<PathBuf>,
    /// Line, from 1.
    pub line: u32,
    /// Column, from 1.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// What went wrong. The message text is for people and is not API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CompileErrorKind {
    /// Bad quoting, missing arguments, malformed action list.
    Syntax,
    /// A directive rasp does not know.
    UnknownDirective,
    /// An operator that does not exist or that rasp cannot run.
    UnsupportedOperator,
    /// A variable that does not exist or that rasp cannot provide.
    UnsupportedVariable,
    /// An unknown action.
    UnknownAction,
    /// An unknown transformation.
    UnknownTransform,
    /// An action with a missing or malformed argument.
    BadArgument,
    /// A regex that does not compile.
    Regex,
    /// A compiled automaton exceeds its size limit.
    SizeLimit {
        /// The limit in bytes.
        limit: usize,
    },
    /// Two rules share an id.
    DuplicateId,
    /// A rule without an id, or a chain link with an id.
    MissingId,
    /// `chain` on the last rule, or a chain link with a phase/disruptive
    /// action of its own.
    BrokenChain,
    /// `skipAfter` names a marker that does not exist.
    MissingMarker,
    /// A file (rule file, Include, data file) that cannot be read.
    Io,
    /// An update/remove directive names a rule that does not exist.
    UnknownRule,
}

/// Details few errors have.
#[derive(Clone, Debug, Default)]
pub(crate) struct Detail {
    /// A second position that helps: where the operator starts when the
    /// error points inside its regex.
    pub(crate) auxiliary: Option<Location>,
    /// The underlying error (the regex parser's, for bad patterns).
    pub(crate) source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync>>,
}

/// An error found while loading rules.
#[derive(Clone, Debug)]
pub struct CompileError {
    pub(crate) kind: CompileErrorKind,
    pub(crate) location: Option<Location>,
    pub(crate) directive: Option<String>,
    pub(crate) rule_id: Option<u32>,
    pub(crate) message: String,
    /// Rarely present details, boxed to keep the error small.
    pub(crate) detail: Option<Box<Detail>>,
    /// The construct is valid SecLang that rasp cannot run (as opposed to a
    /// mistake in the rule): `Support::BestEffort` skips such rules.
    pub(crate) unsupported: bool,
}

impl CompileError {
    /// A new error of `kind` with a human-readable message.
    pub(crate) fn new(kind: CompileErrorKind, message: impl Into<String>) -> CompileError {
        CompileError {
            kind,
            location: None,
            directive: None,
            rule_id: None,
            message: message.into(),
            detail: None,
            unsupported: false,
        }
    }

    /// Sets the location (builder style).
    pub(crate) fn at(mut self, location: Location) -> CompileError {
        self.location = Some(location);
        self
    }

    /// Sets the directive name (builder style), unless one is set.
    pub(crate) fn in_directive(mut self, directive: &str) -> CompileError {
        if self.directive.is_none() {
            self.directive = Some(directive.to_string());
        }
        self
    }

    /// Sets the rule id (builder style), unless one is set.
    pub(crate) fn for_rule(mut self, id: u32) -> CompileError {
        if self.rule_id.is_none() && id != 0 {
            self.rule_id = Some(id);
        }
        self
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &CompileErrorKind {
        &self.kind
    }

    /// Where the offending directive is, when known.
    pub fn location(&self) -> Option<&Location> {
        self.location.as_ref()
    }

    /// The directive (`SecRule`, `SecAction`, …), when known.
    pub fn directive(&self) -> Option<&str> {
        self.directive.as_deref()
    }

    /// The rule id, when known.
    pub fn rule_id(&self) -> Option<u32> {
        self.rule_id
    }

    /// The message without location.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A second location that helps understand the error: for an error
    /// inside an `@rx` pattern, where the operator (`"@rx …"`) starts.
    pub fn auxiliary_location(&self) -> Option<&Location> {
        self.detail.as_ref().and_then(|d| d.auxiliary.as_ref())
    }

    /// Sets the auxiliary location (builder style).
    pub(crate) fn also_at(mut self, location: Location) -> CompileError {
        self.detail.get_or_insert_with(Default::default).auxiliary = Some(location);
        self
    }

    /// Marks the error as "valid SecLang that rasp cannot run".
    pub(crate) fn unsupported(mut self) -> CompileError {
        self.unsupported = true;
        self
    }

    /// True when the rule is valid SecLang that rasp cannot run (an
    /// operator such as `@rbl`, an action such as `exec`, Lua rules), as
    /// opposed to a mistake in the rule.
    pub fn is_unsupported(&self) -> bool {
        self.unsupported
    }

    /// Sets the underlying error (builder style).
    pub(crate) fn caused_by(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> CompileError {
        self.detail.get_or_insert_with(Default::default).source = Some(std::sync::Arc::new(source));
        self
    }
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        if let Some(d) = &self.directive {
            write!(f, "{d}: ")?;
        }
        if let Some(id) = self.rule_id {
            write!(f, "rule {id}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for CompileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.detail
            .as_ref()
            .and_then(|d| d.source.as_deref())
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// All errors of one load: compiling keeps going after a bad rule so a rule
/// author sees every problem at once.
#[derive(Clone, Debug)]
pub struct CompileErrors {
    pub(crate) errors: Vec<CompileError>,
}

impl CompileErrors {
    /// The individual errors, in file order.
    pub fn errors(&self) -> &[CompileError] {
        &self.errors
    }
}

impl fmt::Display for CompileErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        write!(
            f,
            "{n} error{} while loading rules",
            if n == 1 { "" } else { "s" }
        )?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for CompileErrors {}

impl From<CompileError> for CompileErrors {
    fn from(e: CompileError) -> CompileErrors {
        CompileErrors { errors: vec![e] }
    }
}
