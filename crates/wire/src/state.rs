//! Per-exporter decoder state: templates, samplers, system-init times and
//! sequence numbers, all bounded by the constants in [`crate::limits`].
//!
//! Templates are keyed by (transport session, version, observation domain,
//! template id) — RFC 7011 §8 scopes templates to the transport session and
//! observation domain — so one exporter can never overwrite another's.

use std::collections::VecDeque;
use std::num::NonZeroUsize;

use lru::LruCache;

use crate::limits;
use crate::record::{Protocol, Timestamp};
use crate::sets::Message;
use crate::template::Template;

/// Observation domains tracked per exporter (sampler and sequence state).
pub const MAX_DOMAINS_PER_EXPORTER: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct TemplateKey {
    /// 9 or 10: a NetFlow v9 and an IPFIX exporter on one socket do not share ids.
    pub version: u8,
    pub domain: u32,
    pub id: u16,
}

/// What options data and headers taught us about one observation domain.
#[derive(Debug, Clone)]
pub(crate) struct DomainState {
    pub protocol: Protocol,
    pub domain: u32,
    /// Rate from options data that names no sampler.
    pub default_rate: Option<u32>,
    /// IPFIX systemInitTimeMilliseconds from options data.
    pub sys_init: Option<Timestamp>,
    /// (sampler id, 1-in-N rate), most recent last.
    pub samplers: Vec<(u64, u32)>,
    /// Sequence number expected next, for loss accounting.
    pub next_sequence: Option<u32>,
}

impl DomainState {
    fn new(protocol: Protocol, domain: u32) -> Self {
        DomainState {
            protocol,
            domain,
            default_rate: None,
            sys_init: None,
            samplers: Vec::new(),
            next_sequence: None,
        }
    }

    pub fn sampler_rate(&self, id: u64) -> Option<u32> {
        self.samplers.iter().rev().find(|(s, _)| *s == id).map(|&(_, r)| r)
    }

    pub fn set_sampler(&mut self, id: u64, rate: u32) {
        if let Some(e) = self.samplers.iter_mut().find(|(s, _)| *s == id) {
            e.1 = rate;
            return;
        }
        if self.samplers.len() >= limits::MAX_SAMPLERS_PER_EXPORTER {
            self.samplers.remove(0);
        }
        self.samplers.push((id, rate));
    }

    /// Records a header sequence number and returns how many units (datagrams
    /// or records, per protocol) were lost since the previous one. A backwards
    /// jump (restart, reordering) counts as no loss and resynchronises.
    pub fn observe_sequence(&mut self, seq: u32, increment: u32) -> u64 {
        let lost = match self.next_sequence {
            Some(expected) if seq != expected => {
                let d = seq.wrapping_sub(expected) as i32;
                if d > 0 {
                    d as u64
                } else {
                    0
                }
            }
            _ => 0,
        };
        self.next_sequence = Some(seq.wrapping_add(increment));
        lost
    }
}

/// A data set held until its template arrives, with the header it came in.
pub(crate) struct PendingSet {
    pub key: TemplateKey,
    pub msg: Message,
    pub received: Timestamp,
    pub body: Box<[u8]>,
}

/// State for one exporter (transport session).
pub(crate) struct ExporterState {
    pub templates: LruCache<TemplateKey, Template>,
    pub domains: Vec<DomainState>,
    /// Data sets waiting for their template, oldest first.
    pub pending: VecDeque<PendingSet>,
}

impl ExporterState {
    pub fn new(max_templates: NonZeroUsize) -> Self {
        ExporterState {
            templates: LruCache::new(max_templates),
            domains: Vec::new(),
            pending: VecDeque::new(),
        }
    }

    /// Bytes held in pending sets.
    pub fn pending_bytes(&self) -> usize {
        self.pending.iter().map(|p| p.body.len()).sum()
    }

    pub fn domain(&mut self, protocol: Protocol, domain: u32) -> &mut DomainState {
        domain_mut(&mut self.domains, protocol, domain)
    }

    /// Removes templates of one domain: all of them, or only data or options
    /// templates (IPFIX withdrawal of all templates, RFC 7011 §8.1).
    pub fn withdraw_all(&mut self, version: u8, domain: u32, options: bool) {
        let keys: Vec<TemplateKey> = self
            .templates
            .iter()
            .filter(|(k, t)| {
                k.version == version
                    && k.domain == domain
                    && matches!(t.kind, crate::template::TemplateKind::Options { .. }) == options
            })
            .map(|(k, _)| *k)
            .collect();
        for k in keys {
            self.templates.pop(&k);
        }
    }
}

/// The state of one domain, created on first use; the oldest is dropped when
/// an exporter announces more than [`MAX_DOMAINS_PER_EXPORTER`].
pub(crate) fn domain_mut(domains: &mut Vec<DomainState>, protocol: Protocol, domain: u32) -> &mut DomainState {
    let pos = domains
        .iter()
        .position(|d| d.domain == domain && d.protocol == protocol);
    let i = match pos {
        Some(i) => i,
        None => {
            if domains.len() >= MAX_DOMAINS_PER_EXPORTER {
                domains.remove(0);
            }
            domains.push(DomainState::new(protocol, domain));
            domains.len() - 1
        }
    };
    &mut domains[i]
}

/// A template if present and not expired; an expired one is removed.
pub(crate) fn live_template(
    templates: &mut LruCache<TemplateKey, Template>,
    key: TemplateKey,
    now: Timestamp,
) -> Option<&Template> {
    let expired = match templates.peek(&key) {
        None => return None,
        Some(t) => now.0.saturating_sub(t.received.0) > limits::TEMPLATE_EXPIRY.as_nanos() as i64,
    };
    if expired {
        templates.pop(&key);
        return None;
    }
    templates.get(&key)
}
