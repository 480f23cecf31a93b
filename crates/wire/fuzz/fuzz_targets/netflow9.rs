//! Stateless: one datagram forced to version 9 (templates and data in the same input).
#![no_main]
use flowlens_wire::{Batch, Decoder, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = vec![0, 9];
    d.extend_from_slice(data.get(2..).unwrap_or(&[]));
    let mut b = Batch::new();
    let _ = Decoder::new().decode(&d, "192.0.2.1:2055".parse().unwrap(), Timestamp(0), &mut b);
});
