//! Operators that need more than a line of code.
