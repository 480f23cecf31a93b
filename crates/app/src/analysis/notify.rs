//! Notifications: the events stream (`/api/v1/ws/events`) and webhooks.
//!
//! Webhooks are delivered by one thread from a bounded queue (a full queue
//! drops the event and counts it; the engine never waits). Each delivery is
//! a JSON POST with an `Idempotency-Key` that stays the same across its
//! retries, so a receiver that got a first attempt whose answer was lost can
//! discard the second; retries follow connection errors, timeouts, 429 and
//! 5xx answers with doubling back-off, at most `WEBHOOK_ATTEMPTS` times.
//! Redirects are not followed: a webhook reaches only the scheme and host
//! the configuration allows.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::broadcast;

use super::limits::{EVENT_QUEUE, MAX_PENDING_DELIVERIES, WEBHOOK_ATTEMPTS, WEBHOOK_FIRST_BACKOFF_MS};
use crate::config::{Notifications, Webhook};

/// Whether `url` is a webhook target the configuration allows; the reason
/// when not.
pub fn check_url(url: &str, n: &Notifications) -> Result<(), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err("an http:// or https:// URL".into());
    };
    if !n.allow_schemes.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(format!(
            "a URL whose scheme is in notifications.allow_schemes ({})",
            n.allow_schemes.join(", ")
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("a URL without user:password@ (put credentials in the path or a token)".into());
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    if host.is_empty() {
        return Err("a URL with a host".into());
    }
    if !n.allow_hosts.is_empty()
        && !n
            .allow_hosts
            .iter()
            .any(|p| crate::enrich::interfaces::glob(&p.to_ascii_lowercase(), &host.to_ascii_lowercase()))
    {
        return Err(format!(
            "a host listed in notifications.allow_hosts ({})",
            n.allow_hosts.join(", ")
        ));
    }
    Ok(())
}

/// Delivery counters, shown in the status.
#[derive(Debug, Default, Serialize)]
pub struct DeliveryStats {
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    /// Gave up after every attempt, or the target refused (4xx).
    pub failed: AtomicU64,
    /// The queue was full.
    pub dropped: AtomicU64,
}

struct Delivery {
    webhook: usize,
    key: String,
    body: String,
}

/// Sends events to the stream and the webhooks.
pub struct Notifier {
    events: broadcast::Sender<Arc<str>>,
    webhooks: Vec<Webhook>,
    queue: Option<SyncSender<Delivery>>,
    pub stats: Arc<DeliveryStats>,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    next: AtomicU64,
}

impl Notifier {
    pub fn new(n: &Notifications) -> Notifier {
        let (events, _) = broadcast::channel(EVENT_QUEUE);
        let stats = Arc::new(DeliveryStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (queue, thread) = if n.webhooks.is_empty() {
            (None, None)
        } else {
            let (tx, rx) = sync_channel(MAX_PENDING_DELIVERIES);
            let hooks = n.webhooks.clone();
            let (st, sp) = (stats.clone(), stop.clone());
            let t = std::thread::Builder::new()
                .name("flowlens-webhooks".into())
                .spawn(move || deliver(rx, hooks, st, sp))
                .ok();
            (Some(tx), t)
        };
        Notifier {
            events,
            webhooks: n.webhooks.clone(),
            queue,
            stats,
            thread,
            stop,
            next: AtomicU64::new(1),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.events.subscribe()
    }

    /// Publishes an event on the stream, and to the webhooks `to` selects.
    pub fn send(&self, event: &serde_json::Value, to: impl Fn(&Webhook) -> bool) {
        let text: Arc<str> = event.to_string().into();
        let _ = self.events.send(text.clone());
        let Some(q) = &self.queue else { return };
        for (i, w) in self.webhooks.iter().enumerate() {
            if !to(w) {
                continue;
            }
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            let d = Delivery {
                webhook: i,
                key: format!("{}-{n}", std::process::id()),
                body: text.to_string(),
            };
            if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) = q.try_send(d) {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Stops the delivery thread after what is queued (each delivery still
    /// gets its attempts, cut short by the stop).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.queue = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        self.stop();
    }
}

fn deliver(rx: Receiver<Delivery>, hooks: Vec<Webhook>, stats: Arc<DeliveryStats>, stop: Arc<AtomicBool>) {
    let agents: Vec<ureq::Agent> = hooks
        .iter()
        .map(|w| {
            ureq::Agent::config_builder()
                .timeout_global(Some(w.timeout.0))
                .max_redirects(0)
                .http_status_as_error(false)
                .user_agent(concat!("flowlens/", env!("CARGO_PKG_VERSION")))
                .build()
                .into()
        })
        .collect();
    loop {
        let d = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(d) => d,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let (w, agent) = (&hooks[d.webhook], &agents[d.webhook]);
        let mut backoff = Duration::from_millis(WEBHOOK_FIRST_BACKOFF_MS);
        for attempt in 1..=WEBHOOK_ATTEMPTS {
            let answer = agent
                .post(&w.url)
                .header("content-type", "application/json")
                .header("idempotency-key", &d.key)
                .send(d.body.as_bytes());
            let retry = match answer {
                Ok(r) if r.status().is_success() => {
                    stats.delivered.fetch_add(1, Ordering::Relaxed);
                    false
                }
                Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
                    tracing::debug!(webhook = %w.name, status = %r.status(), attempt, "webhook answered an error; retrying");
                    true
                }
                Ok(r) => {
                    tracing::warn!(webhook = %w.name, status = %r.status(), "webhook refused the event; not retrying (check its URL and token)");
                    stats.failed.fetch_add(1, Ordering::Relaxed);
                    false
                }
                Err(e) => {
                    tracing::debug!(webhook = %w.name, error = %e, attempt, "webhook unreachable; retrying");
                    true
                }
            };
            if !retry {
                break;
            }
            if attempt == WEBHOOK_ATTEMPTS || stop.load(Ordering::Relaxed) {
                tracing::warn!(webhook = %w.name, attempts = attempt, "webhook delivery failed; the event is dropped");
                stats.failed.fetch_add(1, Ordering::Relaxed);
                break;
            }
            stats.retried.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(backoff);
            backoff *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_held_to_the_allowed_schemes_and_hosts() {
        let mut n = Notifications::default();
        assert!(check_url("https://hooks.example.com/x", &n).is_ok());
        assert!(check_url("ftp://hooks.example.com/x", &n)
            .unwrap_err()
            .contains("allow_schemes"));
        assert!(check_url("hooks.example.com", &n).is_err());
        assert!(check_url("https://user:pw@hooks.example.com/", &n).is_err());
        n.allow_hosts = vec!["*.example.com".into(), "127.0.0.1".into(), "::1".into()];
        assert!(check_url("https://hooks.example.com:8443/x", &n).is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook", &n).is_ok());
        assert!(check_url("http://[::1]:9000/hook", &n).is_ok());
        assert!(check_url("https://evil.example.org/", &n)
            .unwrap_err()
            .contains("allow_hosts"));
        assert!(check_url("https://hooks.example.com.evil.org/", &n).is_err());
    }
}
