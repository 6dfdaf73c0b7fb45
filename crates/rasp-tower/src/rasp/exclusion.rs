//! Per-route rule exclusions from Rust, applied to each transaction the
//! way `ctl:ruleRemoveById` is.

use std::ops::RangeInclusive;

use crs_compiler::ir::variable::Variable;
use http::Method;

/// Rules to switch off for requests to some paths.
///
/// ```
/// use rasp_tower::RouteExclusion;
/// // Uploads carry arbitrary bytes: no SQLi/XSS scan of their arguments.
/// let ex = RouteExclusion::path_prefix("/api/upload").remove_ids(942000..=942999).remove_id(941100);
/// # let _ = ex;
/// ```
#[derive(Clone, Debug)]
pub struct RouteExclusion {
    path: PathMatch,
    methods: Vec<Method>,
    ids: Vec<(u32, u32)>,
    targets: Vec<TargetExclusion>,
}

/// Rules `ids` do not inspect `variable` (or its member `key`).
#[derive(Clone, Debug)]
pub(crate) struct TargetExclusion {
    pub(crate) ids: (u32, u32),
    pub(crate) variable: Variable,
    pub(crate) key: Option<String>,
}

#[derive(Clone, Debug)]
enum PathMatch {
    Exact(String),
    Prefix(String),
}

impl RouteExclusion {
    /// Requests whose path is exactly `path` (query excluded).
    pub fn path(path: impl Into<String>) -> RouteExclusion {
        RouteExclusion {
            path: PathMatch::Exact(path.into()),
            methods: Vec::new(),
            ids: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Requests whose path starts with `prefix` at a segment boundary
    /// (`/api/upload` matches `/api/upload` and `/api/upload/x`, not
    /// `/api/uploads`).
    pub fn path_prefix(prefix: impl Into<String>) -> RouteExclusion {
        RouteExclusion {
            path: PathMatch::Prefix(prefix.into()),
            methods: Vec::new(),
            ids: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Only for this method (may be called several times). Default is every
    /// method.
    pub fn method(mut self, method: Method) -> RouteExclusion {
        self.methods.push(method);
        self
    }

    /// Removes one rule.
    pub fn remove_id(mut self, id: u32) -> RouteExclusion {
        self.ids.push((id, id));
        self
    }

    /// Removes a range of rule ids.
    pub fn remove_ids(mut self, ids: RangeInclusive<u32>) -> RouteExclusion {
        self.ids.push((*ids.start(), *ids.end()));
        self
    }

    /// Keeps rules `ids` from inspecting one member of a collection on
    /// this route (`ARGS:password`, `REQUEST_COOKIES:session`), as
    /// `ctl:ruleRemoveTargetById` does; the rules still inspect everything
    /// else.
    pub fn remove_target(
        mut self,
        ids: RangeInclusive<u32>,
        variable: Variable,
        key: &str,
    ) -> RouteExclusion {
        self.targets.push(TargetExclusion {
            ids: (*ids.start(), *ids.end()),
            variable,
            key: Some(key.to_string()),
        });
        self
    }

    /// Keeps rules `ids` from inspecting a whole variable on this route
    /// (e.g. `REQUEST_BODY`).
    pub fn remove_variable(
        mut self,
        ids: RangeInclusive<u32>,
        variable: Variable,
    ) -> RouteExclusion {
        self.targets.push(TargetExclusion {
            ids: (*ids.start(), *ids.end()),
            variable,
            key: None,
        });
        self
    }

    pub(crate) fn targets(&self) -> &[TargetExclusion] {
        &self.targets
    }

    // The path is compared byte for byte with the path as sent, not a
    // decoded form, so an encoded path (`/api/%75pload`) does not get the
    // exclusion: it fails safe (more rules run, never fewer).
    pub(crate) fn matches(&self, method: &Method, path: &str) -> bool {
        if !self.methods.is_empty() && !self.methods.contains(method) {
            return false;
        }
        match &self.path {
            PathMatch::Exact(p) => path == p,
            PathMatch::Prefix(p) => {
                let p = p.trim_end_matches('/');
                path.strip_prefix(p)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }
        }
    }

    pub(crate) fn ids(&self) -> &[(u32, u32)] {
        &self.ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_at_segment_boundary() {
        let ex = RouteExclusion::path_prefix("/api/upload/");
        assert!(ex.matches(&Method::POST, "/api/upload"));
        assert!(ex.matches(&Method::POST, "/api/upload/a"));
        assert!(!ex.matches(&Method::POST, "/api/uploads"));
        assert!(!ex.matches(&Method::POST, "/api/%75pload"));
        let ex = RouteExclusion::path("/x").method(Method::PUT);
        assert!(ex.matches(&Method::PUT, "/x"));
        assert!(!ex.matches(&Method::GET, "/x"));
        assert!(!ex.matches(&Method::PUT, "/x/"));
    }
}
