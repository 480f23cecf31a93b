//! Encoders for NetFlow v5, NetFlow v9, IPFIX and sFlow v5: the inverse of
//! the decoders, used by the simulator and the tests. Output is what tshark
//! decodes without warnings; fields a format cannot carry are dropped, and
//! absent fields are written as zero (the wire has no "absent" for them).

pub mod fields;
pub mod sflow;
pub mod templated;
pub mod v5;

pub use fields::standard_template;
pub use sflow::SflowEncoder;
pub use templated::{IpfixEncoder, V9Encoder};
pub use v5::V5Header;
