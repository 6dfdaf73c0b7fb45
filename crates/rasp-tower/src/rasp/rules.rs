//! [`Rules`]: a compiled ruleset, loaded once and shared.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crs_compiler::{CompileError, CompileErrors, CompiledRuleset, Compiler};

/// The built-in baseline ruleset (SecLang, compiled into the binary).
pub const EMBEDDED_RULES: &str = include_str!("../../rules/default.conf");

/// A compiled ruleset, cheap to clone (an `Arc`).
///
/// ```no_run
/// use rasp_tower::Rules;
/// let builtin = Rules::embedded()?;
/// let crs = Rules::from_crs_dir("../shared/crs")?;
/// # Ok::<(), rasp_tower::RulesError>(())
/// ```
#[derive(Clone)]
pub struct Rules {
    compiled: Arc<CompiledRuleset>,
}

impl fmt::Debug for Rules {
    // The compiled program is megabytes of automata; print its size only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rules")
            .field("rule_links", &self.compiled.link_count)
            .finish_non_exhaustive()
    }
}

/// Options for [`Rules::from_crs_dir_with`].
///
/// # Defaults
/// No paranoia override (CRS's own default, 1), blocking mode, nothing
/// extra.
#[derive(Clone, Debug, Default)]
pub struct CrsOptions {
    paranoia: Option<u8>,
    detection_only: bool,
    before: Vec<(String, String)>,
    after: Vec<(String, String)>,
}

impl CrsOptions {
    /// Default options.
    pub fn new() -> CrsOptions {
        CrsOptions::default()
    }

    /// Blocking paranoia level 1–4 (CRS `tx.blocking_paranoia_level`,
    /// clamped), set by a `SecAction` with CRS's reserved id 900000; a
    /// setup text that defines 900000 itself (CRS's `test-setup.conf`)
    /// cannot be combined with it. Default is CRS's own (1).
    pub fn paranoia(mut self, level: u8) -> CrsOptions {
        self.paranoia = Some(level.clamp(1, 4));
        self
    }

    /// `SecRuleEngine DetectionOnly`: rules log but never block; read last,
    /// so it overrides any `SecRuleEngine` in the files. Default is `false`.
    pub fn detection_only(mut self, yes: bool) -> CrsOptions {
        self.detection_only = yes;
        self
    }

    /// SecLang text read before `crs-setup.conf` (engine directives,
    /// `SecAction`s that pre-set CRS variables).
    pub fn before(mut self, name: &str, text: &str) -> CrsOptions {
        self.before.push((name.to_string(), text.to_string()));
        self
    }

    /// SecLang text read after the rules (exclusions such as
    /// `SecRuleRemoveById`).
    pub fn after(mut self, name: &str, text: &str) -> CrsOptions {
        self.after.push((name.to_string(), text.to_string()));
        self
    }
}

/// Why rules could not be loaded. The message text is not API.
#[derive(Debug)]
pub struct RulesError {
    kind: RulesErrorKind,
}

#[derive(Debug)]
enum RulesErrorKind {
    Missing(PathBuf),
    Source(CompileError),
    Compile(CompileErrors),
}

impl RulesError {
    /// The compile errors, when compilation was what failed.
    pub fn compile_errors(&self) -> Option<&CompileErrors> {
        match &self.kind {
            RulesErrorKind::Compile(e) => Some(e),
            _ => None,
        }
    }
}

impl fmt::Display for RulesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RulesErrorKind::Missing(p) => write!(f, "no CRS setup file in {}", p.display()),
            RulesErrorKind::Source(_) => f.write_str("cannot read rule source"),
            RulesErrorKind::Compile(e) => {
                write!(f, "rules do not compile ({} errors)", e.errors().len())
            }
        }
    }
}

impl std::error::Error for RulesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            RulesErrorKind::Missing(_) => None,
            RulesErrorKind::Source(e) => Some(e),
            RulesErrorKind::Compile(e) => Some(e),
        }
    }
}

impl From<CompileError> for RulesError {
    fn from(e: CompileError) -> RulesError {
        RulesError {
            kind: RulesErrorKind::Source(e),
        }
    }
}

impl From<CompileErrors> for RulesError {
    fn from(e: CompileErrors) -> RulesError {
        RulesError {
            kind: RulesErrorKind::Compile(e),
        }
    }
}

impl Rules {
    /// The built-in baseline rules ([`EMBEDDED_RULES`]): protocol sanity,
    /// `@detectSQLi`/`@detectXSS` on arguments, cookies and some headers,
    /// path traversal and shell/RCE markers. Each rule blocks on its own.
    pub fn embedded() -> Result<Rules, RulesError> {
        Rules::from_seclang("rasp-default.conf", EMBEDDED_RULES)
    }

    /// SecLang given as text; `name` appears in error locations.
    pub fn from_seclang(name: &str, text: &str) -> Result<Rules, RulesError> {
        Ok(Rules::from(Compiler::new().add_str(name, text).compile()?))
    }

    /// Rule files, read in the order given.
    pub fn load<P: AsRef<Path>>(files: impl IntoIterator<Item = P>) -> Result<Rules, RulesError> {
        let mut c = Compiler::new();
        for f in files {
            c = c.add_file(f)?;
        }
        Ok(Rules::from(c.compile()?))
    }

    /// The OWASP CRS from its directory: `crs-setup.conf` (else
    /// `crs-setup.conf.example`), then `rules/*.conf` in name order.
    pub fn from_crs_dir(dir: impl AsRef<Path>) -> Result<Rules, RulesError> {
        Rules::from_crs_dir_with(dir, &CrsOptions::default())
    }

    /// The OWASP CRS with [`CrsOptions`].
    pub fn from_crs_dir_with(
        dir: impl AsRef<Path>,
        options: &CrsOptions,
    ) -> Result<Rules, RulesError> {
        let dir = dir.as_ref();
        let setup = ["crs-setup.conf", "crs-setup.conf.example"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
            .ok_or_else(|| RulesError {
                kind: RulesErrorKind::Missing(dir.to_path_buf()),
            })?;
        let mut c = Compiler::new();
        if let Some(pl) = options.paranoia {
            // CRS reads tx.blocking_paranoia_level from a SecAction 900000
            // placed before crs-setup (its example ships it commented out).
            let text =
                format!("SecAction \"id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level={pl}\"\n");
            c = c.add_str("rasp-paranoia", &text);
        }
        for (name, text) in &options.before {
            c = c.add_str(name, text);
        }
        c = c.add_file(&setup)?;
        let pattern = dir.join("rules").join("*.conf");
        c = c.add_glob(&pattern.to_string_lossy())?;
        for (name, text) in &options.after {
            c = c.add_str(name, text);
        }
        if options.detection_only {
            // Last, so that no SecRuleEngine in the files or the extra
            // text turns blocking back on.
            c = c.add_str("rasp-options", "SecRuleEngine DetectionOnly\n");
        }
        Ok(Rules::from(c.compile()?))
    }

    /// The compiled program.
    pub fn compiled(&self) -> &Arc<CompiledRuleset> {
        &self.compiled
    }
}

impl From<CompiledRuleset> for Rules {
    fn from(c: CompiledRuleset) -> Rules {
        Rules {
            compiled: Arc::new(c),
        }
    }
}

impl From<Arc<CompiledRuleset>> for Rules {
    fn from(compiled: Arc<CompiledRuleset>) -> Rules {
        Rules { compiled }
    }
}
