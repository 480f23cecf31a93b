//! `flowlens decode`: decode flow datagrams from captures (or bare UDP
//! payloads) with one shared template state, and print the records.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use flowlens_wire::{Batch, Decoder, FlowRecord, Timestamp};

use crate::capture::{self, CaptureError};
use crate::flowjson::{counters_json, options_json, FlowJson};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Table,
    /// Decode and count only: the summary is the output.
    Count,
}

#[derive(Debug, Clone)]
pub struct DecodeOptions {
    pub format: Format,
    /// Each file is one bare UDP payload (no capture framing).
    pub raw: bool,
    /// Source address assumed for `--raw` payloads.
    pub exporter: SocketAddr,
    /// Print sFlow counter samples too.
    pub counters: bool,
    /// Print NetFlow v9 / IPFIX options data records too.
    pub options: bool,
}

/// Totals for the summary line.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files: u64,
    pub datagrams: u64,
    pub flows: u64,
    pub counters: u64,
    pub options: u64,
    /// Datagram- and set-level errors, by code.
    pub errors: BTreeMap<&'static str, u64>,
    pub lost: u64,
    /// Data sets held until their template arrived (decoded then, or
    /// counted as `template_missing` if it never did).
    pub held: u64,
    pub truncated_captures: u64,
}

impl Summary {
    pub fn render(&self) -> String {
        let mut s = format!(
            "{} files, {} datagrams, {} flow records, {} counter samples, {} options records",
            self.files, self.datagrams, self.flows, self.counters, self.options
        );
        if self.lost > 0 {
            s.push_str(&format!(", {} lost by sequence number", self.lost));
        }
        if self.held > 0 {
            s.push_str(&format!(", {} data sets held for their template", self.held));
        }
        if self.errors.is_empty() {
            s.push_str(", no errors");
        } else {
            let list: Vec<String> = self.errors.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push_str(&format!(", errors: {}", list.join(" ")));
        }
        if self.truncated_captures > 0 {
            s.push_str(&format!(
                " ({} captures end in a partial packet)",
                self.truncated_captures
            ));
        }
        s
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeCmdError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

struct Run<'w> {
    opts: DecodeOptions,
    decoder: Decoder,
    batch: Batch,
    summary: Summary,
    out: &'w mut dyn Write,
    table_header: bool,
}

impl Run<'_> {
    fn datagram(&mut self, payload: &[u8], exporter: SocketAddr, time: Timestamp) -> std::io::Result<()> {
        self.batch.clear();
        self.summary.datagrams += 1;
        match self.decoder.decode(payload, exporter, time, &mut self.batch) {
            Ok(d) => {
                self.summary.lost += d.lost;
                for e in &self.batch.errors {
                    if matches!(e, flowlens_wire::DecodeError::TemplatePending { .. }) {
                        self.summary.held += 1;
                        continue;
                    }
                    *self.summary.errors.entry(e.code()).or_default() += 1;
                }
                self.summary.flows += self.batch.flows.len() as u64;
                self.summary.counters += self.batch.counters.len() as u64;
                self.summary.options += self.batch.options.len() as u64;
                self.print(exporter, d.protocol.name())
            }
            Err(e) => {
                *self.summary.errors.entry(e.code()).or_default() += 1;
                Ok(())
            }
        }
    }

    fn print(&mut self, exporter: SocketAddr, protocol: &str) -> std::io::Result<()> {
        let b = &self.batch;
        match self.opts.format {
            Format::Count => {}
            Format::Json => {
                if self.opts.options {
                    for o in &b.options {
                        serde_json::to_writer(&mut *self.out, &options_json(exporter, protocol, o))?;
                        self.out.write_all(b"\n")?;
                    }
                }
                for r in &b.flows {
                    serde_json::to_writer(&mut *self.out, &FlowJson::new(r, b))?;
                    self.out.write_all(b"\n")?;
                }
                if self.opts.counters {
                    for c in &b.counters {
                        serde_json::to_writer(&mut *self.out, &counters_json(c))?;
                        self.out.write_all(b"\n")?;
                    }
                }
            }
            Format::Table => {
                if !self.table_header && !b.flows.is_empty() {
                    table_header(&mut *self.out)?;
                    self.table_header = true;
                }
                for r in &b.flows {
                    table_row(&mut *self.out, r)?;
                }
            }
        }
        Ok(())
    }
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// The column titles of [`table_row`].
pub(crate) fn table_header(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(
        out,
        "{:<24} {:<8} {:>5} {:>39} {:>5}   {:<39} {:>5} {:>12} {:>9} {:>6} {:>6} {:>6}  exporter",
        "start", "protocol", "proto", "src", "sport", "dst", "dport", "bytes", "packets", "in", "out", "rate"
    )
}

/// One flow as an aligned table row.
pub(crate) fn table_row(out: &mut dyn Write, r: &FlowRecord) -> std::io::Result<()> {
    let start = r.time_start.map(|t| {
        let s = crate::flowjson::rfc3339(Timestamp(t.as_millis() * 1_000_000));
        s.trim_end_matches('Z').replace('T', " ")
    });
    writeln!(
        out,
        "{:<24} {:<8} {:>5} {:>39} {:>5}   {:<39} {:>5} {:>12} {:>9} {:>6} {:>6} {:>6}  {}",
        opt(start),
        r.protocol.name(),
        opt(r.proto),
        opt(r.src_addr),
        opt(r.src_port),
        opt(r.dst_addr),
        opt(r.dst_port),
        opt(r.bytes),
        opt(r.packets),
        opt(r.in_if),
        opt(r.out_if),
        opt(r.sampling_rate),
        r.exporter
    )
}

/// Decodes `files` in order with one decoder, writing records to `out`.
pub fn run(files: &[PathBuf], opts: DecodeOptions, out: &mut dyn Write) -> Result<Summary, DecodeCmdError> {
    let mut run = Run {
        opts,
        decoder: Decoder::new(),
        batch: Batch::new(),
        summary: Summary::default(),
        out,
        table_header: false,
    };
    for path in files {
        run.summary.files += 1;
        if run.opts.raw {
            let payload = std::fs::read(path).map_err(|source| DecodeCmdError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let exporter = run.opts.exporter;
            run.datagram(&payload, exporter, Timestamp(0))?;
        } else {
            let mut io_err = None;
            let stats = capture::read_file(path, |d| {
                if io_err.is_none() {
                    if let Err(e) = run.datagram(&d.payload, d.src, d.time) {
                        io_err = Some(e);
                    }
                }
            })?;
            if let Some(e) = io_err {
                return Err(e.into());
            }
            if stats.truncated_tail {
                run.summary.truncated_captures += 1;
            }
        }
    }
    run.out.flush()?;
    // Data still waiting for a template at the end of the input is lost.
    run.batch.clear();
    run.decoder.drop_pending(&mut run.batch);
    for e in &run.batch.errors {
        *run.summary.errors.entry(e.code()).or_default() += 1;
    }
    Ok(run.summary)
}
