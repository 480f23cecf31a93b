//! Stateless: one sFlow v5 datagram.
#![no_main]
use flowlens_wire::{Batch, Decoder, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = vec![0, 0, 0, 5];
    d.extend_from_slice(data.get(4..).unwrap_or(&[]));
    let mut b = Batch::new();
    let _ = Decoder::new().decode(&d, "192.0.2.1:6343".parse().unwrap(), Timestamp(0), &mut b);
});
