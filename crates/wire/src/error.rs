//! Decode errors, each with a short stable `code()` usable as a metric label.

use thiserror::Error;

/// Why a datagram, or part of one, could not be decoded.
///
/// A datagram-level error means nothing from it was kept; set-level errors
/// (see [`crate::Batch::errors`]) mean the rest of the datagram was still used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("datagram is empty")]
    Empty,
    #[error("datagram of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: usize, max: usize },
    #[error("unknown protocol: first bytes {0:#06x}")]
    UnknownProtocol(u32),
    #[error("unsupported version {0}")]
    UnsupportedVersion(u32),
    #[error("truncated: needed {needed} bytes at offset {offset}, {available} available")]
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    #[error("header length field {claimed} disagrees with datagram length {actual}")]
    LengthMismatch { claimed: usize, actual: usize },
    #[error("header claims {claimed} records, only room for {room}")]
    BadCount { claimed: usize, room: usize },
    #[error("set length {len} at offset {offset} is invalid")]
    BadSetLength { offset: usize, len: usize },
    #[error("template {template_id} has no fields")]
    EmptyTemplate { template_id: u16 },
    #[error("template {template_id} has {count} fields, limit is {max}")]
    TooManyFields { template_id: u16, count: usize, max: usize },
    #[error("template {template_id} field {field_type} has length {len}, limit is {max}")]
    FieldTooLong {
        template_id: u16,
        field_type: u16,
        len: usize,
        max: usize,
    },
    #[error("template {template_id} has a record length of zero")]
    ZeroLengthRecord { template_id: u16 },
    #[error("invalid template id {0} (must be 256 or more)")]
    BadTemplateId(u16),
    #[error("no template {template_id} for observation domain {domain}")]
    TemplateMissing { domain: u32, template_id: u16 },
    /// Not a loss: the data set is held until its template arrives (then
    /// decoded) or a bound drops it (then counted as `TemplateMissing`).
    #[error("data for template {template_id} of observation domain {domain} held until the template arrives")]
    TemplatePending { domain: u32, template_id: u16 },
    #[error("variable-length field overruns its record")]
    BadVarLen,
    #[error("options template scope is invalid")]
    BadScope,
    #[error("sFlow address type {0} is unknown")]
    BadAddressType(u32),
    #[error("sFlow sample count {0} exceeds limit")]
    TooManySamples(usize),
    #[error("more than the per-datagram record limit")]
    TooManyRecords,
    #[error("reserved set id {0}")]
    ReservedSetId(u16),
}

impl DecodeError {
    /// A short, stable identifier for metrics and logs. Never changes once
    /// released; new variants get new codes.
    pub fn code(&self) -> &'static str {
        use DecodeError::*;
        match self {
            Empty => "empty",
            TooLarge { .. } => "too_large",
            UnknownProtocol(_) => "unknown_protocol",
            UnsupportedVersion(_) => "unsupported_version",
            Truncated { .. } => "truncated",
            LengthMismatch { .. } => "length_mismatch",
            BadCount { .. } => "bad_count",
            BadSetLength { .. } => "bad_set_length",
            EmptyTemplate { .. } => "empty_template",
            TooManyFields { .. } => "too_many_fields",
            FieldTooLong { .. } => "field_too_long",
            ZeroLengthRecord { .. } => "zero_length_record",
            BadTemplateId(_) => "bad_template_id",
            TemplateMissing { .. } => "template_missing",
            TemplatePending { .. } => "template_pending",
            BadVarLen => "bad_varlen",
            BadScope => "bad_scope",
            BadAddressType(_) => "bad_address_type",
            TooManySamples(_) => "too_many_samples",
            TooManyRecords => "too_many_records",
            ReservedSetId(_) => "reserved_set_id",
        }
    }
}
