//! Crate tests: encode→decode round trips, hostile input, allocation counts.

mod alloc;
mod hostile;
mod roundtrip;

use std::net::SocketAddr;

use crate::{Batch, Decoder, Timestamp};

pub(crate) fn exporter() -> SocketAddr {
    "192.0.2.10:40000".parse().unwrap()
}

pub(crate) const NOW: Timestamp = Timestamp(1_700_000_000_000_000_000);

/// Decodes a sequence of datagrams with one decoder.
pub(crate) fn decode_all(datagrams: &[Vec<u8>]) -> (Batch, Vec<Result<crate::Datagram, crate::DecodeError>>) {
    let mut d = Decoder::new();
    let mut b = Batch::new();
    let r = datagrams.iter().map(|g| d.decode(g, exporter(), NOW, &mut b)).collect();
    (b, r)
}

#[test]
fn record_sizes() {
    eprintln!(
        "FlowRecord {} bytes, Scratch {} bytes",
        std::mem::size_of::<crate::FlowRecord>(),
        std::mem::size_of::<crate::ie::Scratch>()
    );
}
