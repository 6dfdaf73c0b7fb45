//! Mutable collections: TX, ENV, and the persistent-style IP, GLOBAL,
//! SESSION, USER and RESOURCE collections (in-memory, per transaction
//! unless the engine's store backs them).

use crate::variables::Pair;

/// A mutable collection with case-insensitive keys (stored lower-cased, as
/// ModSecurity's APR tables compare them case-insensitively).
#[derive(Clone, Debug, Default)]
pub(crate) struct Collection {
    pub(crate) entries: Vec<Pair>,
}

impl Collection {
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.entries.iter().find(|p| p.name.eq_ignore_ascii_case(key)).map(|p| p.value.as_slice())
    }

    pub(crate) fn set(&mut self, key: &[u8], value: Vec<u8>) {
        if let Some(p) = self.entries.iter_mut().find(|p| p.name.eq_ignore_ascii_case(key)) {
            p.value = value;
        } else {
            self.entries.push(Pair::new(key.to_ascii_lowercase(), value));
        }
    }

    pub(crate) fn remove(&mut self, key: &[u8]) {
        self.entries.retain(|p| !p.name.eq_ignore_ascii_case(key));
    }
}

/// All mutable collections of one transaction.
#[derive(Clone, Debug, Default)]
pub(crate) struct Collections {
    pub(crate) tx: Collection,
    pub(crate) env: Collection,
    pub(crate) ip: Collection,
    pub(crate) global: Collection,
    pub(crate) session: Collection,
    pub(crate) user: Collection,
    pub(crate) resource: Collection,
}

impl Collections {
    /// The collection named in a `setvar` (`tx`, `ip`, …).
    pub(crate) fn by_name_mut(&mut self, name: &str) -> Option<&mut Collection> {
        match name {
            "tx" => Some(&mut self.tx),
            "env" => Some(&mut self.env),
            "ip" => Some(&mut self.ip),
            "global" => Some(&mut self.global),
            "session" => Some(&mut self.session),
            "user" => Some(&mut self.user),
            "resource" => Some(&mut self.resource),
            _ => None,
        }
    }
}
