//! Every bound of the HTTP API in one place (the store's own bounds — rows
//! per answer, dimensions, series points — are in `flowlens_store::limits`).

use std::time::Duration;

/// Longest `name=value` pair of a query string, in bytes (a filter is at
/// most `MAX_FILTER_LEN` characters; this leaves room for its encoding).
pub const MAX_PARAM_LEN: usize = 16 * 1_024;

/// Parameters in one query string.
pub const MAX_PARAMS: usize = 32;

/// Rows returned when the request does not say.
pub const DEFAULT_LIMIT: usize = 100;

/// The range when `since` is not given: the last hour.
pub const DEFAULT_RANGE_SECS: i64 = 3_600;

/// Points a series gets when `step` is not given.
pub const DEFAULT_SERIES_POINTS: u64 = 120;

/// Longest a query may run before the request is answered 503.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// Queries running at once; more wait (DuckDB uses the cores it is given
/// per query, so a queue is faster than contention).
pub const MAX_CONCURRENT_QUERIES: usize = 8;

/// WebSocket clients at once on the live feed and on the events stream.
pub const MAX_WS_CONNS: usize = 256;

/// Flows per live-feed message (one batch of the pipeline, filtered).
pub const WS_MAX_FLOWS_PER_MESSAGE: usize = 1_000;

/// Live-feed messages queued for one client; a client further behind is
/// closed (1008, with the reason), never waited for.
pub const WS_CLIENT_QUEUE: usize = 16;

/// Longest one WebSocket message may wait for a client to take it; a
/// slower client is closed with a reason, so it never holds anyone back.
pub const WS_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Interval of the events stream's status messages.
pub const WS_EVENTS_INTERVAL: Duration = Duration::from_secs(2);

/// Peers, protocols, ports shown for one IP when `top` is not given.
pub const DEFAULT_IP_TOP: usize = 10;

/// Largest JSON body of a classification rule.
pub const MAX_RULE_BODY: usize = 16 * 1_024;

/// A TLS handshake not done within this is dropped (slow-loris).
pub const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
