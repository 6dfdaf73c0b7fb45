//! Action execution.
