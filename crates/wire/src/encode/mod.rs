//! Encoders for NetFlow v5, NetFlow v9, IPFIX and sFlow v5: the inverse of
//! the decoders, used by the simulator and the tests. Output is what tshark
//! decodes without warnings; fields a format cannot carry are dropped, and
//! absent fields are written as zero (the wire has no "absent" for them).

pub mod fields;
pub mod generate;
pub mod sflow;
pub mod templated;
pub mod v5;

/// The IPv4 header checksum (RFC 791) of a header whose checksum field is zero.
pub fn ipv4_checksum(header: &[u8]) -> u16 {
    let sum = header
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32)
        .fold(0u32, |a, b| {
            let s = a + b;
            (s & 0xffff) + (s >> 16)
        });
    !(sum as u16)
}

pub use fields::standard_template;
pub use sflow::SflowEncoder;
pub use templated::{IpfixEncoder, V9Encoder};
pub use v5::V5Header;
