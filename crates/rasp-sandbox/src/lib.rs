//! In-process sandboxing for rasp (work in progress).
#![deny(missing_docs)]
