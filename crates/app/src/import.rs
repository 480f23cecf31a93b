//! `flowlens import FILE...`: stores the flows found in pcap/pcapng
//! captures, timestamped with the capture time, through the same writer
//! (rollups included) and de-duplication as the service.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use flowlens_store::{Flow, Store, StoreConfig, Writer};
use flowlens_wire::{Batch, Decoder, Timestamp};

use crate::capture::{self, CaptureError};
use crate::serve::dedup::Dedup;

/// Flows handed to the writer at a time.
pub const IMPORT_BATCH: usize = 8_192;

pub struct ImportOptions {
    pub files: Vec<PathBuf>,
    pub store: StoreConfig,
    /// `(ttl, max_entries)` when de-duplication is on.
    pub dedup: Option<(std::time::Duration, usize)>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// For enrichment (GeoIP, classification, interface names), as the
    /// service does it.
    pub config: crate::config::Config,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub files: usize,
    pub datagrams: u64,
    pub flows: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub errors: BTreeMap<&'static str, u64>,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl ImportSummary {
    pub fn render(&self) -> String {
        let mut s = format!(
            "imported {} files: {} datagrams, {} flows, {} stored, {} duplicates removed",
            self.files, self.datagrams, self.flows, self.stored, self.duplicates
        );
        if let (Some(a), Some(b)) = (self.first, self.last) {
            s.push_str(&format!(
                "; flows from {} to {}",
                crate::flowjson::rfc3339(a),
                crate::flowjson::rfc3339(b)
            ));
        }
        if !self.errors.is_empty() {
            let e: Vec<String> = self.errors.iter().map(|(k, v)| format!("{k} {v}")).collect();
            s.push_str(&format!("; decode errors: {}", e.join(", ")));
        }
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Store(#[from] flowlens_store::StoreError),
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// The store settings of a configuration.
pub fn store_config(c: &crate::config::Config) -> StoreConfig {
    StoreConfig {
        data_dir: c.storage.data_dir.clone(),
        flush_interval: c.storage.flush_interval.0,
    }
}

pub fn run(o: &ImportOptions) -> Result<ImportSummary, ImportError> {
    let total: u64 = o
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = if o.progress {
        let b = indicatif::ProgressBar::new(total);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let store = Store::open(o.store.clone())?;
    let geo = crate::enrich::GeoIp::open(&o.config.enrichment.geoip).map_err(|e| {
        ImportError::Store(flowlens_store::StoreError::Writer(format!(
            "{e} (or set enrichment.geoip.required to false)"
        )))
    })?;
    let interfaces = Arc::new(crate::enrich::Interfaces::new(
        &o.config.exporters,
        &o.config.interface_rules,
    ));
    interfaces.load(&store)?;
    let setup = crate::enrich::EnrichSetup::new(
        Arc::new(geo),
        Arc::new(crate::enrich::Classifier::open(&o.config.classification.rules, &store)?),
        interfaces.clone(),
        &o.config.enrichment,
    );
    let mut enricher = setup.enricher(true);
    let writer = Writer::start(&store)?;
    let stats = writer.stats().clone();
    let dedup = o.dedup.map(|(ttl, max)| Dedup::new(ttl, max));
    let mut decoder = Decoder::new();
    let mut out = Batch::new();
    let mut s = ImportSummary::default();
    let mut pending: Vec<Flow> = Vec::with_capacity(IMPORT_BATCH);
    let done_before = Arc::new(AtomicU64::new(0));
    let mut send = |pending: &mut Vec<Flow>, s: &mut ImportSummary| -> Result<(), ImportError> {
        let mut batch = std::mem::replace(pending, Vec::with_capacity(IMPORT_BATCH));
        enricher.enrich_all(&mut batch);
        let n = batch.len() as u64;
        writer.send(batch)?;
        s.stored += n;
        Ok(())
    };
    for path in &o.files {
        s.files += 1;
        bar.set_message(path.display().to_string());
        let name = path.display().to_string();
        let file = File::open(path).map_err(|source| CaptureError::Io {
            path: name.clone(),
            source,
        })?;
        let read = done_before.clone();
        let mut failed = None;
        let bar2 = bar.clone();
        let base = read.load(Ordering::Relaxed);
        let counter = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: file,
            read: counter.clone(),
        };
        capture::read(counting, &name, &mut |d| {
            if failed.is_some() {
                return;
            }
            s.datagrams += 1;
            out.clear();
            if let Err(e) = decoder.decode(&d.payload, d.src, d.time, &mut out) {
                *s.errors.entry(e.code()).or_default() += 1;
            }
            for e in &out.errors {
                *s.errors.entry(e.code()).or_default() += 1;
            }
            for op in &out.options {
                if let Some(i) = op.if_index {
                    interfaces.learn(d.src.ip(), i, op.if_name.as_deref(), op.if_description.as_deref());
                }
            }
            for r in out.flows.drain(..) {
                s.flows += 1;
                s.first = Some(s.first.map_or(r.time_received, |t| t.min(r.time_received)));
                s.last = Some(s.last.map_or(r.time_received, |t| t.max(r.time_received)));
                if dedup.as_ref().is_some_and(|dd| dd.is_duplicate(&r)) {
                    s.duplicates += 1;
                    continue;
                }
                pending.push(Flow::new(r));
            }
            if pending.len() >= IMPORT_BATCH {
                if let Err(e) = send(&mut pending, &mut s) {
                    failed = Some(e);
                }
            }
            if s.datagrams % 256 == 0 {
                bar2.set_position(base + counter.load(Ordering::Relaxed));
            }
        })?;
        read.fetch_add(counter.load(Ordering::Relaxed), Ordering::Relaxed);
        bar.set_position(read.load(Ordering::Relaxed));
        if let Some(e) = failed {
            return Err(e);
        }
    }
    out.clear();
    decoder.drop_pending(&mut out);
    for e in &out.errors {
        *s.errors.entry(e.code()).or_default() += 1;
    }
    send(&mut pending, &mut s)?;
    bar.set_message("writing");
    writer.close();
    interfaces.save(&store, crate::serve::now().as_millis() / 1_000);
    bar.finish_and_clear();
    let failed = stats.failed_rows.load(Ordering::Relaxed);
    if failed > 0 {
        return Err(ImportError::Store(flowlens_store::StoreError::Writer(format!(
            "{failed} of {} flows could not be written (see the log); nothing of a failed batch was kept",
            s.stored
        ))));
    }
    Ok(s)
}
