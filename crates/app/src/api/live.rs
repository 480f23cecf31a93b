//! The live feed's fan-out: one task reads the pipeline's broadcast ring
//! and, per batch, tests each distinct filter once and serialises its
//! matches once; every client with that filter gets the same message
//! through its own short queue. A client whose queue is full is dropped
//! (its task closes the socket with 1008 and a reason), so the work per
//! batch grows with the number of distinct filters, not of clients, and no
//! client holds back another or the pipeline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use flowlens_store::{Filter, Flow};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc};

use super::json::flow_json;
use super::limits::{WS_CLIENT_QUEUE, WS_MAX_FLOWS_PER_MESSAGE};
use crate::serve::telemetry::lock;

/// What a client's queue carries.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A JSON array of flows.
    Flows(Utf8Bytes),
    /// Close with this code and reason.
    Close(u16, String),
}

struct Client {
    id: u64,
    tx: mpsc::Sender<Msg>,
}

struct Group {
    filter: Filter,
    clients: Vec<Client>,
}

#[derive(Default)]
pub struct Hub {
    /// By filter text: clients asking the same question share its answer.
    groups: Mutex<HashMap<String, Group>>,
    running: AtomicBool,
    next_id: AtomicU64,
    /// Clients dropped because their queue was full or the feed overran.
    pub closed_slow: AtomicU64,
    /// The enrichment, for AS and interface names (set once at start).
    pub enrich: std::sync::OnceLock<Arc<crate::enrich::EnrichSetup>>,
}

impl Hub {
    /// Registers a client; starts the fan-out task if it is not running
    /// (call inside the runtime).
    pub fn subscribe(
        self: &Arc<Self>,
        live: &broadcast::Sender<Arc<Vec<Flow>>>,
        filter: Filter,
    ) -> (u64, mpsc::Receiver<Msg>) {
        let (tx, rx) = mpsc::channel(WS_CLIENT_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.groups)
            .entry(filter.text.clone())
            .or_insert_with(|| Group {
                filter,
                clients: Vec::new(),
            })
            .clients
            .push(Client { id, tx });
        if !self.running.swap(true, Ordering::AcqRel) {
            let hub = self.clone();
            let rx = live.subscribe();
            tokio::spawn(async move { hub.run(rx).await });
        }
        (id, rx)
    }

    pub fn unsubscribe(&self, id: u64) {
        let mut g = lock(&self.groups);
        g.retain(|_, group| {
            group.clients.retain(|c| c.id != id);
            !group.clients.is_empty()
        });
    }

    async fn run(self: Arc<Self>, mut rx: broadcast::Receiver<Arc<Vec<Flow>>>) {
        loop {
            match rx.recv().await {
                Ok(batch) => {
                    if !self.publish(&batch) {
                        // No client left: stop until the next one comes.
                        self.running.store(false, Ordering::Release);
                        // One may have subscribed after the check.
                        if lock(&self.groups).is_empty() || self.running.swap(true, Ordering::AcqRel) {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    // The fan-out itself fell a ring behind: every client
                    // missed flows. Say so rather than go on silently.
                    self.close_all(1008, &format!("too slow: the live feed moved on {n} batches"));
                }
                Err(RecvError::Closed) => {
                    self.close_all(1001, "the service is stopping");
                    self.running.store(false, Ordering::Release);
                    return;
                }
            }
        }
    }

    /// Sends the batch's matches to every client; `false` when there are
    /// no clients.
    pub fn publish(&self, batch: &[Flow]) -> bool {
        // The filters, not the clients, decide the work: snapshot them.
        let snapshot: Vec<(String, Filter)> = {
            let g = lock(&self.groups);
            if g.is_empty() {
                return false;
            }
            g.iter().map(|(k, v)| (k.clone(), v.filter.clone())).collect()
        };
        let (names, interfaces) = match self.enrich.get() {
            Some(e) => (e.geo.current(), e.interfaces.clone()),
            None => (
                Arc::new(crate::enrich::Databases::default()),
                Arc::new(crate::enrich::Interfaces::new(&[], &[])),
            ),
        };
        for (key, filter) in snapshot {
            let flows: Vec<serde_json::Value> = batch
                .iter()
                .filter(|f| filter.matches(f))
                .take(WS_MAX_FLOWS_PER_MESSAGE)
                .map(|f| flow_json(f, false, &names, &interfaces))
                .collect();
            if flows.is_empty() {
                continue;
            }
            let text: Utf8Bytes = serde_json::Value::Array(flows).to_string().into();
            let mut g = lock(&self.groups);
            if let Some(group) = g.get_mut(&key) {
                let before = group.clients.len();
                // A full queue drops the client: its task sees the queue
                // closed and closes the socket with the reason.
                group
                    .clients
                    .retain(|c| c.tx.try_send(Msg::Flows(text.clone())).is_ok());
                let dropped = before - group.clients.len();
                if dropped > 0 {
                    self.closed_slow.fetch_add(dropped as u64, Ordering::Relaxed);
                    tracing::info!(dropped, filter = %key, "live feed clients too slow; closed");
                }
                if group.clients.is_empty() {
                    g.remove(&key);
                }
            }
        }
        true
    }

    fn close_all(&self, code: u16, reason: &str) {
        let mut g = lock(&self.groups);
        for group in g.values() {
            for c in &group.clients {
                // A full queue is dropped below all the same.
                let _ = c.tx.try_send(Msg::Close(code, reason.to_string()));
            }
            if code == 1008 {
                self.closed_slow
                    .fetch_add(group.clients.len() as u64, Ordering::Relaxed);
            }
        }
        g.clear();
    }
}
