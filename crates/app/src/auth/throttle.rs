//! Sign-in throttling: failed attempts per account name and per source
//! address in a sliding window. Checked before any password is hashed, so
//! a brute force costs the service a map lookup per try, not a hash.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use super::limits::{MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_SOURCE, MAX_THROTTLE_KEYS, THROTTLE_WINDOW};

/// Failures (unix seconds) per key, bounded in keys and per key.
#[derive(Default)]
struct Window {
    keys: HashMap<String, VecDeque<u64>>,
}

impl Window {
    fn prune(q: &mut VecDeque<u64>, now: u64) {
        let w = THROTTLE_WINDOW.as_secs();
        while q.front().is_some_and(|&t| t + w <= now) {
            q.pop_front();
        }
    }

    /// Seconds until `key` may try again, when it has `max` failures in
    /// the window.
    fn wait(&mut self, key: &str, max: usize, now: u64) -> Option<u64> {
        let q = self.keys.get_mut(key)?;
        Self::prune(q, now);
        if q.len() < max {
            return None;
        }
        let oldest = *q.front()?;
        Some((oldest + THROTTLE_WINDOW.as_secs()).saturating_sub(now).max(1))
    }

    fn fail(&mut self, key: &str, max: usize, now: u64) {
        if !self.keys.contains_key(key) && self.keys.len() >= MAX_THROTTLE_KEYS {
            // Forget what has expired, then the key whose last failure is
            // oldest.
            self.keys.retain(|_, q| {
                Self::prune(q, now);
                !q.is_empty()
            });
            if self.keys.len() >= MAX_THROTTLE_KEYS {
                if let Some(k) = self
                    .keys
                    .iter()
                    .min_by_key(|(_, q)| q.back().copied().unwrap_or(0))
                    .map(|(k, _)| k.clone())
                {
                    self.keys.remove(&k);
                }
            }
        }
        let q = self.keys.entry(key.to_string()).or_default();
        Self::prune(q, now);
        q.push_back(now);
        while q.len() > max {
            q.pop_front();
        }
    }
}

#[derive(Default)]
pub struct Throttle {
    accounts: Mutex<Window>,
    sources: Mutex<Window>,
}

/// Why a sign-in may not be tried now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
}

fn source_key(ip: IpAddr) -> String {
    // IPv6 hosts get a /64 each: one host can hold a whole one.
    match ip {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn lock(m: &Mutex<Window>) -> std::sync::MutexGuard<'_, Window> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Throttle {
    /// Whether `account` may try to sign in from `source` now.
    pub fn check(&self, account: &str, source: IpAddr, now: u64) -> Result<(), Refused> {
        let a = lock(&self.accounts).wait(&account.to_lowercase(), MAX_FAILURES_PER_ACCOUNT, now);
        let s = lock(&self.sources).wait(&source_key(source), MAX_FAILURES_PER_SOURCE, now);
        match a.max(s) {
            Some(secs) => Err(Refused {
                retry_after: Duration::from_secs(secs),
            }),
            None => Ok(()),
        }
    }

    pub fn failed(&self, account: &str, source: IpAddr, now: u64) {
        lock(&self.accounts).fail(&account.to_lowercase(), MAX_FAILURES_PER_ACCOUNT, now);
        lock(&self.sources).fail(&source_key(source), MAX_FAILURES_PER_SOURCE, now);
    }

    /// A success clears the account's failures (not the source's: one
    /// good password must not reset a spray over many accounts).
    pub fn succeeded(&self, account: &str) {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys
            .remove(&account.to_lowercase());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_sources_are_held_separately() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for i in 0..MAX_FAILURES_PER_ACCOUNT as u64 {
            assert!(t.check("admin", a, 1_000 + i).is_ok());
            t.failed("admin", a, 1_000 + i);
        }
        // The account is held from any address, until the first failure
        // leaves the window.
        let r = t.check("Admin", b, 1_010).unwrap_err();
        assert_eq!(r.retry_after.as_secs(), THROTTLE_WINDOW.as_secs() - 10);
        assert!(t.check("admin", b, 1_000 + THROTTLE_WINDOW.as_secs()).is_ok());
        // Another account from the first address still may, up to the
        // source's own limit.
        assert!(t.check("alice", a, 1_010).is_ok());
        for i in 0..MAX_FAILURES_PER_SOURCE as u64 {
            t.failed(&format!("user{i}"), b, 2_000);
        }
        assert!(t.check("somebody", b, 2_001).is_err());
        assert!(t.check("somebody", a, 2_001).is_ok());
        t.succeeded("admin");
        assert!(t.check("admin", a, 1_011).is_ok());
    }

    #[test]
    fn the_key_table_is_bounded() {
        let t = Throttle::default();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        for i in 0..(MAX_THROTTLE_KEYS + 50) {
            t.failed(&format!("n{i}"), a, 5_000 + i as u64);
        }
        assert!(t.accounts.lock().unwrap().keys.len() <= MAX_THROTTLE_KEYS);
        assert_eq!(t.sources.lock().unwrap().keys.len(), 1, "one /64");
    }
}
