//! Stateful: a sequence of datagrams (split on the 4-byte marker "FLSP")
//! through one decoder, so templates from earlier datagrams shape how later
//! ones decode. Two exporter addresses alternate to exercise isolation.
#![no_main]
use flowlens_wire::{Batch, Decoder, Timestamp};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut dec = Decoder::new();
    let mut b = Batch::new();
    let a = "192.0.2.1:2055".parse().unwrap();
    let z = "192.0.2.2:2055".parse().unwrap();
    let mut rest = data;
    let mut i = 0u64;
    loop {
        let (dgram, next) = match rest.windows(4).position(|w| w == b"FLSP") {
            Some(p) => (&rest[..p], Some(&rest[p + 4..])),
            None => (rest, None),
        };
        b.clear();
        let from = if i % 3 == 2 { z } else { a };
        let _ = dec.decode(dgram, from, Timestamp(i as i64 * 1_000_000_000), &mut b);
        // Whatever decodes must be internally consistent.
        for r in &b.flows {
            let _ = b.raw_fields_of(r);
            let _ = b.as_path_of(r);
        }
        i += 1;
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
});
