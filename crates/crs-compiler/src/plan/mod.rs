//! Grouping rules into multi-pattern gates.
