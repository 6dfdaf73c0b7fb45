//! Transformation functions (`t:`), one file per function.
