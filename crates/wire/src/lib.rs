//! Wire formats of flow export: NetFlow v1/v5/v7/v9, IPFIX and sFlow v5.
//!
//! Decoding is pure — bytes, the exporter's address and the receive time in,
//! [`FlowRecord`]s out — with no I/O, no clock and no async. Everything a
//! datagram can make the decoder hold is bounded by [`limits`]. Encoders for
//! the same formats live in [`encode`]; the simulator and the tests use them.
//!
//! ```
//! use flowlens_wire::{Batch, Decoder, Timestamp};
//! let mut dec = Decoder::new();
//! let mut out = Batch::new();
//! let err = dec.decode(&[0, 5, 0, 1], "192.0.2.1:2055".parse().unwrap(), Timestamp(0), &mut out);
//! assert_eq!(err.unwrap_err().code(), "truncated");
//! ```

pub mod batch;
mod cursor;
mod dataset;
pub mod decoder;
pub mod detect;
pub mod encode;
pub mod error;
mod fill;
pub mod ie;
pub mod ipfix;
pub mod limits;
pub mod netflow;
pub mod packet;
pub mod record;
mod sets;
pub mod sflow;
mod state;
pub mod template;

pub use batch::Batch;
pub use decoder::{Datagram, Decoder, DecoderLimits};
pub use detect::{detect, Detected};
pub use error::DecodeError;

#[cfg(test)]
mod tests;
pub use record::{
    CounterRecord, Direction, EthernetCounters, FlowRecord, IfCounters, MacAddr, OptionsRecord, Protocol, RawField,
    SamplingSource, Span, Timestamp,
};
