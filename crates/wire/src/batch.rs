//! The decoder's output buffer, reused across datagrams so that steady-state
//! decoding allocates nothing.

use crate::error::DecodeError;
use crate::limits;
use crate::record::{CounterRecord, FlowRecord, OptionsRecord, RawField, Span};

/// Everything decoded from one or more datagrams. Call [`Batch::clear`]
/// between uses; capacities are kept.
#[derive(Debug, Default)]
pub struct Batch {
    pub flows: Vec<FlowRecord>,
    pub counters: Vec<CounterRecord>,
    pub options: Vec<OptionsRecord>,
    /// Side table for [`FlowRecord::raw`].
    pub raw_fields: Vec<RawField>,
    /// Bytes of the raw fields.
    pub raw_bytes: Vec<u8>,
    /// Side table for [`FlowRecord::as_path`].
    pub as_paths: Vec<u32>,
    /// Problems in part of a datagram (a set, a sample) whose other parts were
    /// still decoded.
    pub errors: Vec<DecodeError>,
    /// Raw fields dropped because the per-datagram byte budget was spent.
    pub raw_dropped: u64,
}

impl Batch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn clear(&mut self) {
        self.flows.clear();
        self.counters.clear();
        self.options.clear();
        self.raw_fields.clear();
        self.raw_bytes.clear();
        self.as_paths.clear();
        self.errors.clear();
        self.raw_dropped = 0;
    }

    /// The raw (uninterpreted) fields of a record.
    pub fn raw_fields_of(&self, rec: &FlowRecord) -> &[RawField] {
        self.raw_fields.get(rec.raw.range()).unwrap_or(&[])
    }

    /// The bytes of one raw field.
    pub fn raw_value(&self, f: &RawField) -> &[u8] {
        self.raw_bytes.get(f.data.range()).unwrap_or(&[])
    }

    /// The AS path of a record (sFlow extended gateway).
    pub fn as_path_of(&self, rec: &FlowRecord) -> &[u32] {
        self.as_paths.get(rec.as_path.range()).unwrap_or(&[])
    }
}

/// Keeps an uninterpreted field, within the per-datagram byte budget
/// (`datagram_start` is where this datagram's raw bytes begin). Returns false
/// and counts in `dropped` when the budget is exhausted. A free function so
/// a record of the same batch can be borrowed at the same time.
pub(crate) fn push_raw(
    fields: &mut Vec<RawField>,
    bytes: &mut Vec<u8>,
    dropped: &mut u64,
    pen: u32,
    id: u16,
    value: &[u8],
    datagram_start: usize,
) -> bool {
    if bytes.len() - datagram_start + value.len() > limits::MAX_RAW_FIELD_BYTES_PER_DATAGRAM {
        *dropped += 1;
        return false;
    }
    let start = bytes.len() as u32;
    bytes.extend_from_slice(value);
    fields.push(RawField {
        pen,
        id,
        data: Span {
            start,
            len: value.len() as u32,
        },
    });
    true
}
