//! Stateless: NetFlow v1/v5/v7 datagrams (the first input byte picks the version).
#![no_main]
use flowlens_wire::{Batch, Decoder, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&v, rest)) = data.split_first() else { return };
    let version = [1u8, 5, 7][v as usize % 3];
    let mut d = vec![0, version];
    d.extend_from_slice(rest);
    let mut b = Batch::new();
    let _ = Decoder::new().decode(&d, "192.0.2.1:2055".parse().unwrap(), Timestamp(0), &mut b);
});
