//! Every bound of the analysis engine, one file: what recent traffic,
//! baselines, advisories, alert rules and notifications can make it hold.

/// Width of a recorder bucket, seconds. Analyzers read whole minutes (and
/// the minute being filled, for thresholds that should not wait).
pub const BUCKET_SECS: i64 = 60;

/// Closed minutes the recorder can keep: `analysis.window` (10 min by
/// default) plus one, at most this.
pub const MAX_WINDOW_MINUTES: usize = 31;

/// Flows that arrive this many minutes after their bucket closed are
/// counted as late and not analysed.
pub const LATE_MINUTES: i64 = 2;

/// Hosts tracked in the minute being filled; more are counted as folded.
pub const MAX_HOSTS_PER_MINUTE: usize = 50_000;

/// Hosts kept per closed minute: the largest by traffic plus every host
/// some analyzer may report (scanners, DNS sources, no-response sources).
pub const MAX_HOSTS_KEPT: usize = 2_000;

/// Distinct (client, port), (client, server) and (client, port, server)
/// pairs counted per minute; past it the distinct counts stop rising (and
/// `distinct_full` says so).
pub const MAX_DISTINCT_PER_MINUTE: usize = 500_000;

/// (client, port) pairs whose distinct servers are counted per minute
/// (host sweeps).
pub const MAX_SWEEP_KEYS: usize = 100_000;

/// Connection attempts tracked per minute for no-response sources.
pub const MAX_ATTEMPTS_PER_MINUTE: usize = 200_000;

/// Traffic series (exporters, interfaces, networks, protocols) per minute.
pub const MAX_SERIES_PER_MINUTE: usize = 4_096;

/// (network, direction, exporter, interface) paths per minute (asymmetry);
/// the busiest networks come first, the long tail folds.
pub const MAX_PATHS_PER_MINUTE: usize = 10_000;

/// Insecure-protocol conversations per minute.
pub const MAX_INSECURE_PER_MINUTE: usize = 4_096;

/// Series with a learned baseline, and the history each keeps (7 days of
/// minutes).
pub const MAX_BASELINE_SERIES: usize = 256;
pub const MAX_BASELINE_MINUTES: usize = 7 * 1_440;

/// Destinations whose recent packet rate is remembered (DDoS baseline).
pub const MAX_DDOS_TRACKED: usize = 2_048;

/// Advisories kept: active ones, and resolved ones for the history.
pub const MAX_ACTIVE_ADVISORIES: usize = 1_000;
pub const MAX_RESOLVED_ADVISORIES: usize = 1_000;

/// Findings one analyzer may report per pass (the largest first).
pub const MAX_FINDINGS_PER_ANALYZER: usize = 50;

/// Alert rules, and the subjects (addresses, exporters) each evaluates.
pub const MAX_ALERT_RULES: usize = 200;
pub const MAX_RULE_SUBJECTS: usize = 1_000;
/// Distinct peers or ports counted per rule subject and bucket.
pub const MAX_RULE_DISTINCT: usize = 10_000;
/// Width of an alert rule's bucket, seconds; rules are evaluated this often.
pub const RULE_BUCKET_SECS: i64 = 10;
/// The longest rule window, in buckets (1 h).
pub const MAX_RULE_BUCKETS: usize = 360;
/// Fired alerts kept in memory for `/api/v1/alerts` (older ones are in
/// SQLite).
pub const MAX_ALERTS_KEPT: usize = 1_000;

/// Webhook deliveries waiting; more are dropped and counted.
pub const MAX_PENDING_DELIVERIES: usize = 1_000;
/// Attempts per delivery, and the first back-off (doubling).
pub const WEBHOOK_ATTEMPTS: u32 = 5;
pub const WEBHOOK_FIRST_BACKOFF_MS: u64 = 500;
/// Largest webhook answer read (the body is not used; read to reuse the
/// connection).
pub const WEBHOOK_MAX_ANSWER: u64 = 64 * 1024;

/// Events waiting for a slow `/api/v1/ws/events` client.
pub const EVENT_QUEUE: usize = 256;

/// Text a user gives an alert rule.
pub const MAX_RULE_NAME: usize = 100;
pub const MAX_RULE_FILTER: usize = 2_000;
