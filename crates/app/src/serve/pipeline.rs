//! Decode workers: each owns the template state of the exporters hashed to
//! it (no lock), decodes, drops cross-router duplicates, and hands batches
//! of flows to the sinks — the store writer (its own bounded queue; full
//! means counted drops, never a stalled receive) and the live feed.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flowlens_store::{Flow, Writer};
use flowlens_wire::{Batch, Decoder, DecoderLimits};
use tokio::sync::broadcast;

use super::dedup::Dedup;
use super::listen::Datagrams;
use super::telemetry::{lock, FlowDrop, Telemetry, MAX_DOMAINS_PER_EXPORTER, MAX_TRACKED_EXPORTERS};

/// Where decoded flows go.
#[derive(Clone)]
pub struct Sinks {
    pub writer: Arc<Writer>,
    /// Live feed (WebSockets): lagging subscribers lose batches, the
    /// pipeline never waits for them.
    pub live: broadcast::Sender<Arc<Vec<Flow>>>,
    pub dedup: Option<Arc<Dedup>>,
    pub telemetry: Arc<Telemetry>,
    /// Enrichment: workers make their own enricher from it.
    pub enrich: Arc<crate::enrich::EnrichSetup>,
    /// Traffic series for the Prometheus endpoint.
    pub traffic: Arc<crate::metrics::Traffic>,
    /// The analysis engine's recorder and alert rules.
    pub analysis: Arc<crate::analysis::Engine>,
}

impl Sinks {
    /// Counts `flows` as received, removes duplicates, and hands the rest
    /// on; a full store queue drops them (counted): receive never waits.
    pub fn deliver(&self, flows: Vec<Flow>) {
        let _ = self.deliver_as(flows, false);
    }

    /// As [`deliver`](Self::deliver), but waits for room in the store
    /// queue (POST /ingest and import, whose callers can wait). Returns the
    /// flows kept after de-duplication, or `None` when the store has
    /// stopped (they are counted as dropped).
    pub fn deliver_waiting(&self, flows: Vec<Flow>) -> Option<u64> {
        self.deliver_as(flows, true)
    }

    fn deliver_as(&self, mut flows: Vec<Flow>, wait: bool) -> Option<u64> {
        if flows.is_empty() {
            return Some(0);
        }
        let t = &self.telemetry;
        t.flows_received.fetch_add(flows.len() as u64, Ordering::Relaxed);
        if let Some(d) = &self.dedup {
            let before = flows.len();
            flows.retain(|f| !d.is_duplicate(&f.record));
            t.drop_flows(FlowDrop::Duplicate, (before - flows.len()) as u64);
        }
        if flows.is_empty() {
            return Some(0);
        }
        self.traffic.record(&flows, super::now().as_millis().div_euclid(1_000));
        self.analysis.observe(&flows);
        if self.live.receiver_count() > 0 {
            let _ = self.live.send(Arc::new(flows.clone()));
        }
        let n = flows.len() as u64;
        let queued = if wait {
            self.writer.send(flows).is_ok()
        } else {
            self.writer.try_send(flows).is_ok()
        };
        if !queued {
            t.drop_flows(FlowDrop::StoreQueueFull, n);
            return None;
        }
        Some(n)
    }
}

pub struct Worker {
    pub index: usize,
    pub rx: Receiver<Datagrams>,
    pub sinks: Sinks,
    pub batch_flows: usize,
    pub batch_delay: Duration,
    pub limits: DecoderLimits,
}

impl Worker {
    /// Decodes until every sender is gone, then hands on what it holds.
    pub fn run(self) {
        let t = self.sinks.telemetry.clone();
        let mut decoder = Decoder::with_limits(self.limits);
        let mut out = Batch::new();
        let mut pending: Vec<Flow> = Vec::with_capacity(self.batch_flows);
        let mut enricher = self.sinks.enrich.enricher(true);
        let mut since = Instant::now();
        loop {
            match self.rx.recv_timeout(self.batch_delay) {
                Ok(d) => {
                    t.decode_queues[self.index].fetch_sub(1, Ordering::Relaxed);
                    let started = Instant::now();
                    self.decode(&mut decoder, &mut enricher, &d, &mut out, &mut pending);
                    t.processing.observe(started.elapsed().as_secs_f64());
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if pending.len() >= self.batch_flows || (!pending.is_empty() && since.elapsed() >= self.batch_delay) {
                let mut batch = std::mem::replace(&mut pending, Vec::with_capacity(self.batch_flows));
                enricher.enrich_all(&mut batch);
                self.sinks.deliver(batch);
                since = Instant::now();
            }
        }
        // Data still waiting for a template will never get one now.
        out.clear();
        decoder.drop_pending(&mut out);
        for e in &out.errors {
            t.decode_error(e.code());
        }
        enricher.enrich_all(&mut pending);
        self.sinks.deliver(pending);
    }

    fn decode(
        &self,
        decoder: &mut Decoder,
        enricher: &mut crate::enrich::Enricher,
        d: &Datagrams,
        out: &mut Batch,
        pending: &mut Vec<Flow>,
    ) {
        let t = &self.sinks.telemetry;
        let mut listener_flows = 0u64;
        for (from, data) in d.iter() {
            out.clear();
            let result = decoder.decode(data, from, d.received, out);
            for e in &out.errors {
                t.decode_error(e.code());
            }
            let flows = out.flows.len();
            listener_flows += flows as u64;
            // Interface names the exporter announces in options data.
            for o in &out.options {
                if let Some(i) = o.if_index {
                    self.sinks
                        .enrich
                        .interfaces
                        .learn(from.ip(), i, o.if_name.as_deref(), o.if_description.as_deref());
                }
            }
            self.account(decoder, from, &result, out, d.received.as_millis() / 1_000);
            if let Err(e) = &result {
                t.decode_error(e.code());
            }
            pending.extend(out.flows.drain(..).map(Flow::new));
            if pending.len() >= self.batch_flows {
                let mut full = std::mem::replace(pending, Vec::with_capacity(self.batch_flows));
                enricher.enrich_all(&mut full);
                self.sinks.deliver(full);
            }
        }
        t.listeners[d.listener]
            .flows
            .fetch_add(listener_flows, Ordering::Relaxed);
    }

    fn account(
        &self,
        decoder: &Decoder,
        from: SocketAddr,
        result: &Result<flowlens_wire::Datagram, flowlens_wire::DecodeError>,
        out: &Batch,
        now_s: i64,
    ) {
        let mut exporters = lock(&self.sinks.telemetry.exporters);
        if !exporters.contains_key(&from) && exporters.len() >= MAX_TRACKED_EXPORTERS {
            return;
        }
        let e = exporters.entry(from).or_default();
        e.datagrams += 1;
        e.flows += out.flows.len() as u64;
        e.last_seen_unix = now_s;
        if let Some(rate) = out.flows.iter().rev().find_map(|f| f.sampling_rate) {
            e.sampling_rate = Some(rate);
        }
        for err in &out.errors {
            *e.errors.entry(err.code()).or_default() += 1;
        }
        match result {
            Ok(dg) => {
                e.protocol = dg.protocol.name();
                e.sequence_lost += dg.lost;
                e.templates = decoder.template_count(&from);
                if e.domains.contains_key(&dg.domain) || e.domains.len() < MAX_DOMAINS_PER_EXPORTER {
                    let d = e.domains.entry(dg.domain).or_default();
                    d.datagrams += 1;
                    d.flows += out.flows.len() as u64;
                    d.sequence_lost += dg.lost;
                }
            }
            Err(err) => *e.errors.entry(err.code()).or_default() += 1,
        }
    }
}
