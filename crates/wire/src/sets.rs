//! The set walker shared by NetFlow v9 and IPFIX: splits a message into sets
//! by their length fields, feeds template sets to the template cache and data
//! sets to the record decoder.
//!
//! A broken set is reported in `Batch::errors` and skipped; the sets before it
//! are kept. A set length that cannot be trusted (shorter than its header, or
//! past the end of the message) ends the walk, since nothing after it can be
//! located.

use std::net::SocketAddr;

use crate::batch::Batch;
use crate::cursor::Cursor;
use crate::dataset;
use crate::error::DecodeError;
use crate::fill::RecordContext;
use crate::ipfix::{self, TemplateRecord};
use crate::limits;
use crate::netflow::v9;
use crate::record::{FlowRecord, Protocol, Timestamp};
use crate::state::{self, ExporterState, PendingSet, TemplateKey};
use crate::template::{Template, TemplateKind};

/// A parsed v9 or IPFIX message header.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message {
    pub protocol: Protocol,
    pub version: u8,
    pub domain: u32,
    pub sequence: u32,
    pub ctx: RecordContext,
    pub body_offset: usize,
    pub body_end: usize,
    /// IPFIX message length from the header (v9 has none).
    pub claimed_len: Option<usize>,
}

/// Trailing zero bytes of a set are padding (RFC 3954 §5.3, RFC 7011 §3.3.1).
pub(crate) fn is_padding(rest: &[u8]) -> bool {
    rest.iter().all(|&b| b == 0)
}

/// What a message contributed, for the datagram summary.
pub(crate) struct Walked {
    pub data_records: u32,
    /// Records of data sets held from earlier messages, decoded now that
    /// their template arrived.
    pub replayed_records: u32,
}

/// Walks one message. `held` is the decoder-wide count of bytes in pending
/// data sets (bounded by [`limits::MAX_PENDING_BYTES`]).
pub(crate) fn walk(
    data: &[u8],
    msg: &Message,
    st: &mut ExporterState,
    held: &mut usize,
    exporter: SocketAddr,
    received: Timestamp,
    out: &mut Batch,
) -> Walked {
    let mut proto_rec = FlowRecord::new(msg.protocol, exporter, received);
    proto_rec.observation_domain = msg.domain;
    proto_rec.sequence = Some(msg.sequence);
    let raw_start = out.raw_bytes.len();
    let flows_start = out.flows.len();
    let mut data_records = 0u32;
    if let Some(claimed) = msg.claimed_len.filter(|&c| c != data.len()) {
        out.errors.push(DecodeError::LengthMismatch {
            claimed,
            actual: data.len(),
        });
    }

    expire_pending(st, held, received, out);

    let body = &data[msg.body_offset..msg.body_end];
    let mut c = Cursor::with_base(body, msg.body_offset);
    while c.remaining() >= 4 {
        let set_offset = c.offset();
        let set_id = c.u16().unwrap_or(0);
        let set_len = c.u16().unwrap_or(0) as usize;
        if set_len < 4 || set_len - 4 > c.remaining() {
            // A zero-filled tail is padding after the last set (some v9
            // exporters pad the whole datagram).
            if set_id == 0 && set_len == 0 && is_padding(c.rest()) {
                break;
            }
            out.errors.push(DecodeError::BadSetLength {
                offset: set_offset,
                len: set_len,
            });
            break;
        }
        let mut set = match c.sub(set_len - 4) {
            Ok(s) => s,
            Err(e) => {
                out.errors.push(e);
                break;
            }
        };
        let result = match (msg.version, set_id) {
            (9, v9::TEMPLATE_SET_ID) => v9::templates(&mut set, received, |t| store(st, msg, t, out)),
            (9, v9::OPTIONS_TEMPLATE_SET_ID) => v9::options_templates(&mut set, received, |t| store(st, msg, t, out)),
            (10, ipfix::TEMPLATE_SET_ID | ipfix::OPTIONS_TEMPLATE_SET_ID) => {
                ipfix::templates(&mut set, set_id, received, |r| match r {
                    TemplateRecord::Template(t) => store(st, msg, t, out),
                    TemplateRecord::Withdraw(id) => {
                        st.templates.pop(&key(msg, id));
                    }
                    TemplateRecord::WithdrawAll => {
                        st.withdraw_all(10, msg.domain, set_id == ipfix::OPTIONS_TEMPLATE_SET_ID)
                    }
                })
            }
            (_, id) if id >= 256 => {
                let budget = limits::MAX_RECORDS_PER_DATAGRAM.saturating_sub(out.flows.len() - flows_start);
                match data_set(st, msg, id, set.rest(), &proto_rec, received, out, raw_start, budget) {
                    Ok(n) => {
                        data_records += n as u32;
                        Ok(())
                    }
                    Err(DecodeError::TemplateMissing { .. }) => hold(st, held, msg, id, set.rest(), received),
                    Err(e) => Err(e),
                }
            }
            (_, id) => Err(DecodeError::ReservedSetId(id)),
        };
        if let Err(e) = result {
            out.errors.push(e);
        }
    }
    let replayed_records = if st.pending.is_empty() {
        0
    } else {
        replay(st, held, exporter, out, raw_start, flows_start)
    };
    Walked {
        data_records,
        replayed_records,
    }
}

