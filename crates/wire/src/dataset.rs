//! Data sets (NetFlow v9 data flowsets, IPFIX data sets): records decoded
//! through a compiled template into [`FlowRecord`]s or [`OptionsRecord`]s.

use crate::batch::Batch;
use crate::cursor::{be_uint, Cursor};
use crate::error::DecodeError;
use crate::fill::{apply, RecordContext, Scratch};
use crate::ie::{self, Slot};
use crate::limits;
use crate::record::{FlowRecord, OptionsRecord, Span, Timestamp};
use crate::state::DomainState;
use crate::template::{Template, TemplateKind, VARLEN};

/// Reads one variable-length field's length prefix (RFC 7011 §7: one byte,
/// or 255 followed by a two-byte length).
#[inline]
fn varlen(c: &mut Cursor<'_>) -> Result<usize, DecodeError> {
    let l = c.u8().map_err(|_| DecodeError::BadVarLen)?;
    if l < 255 {
        Ok(l as usize)
    } else {
        Ok(c.u16().map_err(|_| DecodeError::BadVarLen)? as usize)
    }
}

/// Decodes the records of one data set with a data template.
/// `budget` is how many more records this datagram may still produce.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_flows(
    t: &Template,
    body: &[u8],
    proto_rec: &FlowRecord,
    ctx: &RecordContext,
    dom: &DomainState,
    out: &mut Batch,
    raw_start: usize,
    budget: usize,
) -> Result<usize, DecodeError> {
    let mut n = 0usize;
    // One scratch for the whole set: every record of a template assigns the
    // same scratch slots, so only the order-dependent ones are reset.
    let mut s = Scratch::default();
    if let Some(rec_len) = t.fixed_len {
        out.flows.reserve((body.len() / rec_len).min(budget));
        for rec_bytes in body.chunks_exact(rec_len) {
            if n >= budget {
                return Err(DecodeError::TooManyRecords);
            }
            let mut pos = 0usize;
            one_record(t, proto_rec, ctx, dom, out, raw_start, &mut s, |len| {
                let v = &rec_bytes[pos..pos + len as usize];
                pos += len as usize;
                Ok(v)
            })?;
            n += 1;
        }
    } else {
        let mut c = Cursor::new(body);
        while c.remaining() >= t.min_len {
            if n >= budget {
                return Err(DecodeError::TooManyRecords);
            }
            one_record(t, proto_rec, ctx, dom, out, raw_start, &mut s, |len| {
                let len = if len == VARLEN { varlen(&mut c)? } else { len as usize };
                c.take(len).map_err(|_| DecodeError::BadVarLen)
            })?;
            n += 1;
        }
    }
    Ok(n)
}

/// Decodes one record in place at the end of `out.flows`; `value(len)`
/// yields each field's bytes in template order. On error the partial record
/// is removed.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn one_record<'a>(
    t: &Template,
    proto_rec: &FlowRecord,
    ctx: &RecordContext,
    dom: &DomainState,
    out: &mut Batch,
    raw_start: usize,
    s: &mut Scratch,
    mut value: impl FnMut(u16) -> Result<&'a [u8], DecodeError>,
) -> Result<(), DecodeError> {
    s.reset_record();
    let raw_begin = out.raw_fields.len();
    out.flows.push(proto_rec.clone());
    let Batch {
        flows,
        raw_fields,
        raw_bytes,
        raw_dropped,
        ..
    } = out;
    let last = flows.len() - 1;
    let rec = &mut flows[last];
    for op in t.ops.iter() {
        let v = match value(op.len) {
            Ok(v) => v,
            Err(e) => {
                flows.pop();
                raw_fields.truncate(raw_begin);
                return Err(e);
            }
        };
        match op.slot {
            Slot::Raw => {
                if raw_fields.len() - raw_begin < limits::MAX_RAW_FIELDS_PER_RECORD {
                    crate::batch::push_raw(raw_fields, raw_bytes, raw_dropped, op.pen, op.id, v, raw_start);
                }
            }
            slot => apply(slot, v, rec, s),
        }
    }
    s.finish(rec, ctx, |id| dom.sampler_rate(id));
    let raw_len = raw_fields.len() - raw_begin;
    if raw_len > 0 {
        rec.raw = Span {
            start: raw_begin as u32,
            len: raw_len as u32,
        };
    }
    Ok(())
}

