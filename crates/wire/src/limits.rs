//! Every resource bound of the wire crate, in one place.
//!
//! This file doubles as the denial-of-service review: anything a datagram can
//! make the decoder allocate or iterate over is capped by a constant here.
//! Exporters are untrusted; a bound exists so that no sequence of datagrams
//! can grow memory or CPU per datagram without limit.

use std::time::Duration;

/// Largest UDP payload we accept (the IPv4/IPv6 UDP maximum).
pub const MAX_DATAGRAM_LEN: usize = 65_535;

/// Exporters (transport sessions) whose template state is tracked at once.
/// The least recently seen exporter is evicted when a new one arrives.
pub const MAX_EXPORTERS: usize = 10_000;

/// Templates (data and options) kept per exporter across all observation
/// domains; the least recently used is evicted.
pub const MAX_TEMPLATES_PER_EXPORTER: usize = 1_024;

/// Fields in one template. Real exporters use well under 100; RFC 7011 allows
/// up to 65,535 which would let one set allocate megabytes.
pub const MAX_FIELDS_PER_TEMPLATE: usize = 512;

/// Largest fixed field length accepted in a template. Longer fields (other
/// than variable-length ones) are refused with `FieldTooLong`.
pub const MAX_FIELD_LEN: usize = 4_096;

/// Templates are forgotten when not refreshed for this long (RFC 7011 §8.4
/// leaves this to the collector for UDP; Cisco resends every 30 min at most).
pub const TEMPLATE_EXPIRY: Duration = Duration::from_secs(2 * 60 * 60);

/// Data sets that arrive before their template (exporter restart, a
/// template sent after the data, reordering) are held until it comes:
/// at most this many per exporter ...
pub const MAX_PENDING_SETS_PER_EXPORTER: usize = 16;

/// ... at most this many bytes held across all exporters of a decoder ...
pub const MAX_PENDING_BYTES: usize = 4 * 1024 * 1024;

/// ... and for at most this long (receive time). Past any bound the set is
/// dropped and counted as `template_missing`.
pub const PENDING_MAX_AGE: Duration = Duration::from_secs(60);

/// Samplers remembered per exporter (from options data).
pub const MAX_SAMPLERS_PER_EXPORTER: usize = 256;

/// Flow records a single datagram may produce. A 65,535-byte datagram of
/// 1-byte records would otherwise yield 65k records; we keep the output
/// bounded and count the rest as `TooManyRecords`.
pub const MAX_RECORDS_PER_DATAGRAM: usize = 8_192;

/// sFlow samples per datagram and records per sample. The counts are read from
/// the wire, so they are also checked against the bytes that remain.
pub const MAX_SFLOW_SAMPLES: usize = 1_024;
pub const MAX_SFLOW_RECORDS_PER_SAMPLE: usize = 64;

/// sFlow extended gateway: AS path segments and ASNs kept.
pub const MAX_AS_PATH_SEGMENTS: usize = 32;
pub const MAX_AS_PATH_LEN: usize = 128;

/// Nested encapsulation headers (VLAN tags, MPLS labels, IPv6 extension
/// headers) walked in a sampled packet header before giving up.
pub const MAX_HEADER_LAYERS: usize = 16;

/// Raw bytes of unknown fields kept per datagram (enterprise and unknown IEs
/// are preserved as (PEN, id, bytes)); beyond this they are counted, not kept.
pub const MAX_RAW_FIELD_BYTES_PER_DATAGRAM: usize = 64 * 1024;

/// Raw fields kept per record.
pub const MAX_RAW_FIELDS_PER_RECORD: usize = 64;

/// Longest interface name or description kept from options data.
pub const MAX_OPTION_STRING_LEN: usize = 256;