/// Holds a data set whose template has not arrived yet, within the bounds;
/// `Err(TemplatePending)` reports it held (not lost), `Err(TemplateMissing)`
/// dropped.
fn hold(
    st: &mut ExporterState,
    held: &mut usize,
    msg: &Message,
    id: u16,
    body: &[u8],
    received: Timestamp,
) -> Result<(), DecodeError> {
    let (domain, template_id) = (msg.domain, id);
    if st.pending.len() >= limits::MAX_PENDING_SETS_PER_EXPORTER || *held + body.len() > limits::MAX_PENDING_BYTES {
        return Err(DecodeError::TemplateMissing { domain, template_id });
    }
    *held += body.len();
    st.pending.push_back(PendingSet {
        key: key(msg, id),
        msg: *msg,
        received,
        body: body.into(),
    });
    Err(DecodeError::TemplatePending { domain, template_id })
}

/// Drops held sets older than [`limits::PENDING_MAX_AGE`]: now lost.
fn expire_pending(st: &mut ExporterState, held: &mut usize, now: Timestamp, out: &mut Batch) {
    let max_age = limits::PENDING_MAX_AGE.as_nanos() as i64;
    while let Some(p) = st.pending.front() {
        if now.0.saturating_sub(p.received.0) <= max_age {
            break;
        }
        let p = st.pending.pop_front().expect("front exists");
        *held -= p.body.len();
        out.errors.push(DecodeError::TemplateMissing {
            domain: p.key.domain,
            template_id: p.key.id,
        });
    }
}

/// Decodes held sets whose template is now known, in arrival order, each
/// with the header and receive time it came with.
fn replay(
    st: &mut ExporterState,
    held: &mut usize,
    exporter: SocketAddr,
    out: &mut Batch,
    raw_start: usize,
    flows_start: usize,
) -> u32 {
    let mut records = 0;
    let mut i = 0;
    while i < st.pending.len() {
        let p = &st.pending[i];
        if state::live_template(&mut st.templates, p.key, p.received).is_none() {
            i += 1;
            continue;
        }
        let p = st.pending.remove(i).expect("index in range");
        *held -= p.body.len();
        let mut proto_rec = FlowRecord::new(p.msg.protocol, exporter, p.received);
        proto_rec.observation_domain = p.msg.domain;
        proto_rec.sequence = Some(p.msg.sequence);
        let budget = limits::MAX_RECORDS_PER_DATAGRAM.saturating_sub(out.flows.len() - flows_start);
        match data_set(
            st, &p.msg, p.key.id, &p.body, &proto_rec, p.received, out, raw_start, budget,
        ) {
            Ok(n) => records += n as u32,
            Err(e) => out.errors.push(e),
        }
    }
    records
}

fn key(msg: &Message, id: u16) -> TemplateKey {
    TemplateKey {
        version: msg.version,
        domain: msg.domain,
        id,
    }
}

fn store(st: &mut ExporterState, msg: &Message, t: Result<Template, DecodeError>, out: &mut Batch) {
    match t {
        Ok(t) => {
            let k = key(msg, t.id);
            // A refresh of an identical template only updates its time.
            if let Some(old) = st.templates.get_mut(&k) {
                if old.same_layout(t.kind, &t.fields) {
                    old.received = t.received;
                    return;
                }
            }
            st.templates.put(k, t);
        }
        Err(e) => out.errors.push(e),
    }
}

#[allow(clippy::too_many_arguments)]
fn data_set(
    st: &mut ExporterState,
    msg: &Message,
    id: u16,
    body: &[u8],
    proto_rec: &FlowRecord,
    received: Timestamp,
    out: &mut Batch,
    raw_start: usize,
    budget: usize,
) -> Result<usize, DecodeError> {
    let k = key(msg, id);
    let missing = DecodeError::TemplateMissing {
        domain: msg.domain,
        template_id: id,
    };
    // The template cache and the domain list are different fields of the
    // exporter state, so both can be borrowed at once.
    let ExporterState { templates, domains, .. } = st;
    let Some(t) = state::live_template(templates, k, received) else {
        return Err(missing);
    };
    let dom = state::domain_mut(domains, msg.protocol, msg.domain);
    match t.kind {
        TemplateKind::Data => {
            let mut ctx = msg.ctx;
            ctx.sys_init = dom.sys_init;
            ctx.default_rate = dom.default_rate;
            dataset::decode_flows(t, body, proto_rec, &ctx, dom, out, raw_start, budget)
        }
        TemplateKind::Options { .. } => dataset::decode_options(
            t,
            body,
            msg.domain,
            msg.version == 9,
            msg.ctx.export_time,
            dom,
            out,
            budget,
        ),
    }
}
