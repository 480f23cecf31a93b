//! Cross-router de-duplication: the same 5-tuple exported by several
//! routers within the TTL counts once (the first router to report it owns
//! it until it goes quiet for a TTL).
//!
//! Memory is bounded by two generations per shard: lookups see both,
//! inserts go to the current one, and a generation is retired whole when
//! it is a TTL old or full, so nothing is ever scanned. An entry is 20
//! bytes: a keyed 64-bit fingerprint of the 5-tuple (SipHash with a random
//! key per process, so senders cannot aim collisions), a 32-bit tag of the
//! exporter, and the time.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hash, Hasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;

use flowlens_wire::FlowRecord;

/// Shards (independent locks) of the table.
pub const DEDUP_SHARDS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    proto: u8,
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    exporter: u32,
    at_ms: i64,
}

/// Fingerprint → who reported it when. The fingerprint is already a
/// keyed hash, so the map only mixes it once more.
type Map = HashMap<u64, Seen, BuildHasherDefault<FxHasher>>;

#[derive(Default)]
struct Shard {
    current: Map,
    previous: Map,
    started_ms: i64,
}

pub struct Dedup {
    keys: RandomState,
    shards: Vec<Mutex<Shard>>,
    ttl_ms: i64,
    per_shard: usize,
}

impl Dedup {
    pub fn new(ttl: std::time::Duration, max_entries: usize) -> Dedup {
        Dedup {
            keys: RandomState::new(),
            shards: (0..DEDUP_SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            ttl_ms: ttl.as_millis() as i64,
            // Two generations per shard share the budget.
            per_shard: (max_entries / DEDUP_SHARDS / 2).max(1),
        }
    }

    /// True when `r` is a copy, from another router, of a flow already
    /// seen within the TTL. Flows without addresses are never duplicates.
    pub fn is_duplicate(&self, r: &FlowRecord) -> bool {
        let (Some(src), Some(dst)) = (r.src_addr, r.dst_addr) else {
            return false;
        };
        let key = Key {
            src,
            dst,
            src_port: r.src_port.unwrap_or(0),
            dst_port: r.dst_port.unwrap_or(0),
            proto: r.proto.unwrap_or(0),
        };
        let fp = self.keys.hash_one(key);
        let exporter = self.keys.hash_one(r.exporter.ip()) as u32;
        let now = r.time_received.as_millis();
        let shard = &self.shards[(fp >> 60) as usize % DEDUP_SHARDS];
        let mut s = shard.lock().unwrap_or_else(|p| p.into_inner());
        if s.current.len() >= self.per_shard || now - s.started_ms >= self.ttl_ms {
            s.previous = std::mem::take(&mut s.current);
            s.started_ms = now;
        }
        let seen = s.current.get(&fp).or_else(|| s.previous.get(&fp)).copied();
        if let Some(seen) = seen {
            if seen.exporter != exporter && now - seen.at_ms <= self.ttl_ms {
                return true;
            }
        }
        s.current.insert(fp, Seen { exporter, at_ms: now });
        false
    }
}

/// Firefox's hash: a multiply and a rotate per word (for keys that are
/// already random).
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u16(&mut self, n: u16) {
        self.write_u64(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowlens_wire::{Protocol, Timestamp};

    fn flow(exporter: &str, at_s: i64, sport: u16) -> FlowRecord {
        let mut r = FlowRecord::new(
            Protocol::Netflow9,
            format!("{exporter}:2055").parse().unwrap(),
            Timestamp::from_secs(at_s),
        );
        r.src_addr = Some("10.0.0.1".parse().unwrap());
        r.dst_addr = Some("192.0.2.9".parse().unwrap());
        r.src_port = Some(sport);
        r.dst_port = Some(443);
        r.proto = Some(6);
        r
    }

    #[test]
    fn a_second_router_within_the_ttl_is_a_copy() {
        let d = Dedup::new(std::time::Duration::from_secs(60), 1_000_000);
        assert!(!d.is_duplicate(&flow("192.0.2.1", 100, 1000)));
        assert!(d.is_duplicate(&flow("192.0.2.2", 110, 1000)), "router B, 10 s later");
        assert!(
            !d.is_duplicate(&flow("192.0.2.1", 150, 1000)),
            "router A again: its own update"
        );
        assert!(!d.is_duplicate(&flow("192.0.2.2", 110, 1001)), "another 5-tuple");
        assert!(
            d.is_duplicate(&flow("192.0.2.2", 200, 1000)),
            "within a TTL of A's last report"
        );
        assert!(
            !d.is_duplicate(&flow("192.0.2.2", 300, 1000)),
            "A quiet for > TTL: B takes over"
        );
        assert!(d.is_duplicate(&flow("192.0.2.1", 310, 1000)));
    }

    #[test]
    fn memory_is_bounded_under_a_flood() {
        let d = Dedup::new(std::time::Duration::from_secs(60), 16_000);
        for i in 0..200_000u32 {
            let mut r = flow("192.0.2.1", 100, 1);
            r.src_addr = Some(IpAddr::from(i.to_be_bytes()));
            assert!(!d.is_duplicate(&r));
        }
        let held: usize = d
            .shards
            .iter()
            .map(|s| {
                let s = s.lock().unwrap();
                s.current.len() + s.previous.len()
            })
            .sum();
        assert!(held <= 16_000, "{held}");
    }
}
