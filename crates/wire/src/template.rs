//! Templates (NetFlow v9 and IPFIX): parsed from template sets, compiled once
//! into a list of [`Op`]s that the data-record decoder walks.

use crate::cursor::Cursor;
use crate::error::DecodeError;
use crate::ie::{slot_for, Slot};
use crate::limits;
use crate::record::Timestamp;

/// Field length meaning "variable length" (RFC 7011 §7).
pub const VARLEN: u16 = 0xffff;

/// One field of a template as it appeared on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldSpec {
    /// Enterprise number, 0 for IANA (and for every NetFlow v9 field).
    pub pen: u32,
    pub id: u16,
    /// Length in bytes, or [`VARLEN`].
    pub len: u16,
}

/// A compiled field: where its value goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Op {
    pub slot: Slot,
    pub len: u16,
    pub pen: u32,
    pub id: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    Data,
    /// Options template; the first `scope_count` fields are scope fields.
    Options {
        scope_count: u16,
    },
}

/// A template ready to decode data records.
#[derive(Debug, Clone)]
pub struct Template {
    pub id: u16,
    pub kind: TemplateKind,
    pub fields: Box<[FieldSpec]>,
    pub(crate) ops: Box<[Op]>,
    /// Record length when no field is variable-length.
    pub fixed_len: Option<usize>,
    /// Smallest possible record (each variable field at its 1-byte minimum).
    pub min_len: usize,
    /// When the template was last (re)received; used for expiry.
    pub received: Timestamp,
}

impl Template {
    pub(crate) fn compile(
        id: u16,
        kind: TemplateKind,
        fields: Vec<FieldSpec>,
        received: Timestamp,
    ) -> Result<Template, DecodeError> {
        if fields.is_empty() {
            return Err(DecodeError::EmptyTemplate { template_id: id });
        }
        let scope_count = match kind {
            TemplateKind::Options { scope_count } => scope_count as usize,
            TemplateKind::Data => 0,
        };
        let mut fixed = true;
        let mut min_len = 0usize;
        let mut ops = Vec::with_capacity(fields.len());
        for (i, f) in fields.iter().enumerate() {
            if f.len == VARLEN {
                fixed = false;
                min_len += 1;
            } else {
                if f.len as usize > limits::MAX_FIELD_LEN {
                    return Err(DecodeError::FieldTooLong {
                        template_id: id,
                        field_type: f.id,
                        len: f.len as usize,
                        max: limits::MAX_FIELD_LEN,
                    });
                }
                min_len += f.len as usize;
            }
            // Scope fields of options templates are interpreted by the
            // options decoder, never as flow fields.
            let slot = if i < scope_count {
                Slot::Raw
            } else {
                slot_for(f.pen, f.id, f.len)
            };
            ops.push(Op {
                slot,
                len: f.len,
                pen: f.pen,
                id: f.id,
            });
        }
        if min_len == 0 {
            return Err(DecodeError::ZeroLengthRecord { template_id: id });
        }
        Ok(Template {
            id,
            kind,
            fields: fields.into_boxed_slice(),
            ops: ops.into_boxed_slice(),
            fixed_len: fixed.then_some(min_len),
            min_len,
            received,
        })
    }

    /// Compares the wire layout, ignoring when it was received: a resent
    /// identical template needs no recompilation.
    pub fn same_layout(&self, kind: TemplateKind, fields: &[FieldSpec]) -> bool {
        self.kind == kind && &*self.fields == fields
    }
}

/// Checks a field count read from the wire before anything is allocated.
pub(crate) fn check_field_count(id: u16, count: usize, room: usize, min_field_len: usize) -> Result<(), DecodeError> {
    if count > limits::MAX_FIELDS_PER_TEMPLATE {
        return Err(DecodeError::TooManyFields {
            template_id: id,
            count,
            max: limits::MAX_FIELDS_PER_TEMPLATE,
        });
    }
    if count * min_field_len > room {
        return Err(DecodeError::Truncated {
            offset: 0,
            needed: count * min_field_len,
            available: room,
        });
    }
    Ok(())
}

/// Reads `count` IPFIX field specifiers (with enterprise bit).
pub(crate) fn read_ipfix_fields(c: &mut Cursor<'_>, id: u16, count: usize) -> Result<Vec<FieldSpec>, DecodeError> {
    check_field_count(id, count, c.remaining(), 4)?;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let raw_id = c.u16()?;
        let len = c.u16()?;
        let pen = if raw_id & 0x8000 != 0 { c.u32()? } else { 0 };
        fields.push(FieldSpec {
            pen,
            id: raw_id & 0x7fff,
            len,
        });
    }
    Ok(fields)
}

/// Reads `count` NetFlow v9 field specifiers (type, length).
pub(crate) fn read_v9_fields(c: &mut Cursor<'_>, id: u16, count: usize) -> Result<Vec<FieldSpec>, DecodeError> {
    check_field_count(id, count, c.remaining(), 4)?;
    let mut fields = Vec::with_capacity(count);
    for _ in 0..count {
        let fid = c.u16()?;
        let len = c.u16()?;
        // v9 has no variable-length fields; 65535 is an (absurd) fixed length
        // and is refused by the field-length limit at compile time.
        fields.push(FieldSpec { pen: 0, id: fid, len });
    }
    Ok(fields)
}
