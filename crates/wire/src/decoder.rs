//! The entry point: one [`Decoder`] per worker holds the template state of
//! every exporter it has seen and turns datagrams into a [`Batch`].

use std::net::SocketAddr;
use std::num::NonZeroUsize;

use lru::LruCache;

use crate::batch::Batch;
use crate::detect::{detect, Detected};
use crate::error::DecodeError;
use crate::limits;
use crate::netflow::{legacy, v9};
use crate::record::{Protocol, Timestamp};
use crate::state::ExporterState;
use crate::{ipfix, sets, sflow};

/// Summary of one decoded datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Datagram {
    pub protocol: Protocol,
    /// Observation domain / source id / sub-agent of the header.
    pub domain: u32,
    /// Header sequence number (sFlow: datagram sequence).
    pub sequence: Option<u32>,
    /// Flow records added to the batch.
    pub flows: usize,
    /// Of those, the last `replayed` came from data sets of earlier
    /// datagrams (or earlier in this one) held until their template arrived.
    pub replayed: usize,
    /// Units lost since the previous datagram of this domain, by the header
    /// sequence number: datagrams (v9, sFlow) or records (v5, v7, IPFIX).
    pub lost: u64,
}

/// Bounds of one decoder's state. Defaults are the constants in [`limits`].
#[derive(Debug, Clone, Copy)]
pub struct DecoderLimits {
    pub max_exporters: NonZeroUsize,
    pub max_templates_per_exporter: NonZeroUsize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_exporters: NonZeroUsize::new(limits::MAX_EXPORTERS).expect("non-zero constant"),
            max_templates_per_exporter: NonZeroUsize::new(limits::MAX_TEMPLATES_PER_EXPORTER)
                .expect("non-zero constant"),
        }
    }
}

/// Decodes datagrams of any supported protocol, keeping per-exporter state.
///
/// Pure: no I/O, no clock (the receive time is a parameter), no panics on any
/// input. Not `Sync`; use one per worker and route each exporter to one worker
/// so its templates are found.
pub struct Decoder {
    exporters: LruCache<SocketAddr, ExporterState>,
    limits: DecoderLimits,
    /// Bytes of data sets held for templates, across exporters.
    pending_bytes: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Self::with_limits(DecoderLimits::default())
    }

    pub fn with_limits(limits: DecoderLimits) -> Self {
        Decoder {
            exporters: LruCache::new(limits.max_exporters),
            limits,
            pending_bytes: 0,
        }
    }

    /// Exporters with state.
    pub fn exporter_count(&self) -> usize {
        self.exporters.len()
    }

    /// Templates held for one exporter.
    pub fn template_count(&self, exporter: &SocketAddr) -> usize {
        self.exporters.peek(exporter).map_or(0, |s| s.templates.len())
    }

    /// Template ids held for one exporter, as (version, domain, id).
    pub fn templates(&self, exporter: &SocketAddr) -> Vec<(u8, u32, u16)> {
        self.exporters
            .peek(exporter)
            .map(|s| s.templates.iter().map(|(k, _)| (k.version, k.domain, k.id)).collect())
            .unwrap_or_default()
    }

    /// Bytes of data sets held until their template arrives.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Gives up on every held data set (end of input, shutdown): each is
    /// counted in `out.errors` as `TemplateMissing`.
    pub fn drop_pending(&mut self, out: &mut Batch) {
        for (_, st) in self.exporters.iter_mut() {
            for p in st.pending.drain(..) {
                out.errors.push(DecodeError::TemplateMissing {
                    domain: p.key.domain,
                    template_id: p.key.id,
                });
            }
        }
        self.pending_bytes = 0;
    }

    /// Forgets an exporter's templates, sampling state and held data.
    pub fn forget(&mut self, exporter: &SocketAddr) {
        if let Some(st) = self.exporters.pop(exporter) {
            self.pending_bytes -= st.pending_bytes();
        }
    }

    fn state(&mut self, exporter: SocketAddr) -> &mut ExporterState {
        if !self.exporters.contains(&exporter) {
            let st = ExporterState::new(self.limits.max_templates_per_exporter);
            // The least recently seen exporter makes room, held data and all.
            if let Some((_, old)) = self.exporters.push(exporter, st) {
                self.pending_bytes -= old.pending_bytes();
            }
        }
        self.exporters.get_mut(&exporter).expect("just inserted")
    }

    /// Decodes one datagram, appending its records to `out`.
    ///
    /// `Err` means nothing of the datagram was usable. Problems confined to
    /// part of it (one set or sample) are pushed to `out.errors` and the rest
    /// is still decoded.
    pub fn decode(
        &mut self,
        data: &[u8],
        exporter: SocketAddr,
        received: Timestamp,
        out: &mut Batch,
    ) -> Result<Datagram, DecodeError> {
        if data.len() > limits::MAX_DATAGRAM_LEN {
            return Err(DecodeError::TooLarge {
                len: data.len(),
                max: limits::MAX_DATAGRAM_LEN,
            });
        }
        let flows_before = out.flows.len();
        match detect(data)? {
            Detected::Netflow(version @ (1 | 5 | 7)) => {
                let h = legacy::decode(version, data, exporter, received, out)?;
                let protocol = match version {
                    1 => Protocol::Netflow1,
                    5 => Protocol::Netflow5,
                    _ => Protocol::Netflow7,
                };
                let lost = match h.sequence {
                    Some(seq) => self
                        .state(exporter)
                        .domain(protocol, h.domain)
                        .observe_sequence(seq, h.count as u32),
                    None => 0,
                };
                Ok(Datagram {
                    protocol,
                    domain: h.domain,
                    sequence: h.sequence,
                    flows: out.flows.len() - flows_before,
                    replayed: 0,
                    lost,
                })
            }
            Detected::Netflow(9) | Detected::Ipfix => {
                let msg = if data[1] == 9 {
                    v9::header(data)?
                } else {
                    ipfix::header(data)?
                };
                self.state(exporter); // created (or evicting) first: it may release held bytes
                let mut held = self.pending_bytes;
                let st = self.exporters.get_mut(&exporter).expect("state exists");
                let walked = sets::walk(data, &msg, st, &mut held, exporter, received, out);
                let increment = if msg.version == 9 { 1 } else { walked.data_records };
                let mut lost = st
                    .domain(msg.protocol, msg.domain)
                    .observe_sequence(msg.sequence, increment);
                if msg.version == 10 {
                    // IPFIX counts records: those of held sets were not in
                    // their message's increment, and are not lost.
                    lost = lost.saturating_sub(walked.replayed_records.into());
                }
                self.pending_bytes = held;
                Ok(Datagram {
                    protocol: msg.protocol,
                    domain: msg.domain,
                    sequence: Some(msg.sequence),
                    flows: out.flows.len() - flows_before,
                    replayed: walked.replayed_records as usize,
                    lost,
                })
            }
            Detected::Netflow(v) => Err(DecodeError::UnsupportedVersion(v as u32)),
            Detected::Sflow5 => {
                let h = sflow::decode(data, exporter, received, out)?;
                let lost = self
                    .state(exporter)
                    .domain(Protocol::Sflow5, h.sub_agent)
                    .observe_sequence(h.sequence, 1);
                Ok(Datagram {
                    protocol: Protocol::Sflow5,
                    domain: h.sub_agent,
                    sequence: Some(h.sequence),
                    flows: out.flows.len() - flows_before,
                    replayed: 0,
                    lost,
                })
            }
        }
    }
}
