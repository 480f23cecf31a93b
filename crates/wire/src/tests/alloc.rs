//! A counting allocator for this test binary, per thread, so that tests can
//! assert how much one call allocates while other tests run in parallel.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static BYTES: Cell<u64> = const { Cell::new(0) };
    static CALLS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = BYTES.try_with(|b| b.set(b.get() + l.size() as u64));
        let _ = CALLS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let _ = BYTES.try_with(|b| b.set(b.get() + new as u64));
        let _ = CALLS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// (bytes, allocation calls) made by `f` on this thread.
pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, u64, u64) {
    let b0 = BYTES.with(Cell::get);
    let c0 = CALLS.with(Cell::get);
    let r = f();
    (r, BYTES.with(Cell::get) - b0, CALLS.with(Cell::get) - c0)
}

#[cfg(test)]
mod steady_state {
    use super::measure;
    use crate::encode::fields::TimeBase;
    use crate::encode::{standard_template, IpfixEncoder, SflowEncoder, V5Header, V9Encoder};
    use crate::record::{FlowRecord, Protocol};
    use crate::tests::{exporter, NOW};
    use crate::{Batch, Decoder};

    fn recs(n: usize) -> Vec<FlowRecord> {
        (0..n)
            .map(|i| {
                let mut r = FlowRecord::new(Protocol::Ipfix, exporter(), NOW);
                r.src_addr = Some(std::net::IpAddr::from([10, 0, 0, i as u8]));
                r.dst_addr = Some(std::net::IpAddr::from([10, 0, 1, i as u8]));
                r.proto = Some(6);
                r.bytes = Some(1000);
                r.packets = Some(2);
                r.src_as = Some(1);
                r
            })
            .collect()
    }

    /// Templates cached, batch reused: decoding a datagram allocates nothing.
    #[test]
    fn steady_state_decoding_allocates_nothing() {
        let base = TimeBase {
            export_time: NOW,
            sys_uptime_ms: 1_000_000,
        };
        let r = recs(22);
        let mut cases: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        let mut e = V9Encoder::new(1, 256, standard_template(false, true));
        let (mut t, mut d) = (Vec::new(), Vec::new());
        e.encode(&base, &[], true, Some((1, 10)), &mut t);
        e.encode(&base, &r, false, None, &mut d);
        cases.push((t, d));
        let mut e = IpfixEncoder::new(1, 256, standard_template(true, false));
        let (mut t, mut d) = (Vec::new(), Vec::new());
        e.encode(&base, &[], true, None, &mut t);
        e.encode(&base, &r, false, None, &mut d);
        cases.push((t, d));
        let mut v5 = Vec::new();
        let h = V5Header {
            export_time: NOW,
            sys_uptime_ms: 1,
            sequence: 0,
            engine_type: 0,
            engine_id: 0,
            sampling_interval: 0,
        };
        crate::encode::v5::encode(&h, &r, &mut v5);
        cases.push((Vec::new(), v5));
        let mut sf = Vec::new();
        SflowEncoder::new("192.0.2.1".parse().unwrap(), 0).encode(&r[..5], &[], &mut sf);
        cases.push((Vec::new(), sf));
        for (tpl, data) in cases {
            let mut dec = Decoder::new();
            let mut b = Batch::new();
            if !tpl.is_empty() {
                dec.decode(&tpl, exporter(), NOW, &mut b).unwrap();
            }
            // Warm up: the batch grows to its working size once.
            for _ in 0..3 {
                b.clear();
                dec.decode(&data, exporter(), NOW, &mut b).unwrap();
            }
            let (_, bytes, calls) = measure(|| {
                for _ in 0..100 {
                    b.clear();
                    dec.decode(&data, exporter(), NOW, &mut b).unwrap();
                }
            });
            assert_eq!((bytes, calls), (0, 0), "allocations in steady state");
            assert!(!b.flows.is_empty());
        }
    }
}
