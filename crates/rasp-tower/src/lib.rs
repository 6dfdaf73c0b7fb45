//! tower layers for rasp (work in progress).
#![deny(missing_docs)]
