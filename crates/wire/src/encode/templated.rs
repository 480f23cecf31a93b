//! NetFlow v9 and IPFIX export: template sets, options (sampler) templates
//! and data sets.

use crate::encode::fields::{put_field, TimeBase};
use crate::ie::id;
use crate::record::FlowRecord;
use crate::template::FieldSpec;

/// Template id of the sampler options template the encoders use.
pub const SAMPLER_OPTIONS_TEMPLATE_ID: u16 = 300;

fn pad4(out: &mut Vec<u8>, set_start: usize) {
    while (out.len() - set_start) % 4 != 0 {
        out.push(0);
    }
}

fn set_len(out: &mut [u8], set_start: usize) {
    let len = (out.len() - set_start) as u16;
    out[set_start + 2..set_start + 4].copy_from_slice(&len.to_be_bytes());
}

fn field_spec(out: &mut Vec<u8>, f: &FieldSpec, ipfix: bool) {
    if ipfix && f.pen != 0 {
        out.extend_from_slice(&(f.id | 0x8000).to_be_bytes());
        out.extend_from_slice(&f.len.to_be_bytes());
        out.extend_from_slice(&f.pen.to_be_bytes());
    } else {
        out.extend_from_slice(&f.id.to_be_bytes());
        out.extend_from_slice(&f.len.to_be_bytes());
    }
}

/// A template set holding one template record (set id 0 for v9, 2 for IPFIX).
fn template_set(out: &mut Vec<u8>, set_id: u16, template_id: u16, fields: &[FieldSpec], ipfix: bool) {
    let start = out.len();
    out.extend_from_slice(&set_id.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&template_id.to_be_bytes());
    out.extend_from_slice(&(fields.len() as u16).to_be_bytes());
    for f in fields {
        field_spec(out, f, ipfix);
    }
    set_len(out, start);
}

fn data_set(out: &mut Vec<u8>, template_id: u16, fields: &[FieldSpec], records: &[FlowRecord], base: &TimeBase) {
    let start = out.len();
    out.extend_from_slice(&template_id.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    for r in records {
        for f in fields {
            put_field(out, *f, r, base);
        }
    }
    pad4(out, start);
    set_len(out, start);
}

/// NetFlow v9 exporter state for one source id and one data template.
#[derive(Debug, Clone)]
pub struct V9Encoder {
    pub source_id: u32,
    pub template_id: u16,
    pub fields: Vec<FieldSpec>,
    /// Datagrams sent (RFC 3954: incremented per export packet).
    pub sequence: u32,
}

impl V9Encoder {
    pub fn new(source_id: u32, template_id: u16, fields: Vec<FieldSpec>) -> Self {
        V9Encoder {
            source_id,
            template_id,
            fields,
            sequence: 0,
        }
    }

    fn header(&self, base: &TimeBase, count: u16, out: &mut Vec<u8>) {
        out.extend_from_slice(&9u16.to_be_bytes());
        out.extend_from_slice(&count.to_be_bytes());
        out.extend_from_slice(&base.sys_uptime_ms.to_be_bytes());
        out.extend_from_slice(&(base.export_time.as_secs() as u32).to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.source_id.to_be_bytes());
    }

    /// Appends one datagram: the template flowset when `with_template`, the
    /// sampler options (template and data) when `sampler` is `(id, rate)`,
    /// then one data flowset with `records`.
    pub fn encode(
        &mut self,
        base: &TimeBase,
        records: &[FlowRecord],
        with_template: bool,
        sampler: Option<(u64, u32)>,
        out: &mut Vec<u8>,
    ) {
        let count = records.len() + with_template as usize + 2 * sampler.is_some() as usize;
        self.header(base, count.min(u16::MAX as usize) as u16, out);
        if with_template {
            template_set(out, 0, self.template_id, &self.fields, false);
        }
        if let Some((sid, rate)) = sampler {
            // Options template: scope System (type 1, 4 bytes), then
            // FLOW_SAMPLER_ID and SAMPLING_INTERVAL.
            let start = out.len();
            out.extend_from_slice(&[0, 1, 0, 0]);
            out.extend_from_slice(&SAMPLER_OPTIONS_TEMPLATE_ID.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            out.extend_from_slice(&8u16.to_be_bytes());
            out.extend_from_slice(&[0, 1, 0, 4]);
            out.extend_from_slice(&[0, id::SAMPLER_ID as u8, 0, 2]);
            out.extend_from_slice(&[0, id::SAMPLING_INTERVAL as u8, 0, 4]);
            pad4(out, start);
            set_len(out, start);
            let start = out.len();
            out.extend_from_slice(&SAMPLER_OPTIONS_TEMPLATE_ID.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&0u32.to_be_bytes());
            out.extend_from_slice(&(sid as u16).to_be_bytes());
            out.extend_from_slice(&rate.to_be_bytes());
            pad4(out, start);
            set_len(out, start);
        }
        if !records.is_empty() {
            data_set(out, self.template_id, &self.fields, records, base);
        }
        self.sequence = self.sequence.wrapping_add(1);
    }
}

/// IPFIX exporter state for one observation domain and one data template.
#[derive(Debug, Clone)]
pub struct IpfixEncoder {
    pub domain: u32,
    pub template_id: u16,
    pub fields: Vec<FieldSpec>,
    /// Data records sent (RFC 7011: the sequence counts data records).
    pub sequence: u32,
}

impl IpfixEncoder {
    pub fn new(domain: u32, template_id: u16, fields: Vec<FieldSpec>) -> Self {
        IpfixEncoder {
            domain,
            template_id,
            fields,
            sequence: 0,
        }
    }

    /// Appends one IPFIX message: template set when `with_template`, sampler
    /// options (selectorId scope, samplingInterval) when `sampler` is given,
    /// then one data set.
    pub fn encode(
        &mut self,
        base: &TimeBase,
        records: &[FlowRecord],
        with_template: bool,
        sampler: Option<(u64, u32)>,
        out: &mut Vec<u8>,
    ) {
        let msg_start = out.len();
        out.extend_from_slice(&10u16.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(base.export_time.as_secs() as u32).to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.domain.to_be_bytes());
        if with_template {
            template_set(out, 2, self.template_id, &self.fields, true);
        }
        let mut data_records = records.len() as u32;
        if let Some((sid, rate)) = sampler {
            let start = out.len();
            out.extend_from_slice(&[0, 3, 0, 0]);
            out.extend_from_slice(&SAMPLER_OPTIONS_TEMPLATE_ID.to_be_bytes());
            out.extend_from_slice(&2u16.to_be_bytes()); // field count
            out.extend_from_slice(&1u16.to_be_bytes()); // scope field count
            out.extend_from_slice(&id::SELECTOR_ID.to_be_bytes());
            out.extend_from_slice(&8u16.to_be_bytes());
            out.extend_from_slice(&id::SAMPLING_INTERVAL.to_be_bytes());
            out.extend_from_slice(&4u16.to_be_bytes());
            set_len(out, start);
            let start = out.len();
            out.extend_from_slice(&SAMPLER_OPTIONS_TEMPLATE_ID.to_be_bytes());
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&sid.to_be_bytes());
            out.extend_from_slice(&rate.to_be_bytes());
            set_len(out, start);
            data_records += 1;
        }
        if !records.is_empty() {
            data_set(out, self.template_id, &self.fields, records, base);
        }
        let len = (out.len() - msg_start) as u16;
        out[msg_start + 2..msg_start + 4].copy_from_slice(&len.to_be_bytes());
        self.sequence = self.sequence.wrapping_add(data_records);
    }
}
