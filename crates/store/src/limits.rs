//! Every bound of the store, the filter language and the query engine, in
//! one place: the denial-of-service review for anything an API caller or a
//! config file controls.

/// Longest filter accepted, in characters.
pub const MAX_FILTER_LEN: usize = 4_096;

/// Deepest nesting of `not` and parentheses (the parser recurses).
pub const MAX_FILTER_DEPTH: usize = 64;

/// Items in one `in [...]` list.
pub const MAX_FILTER_LIST: usize = 1_024;

/// Flow batches queued for the writer before senders wait (back-pressure).
pub const WRITER_QUEUE_BATCHES: usize = 64;

/// Rows the writer holds before it flushes early, whatever the interval.
pub const MAX_ROWS_PER_FLUSH: usize = 262_144;

/// Rows one query may return (top-N rows, a page of flows).
pub const MAX_QUERY_LIMIT: usize = 10_000;

/// Dimensions one top-N may group by (a Sankey needs up to 4).
pub const MAX_QUERY_DIMS: usize = 4;

/// Points in one time series.
pub const MAX_SERIES_POINTS: usize = 10_000;

/// Distinct dimension combinations kept per 1-minute rollup bucket; more
/// fold into one row with every dimension NULL (counted).
pub const MAX_ROLLUP_KEYS_PER_BUCKET: usize = 100_000;

/// Rows skipped by offset pagination (the IP table); deeper pages need a
/// narrower filter.
pub const MAX_QUERY_OFFSET: usize = 1_000_000;

/// Addresses kept per side in each talkers bucket (top by bytes); the rest
/// are one row.
pub const MAX_TALKERS_PER_BUCKET: usize = 1_000;

/// Distinct addresses tracked per open 1-minute bucket before new ones fold
/// into the "rest" row (a flood of spoofed sources stays bounded).
pub const MAX_TALKER_KEYS_PER_BUCKET: usize = 200_000;
