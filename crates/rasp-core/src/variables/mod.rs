//! Variable resolution.
