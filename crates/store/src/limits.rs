//! Every bound of the store, the filter language and the query engine, in
//! one place: the denial-of-service review for anything an API caller or a
//! config file controls.

/// Longest filter accepted, in characters.
pub const MAX_FILTER_LEN: usize = 4_096;

/// Deepest nesting of `not` and parentheses (the parser recurses).
pub const MAX_FILTER_DEPTH: usize = 64;

/// Items in one `in [...]` list.
pub const MAX_FILTER_LIST: usize = 1_024;
