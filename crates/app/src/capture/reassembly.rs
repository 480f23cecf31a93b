//! IP fragment reassembly for captures (large IPFIX and v9 datagrams are
//! often fragmented). Bounded: a limited number of datagrams in progress, each
//! at most 65,535 bytes; the oldest in-progress datagram is dropped first.

use std::collections::VecDeque;
use std::net::IpAddr;

/// Datagrams being reassembled at once.
pub const MAX_PENDING_DATAGRAMS: usize = 256;
/// Largest reassembled datagram (IP payload).
pub const MAX_REASSEMBLED_LEN: usize = 65_535;
/// Fragments per datagram.
pub const MAX_FRAGMENTS: usize = 64;

type Key = (IpAddr, IpAddr, u32);

struct Pending {
    key: Key,
    /// (offset, bytes)
    parts: Vec<(usize, Vec<u8>)>,
    /// Known once the last fragment (more-fragments clear) arrives.
    total: Option<usize>,
}

#[derive(Default)]
pub(crate) struct Reassembler {
    pending: VecDeque<Pending>,
}

impl Reassembler {
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Adds a fragment; returns the whole payload when it is complete.
    pub fn add(&mut self, key: Key, offset: usize, more: bool, bytes: &[u8]) -> Option<Vec<u8>> {
        if offset + bytes.len() > MAX_REASSEMBLED_LEN {
            return None;
        }
        let i = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                if self.pending.len() >= MAX_PENDING_DATAGRAMS {
                    self.pending.pop_front();
                }
                self.pending.push_back(Pending {
                    key,
                    parts: Vec::new(),
                    total: None,
                });
                self.pending.len() - 1
            }
        };
        let p = &mut self.pending[i];
        if p.parts.len() >= MAX_FRAGMENTS {
            self.pending.remove(i);
            return None;
        }
        if !more {
            p.total = Some(offset + bytes.len());
        }
        p.parts.push((offset, bytes.to_vec()));
        let total = p.total?;
        p.parts.sort_by_key(|(o, _)| *o);
        let mut have = 0usize;
        for (o, b) in &p.parts {
            if *o > have {
                return None; // a hole remains
            }
            have = have.max(o + b.len());
        }
        if have < total {
            return None;
        }
        let mut whole = vec![0u8; total];
        for (o, b) in &p.parts {
            let end = (o + b.len()).min(total);
            whole[*o..end].copy_from_slice(&b[..end - o]);
        }
        self.pending.remove(i);
        Some(whole)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_fragments_reassemble() {
        let mut r = Reassembler::default();
        let k = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap(), 7);
        assert!(r.add(k, 8, false, &[9, 10, 11]).is_none());
        let w = r.add(k, 0, true, &[1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(w, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        assert_eq!(r.pending(), 0);
    }

    #[test]
    fn pending_datagrams_are_bounded() {
        let mut r = Reassembler::default();
        for id in 0..(MAX_PENDING_DATAGRAMS as u32 * 3) {
            let k = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap(), id);
            r.add(k, 0, true, &[0; 8]);
        }
        assert_eq!(r.pending(), MAX_PENDING_DATAGRAMS);
    }
}