fn string(v: &[u8]) -> String {
    let v = &v[..v.len().min(limits::MAX_OPTION_STRING_LEN)];
    // Fixed-size string fields are NUL padded.
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// v9 options scope field types (RFC 3954 §6.1).
const V9_SCOPE_INTERFACE: u16 = 2;

/// Decodes the records of one data set with an options template, updating
/// the domain's sampler and system-init state. `v9` selects the meaning of
/// scope field types (v9 scope types vs IPFIX IEs).
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_options(
    t: &Template,
    body: &[u8],
    domain: u32,
    v9: bool,
    export_time: Timestamp,
    dom: &mut DomainState,
    out: &mut Batch,
    budget: usize,
) -> Result<usize, DecodeError> {
    use ie::id;
    let scope_count = match t.kind {
        TemplateKind::Options { scope_count } => scope_count as usize,
        TemplateKind::Data => 0,
    };
    let mut c = Cursor::new(body);
    let mut n = 0;
    while c.remaining() >= t.min_len {
        if n >= budget {
            return Err(DecodeError::TooManyRecords);
        }
        let mut o = OptionsRecord {
            observation_domain: domain,
            template_id: t.id,
            ..OptionsRecord::default()
        };
        let mut s = Scratch::default();
        for (i, f) in t.fields.iter().enumerate() {
            let len = if f.len == VARLEN {
                varlen(&mut c)?
            } else {
                f.len as usize
            };
            let v = c.take(len).map_err(|_| DecodeError::BadVarLen)?;
            if f.pen != 0 || v.is_empty() {
                continue;
            }
            let is_scope = i < scope_count;
            if is_scope && v9 {
                if f.id == V9_SCOPE_INTERFACE {
                    o.if_index = Some(be_uint(v) as u32);
                }
                continue;
            }
            match f.id {
                id::INGRESS_INTERFACE | id::EGRESS_INTERFACE if v.len() <= 8 => {
                    o.if_index.get_or_insert(be_uint(v) as u32);
                }
                id::SAMPLER_ID | id::SELECTOR_ID if v.len() <= 8 => o.sampler_id = Some(be_uint(v)),
                id::SAMPLING_INTERVAL if v.len() <= 8 => s.sampling_interval = Some(be_uint(v)),
                id::SAMPLER_RANDOM_INTERVAL if v.len() <= 8 => s.random_interval = Some(be_uint(v)),
                id::SAMPLING_PACKET_INTERVAL if v.len() <= 8 => s.packet_interval = Some(be_uint(v)),
                id::SAMPLING_PACKET_SPACE if v.len() <= 8 => s.packet_space = Some(be_uint(v)),
                id::SAMPLING_SIZE if v.len() <= 8 => s.sampling_size = Some(be_uint(v)),
                id::SAMPLING_POPULATION if v.len() <= 8 => s.sampling_population = Some(be_uint(v)),
                id::SYSTEM_INIT_TIME_MILLISECONDS if v.len() <= 8 => {
                    o.system_init = Some(Timestamp::from_millis(be_uint(v) as i64))
                }
                id::INTERFACE_NAME => o.if_name = Some(string(v)),
                id::INTERFACE_DESCRIPTION => o.if_description = Some(string(v)),
                id::SAMPLER_NAME | id::SELECTOR_NAME => o.sampler_name = Some(string(v)),
                _ => {}
            }
        }
        o.sampling_rate = s.record_rate();
        if let Some(rate) = o.sampling_rate {
            match o.sampler_id {
                Some(sid) => dom.set_sampler(sid, rate),
                None => dom.default_rate = Some(rate),
            }
        }
        if let Some(init) = o.system_init {
            // Ignore absurd values (before 1990 or far after the export time)
            // so one bad record cannot shift every later flow.
            if init.as_secs() > 631_152_000 && init.0 <= export_time.0 + 86_400_000_000_000 {
                dom.sys_init = Some(init);
            }
        }
        out.options.push(o);
        n += 1;
    }
    Ok(n)
}
