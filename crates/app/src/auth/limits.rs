//! Every bound of accounts and sign-in, in one place.

use std::time::Duration;

/// argon2id memory in KiB (OWASP's second recommended set: 19 MiB, two
/// passes, one lane), raised in passes until a hash costs 50–200 ms here
/// (measured in `docs/BENCHMARKS.md`).
pub const ARGON2_MEMORY_KIB: u32 = 19_456;
pub const ARGON2_PASSES: u32 = 7;
pub const ARGON2_LANES: u32 = 1;
/// Password hashes computed at once (each holds `ARGON2_MEMORY_KIB`);
/// more sign-ins wait their turn.
pub const MAX_CONCURRENT_HASHES: usize = 2;
/// Token and session lookups (SQLite, ~20 µs each) at once; the rest of a
/// burst waits for a slot instead of each taking a blocking thread.
pub const MAX_CONCURRENT_LOOKUPS: usize = 4;

pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longer passwords are refused (hashing cost does not depend on it, but
/// a body that size is not a password).
pub const MAX_PASSWORD_BYTES: usize = 1_024;
/// Length of a generated password (letters and digits: ~119 bits).
pub const GENERATED_PASSWORD_CHARS: usize = 20;
pub const MAX_USER_NAME: usize = 64;
pub const MAX_USERS: usize = 10_000;
pub const MAX_TOKEN_NAME: usize = 64;
pub const MAX_TOKENS_PER_USER: usize = 100;
/// Exporters plus networks in one account's scope.
pub const MAX_SCOPE_ENTRIES: usize = 256;

/// Failed sign-ins of one account name within [`THROTTLE_WINDOW`] before
/// further tries of that name are refused (429) until the oldest falls out.
pub const MAX_FAILURES_PER_ACCOUNT: usize = 5;
/// Failed sign-ins from one address within the window.
pub const MAX_FAILURES_PER_SOURCE: usize = 20;
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Names and addresses tracked by the throttle; the stalest goes first.
pub const MAX_THROTTLE_KEYS: usize = 10_000;

/// A session's last use is written at most this often.
pub const SESSION_TOUCH_EVERY: Duration = Duration::from_secs(60);
/// Audit entries kept (the oldest go).
pub const MAX_AUDIT_ENTRIES: usize = 100_000;
/// Audit entries per page of `/api/v1/audit`.
pub const MAX_AUDIT_PAGE: usize = 1_000;
/// Longest form body of `POST /login`.
pub const MAX_LOGIN_BODY: usize = 4_096;
/// Longest text kept in one audit field.
pub const MAX_AUDIT_TEXT: usize = 512;
