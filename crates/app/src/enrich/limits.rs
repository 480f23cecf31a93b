//! Every bound of enrichment in one place.

/// Largest database file read (the real GeoIP2 City is about 120 MB).
pub const MAX_DATABASE_BYTES: u64 = 1 << 30;

/// AS numbers whose organisation names are kept (the real ASN database
/// has about 80,000).
pub const MAX_AS_NAMES: usize = 1_000_000;

/// Longest organisation name kept, in characters.
pub const MAX_AS_NAME_LEN: usize = 128;

/// Largest `enrichment.cache_size` (addresses per decode worker).
pub const MAX_CACHE_SIZE: usize = 10_000_000;

/// Classification rules in force (file and API together).
pub const MAX_RULES: usize = 100_000;

/// Longest name, datacenter or location of a rule, in characters.
pub const MAX_RULE_TEXT: usize = 64;

/// Interfaces whose names are learned from exporters (all exporters).
pub const MAX_INTERFACES: usize = 200_000;

/// Longest interface name or description kept, in characters.
pub const MAX_INTERFACE_TEXT: usize = 256;
