//! NetFlow v9 (RFC 3954): header, template/options-template flowsets and data
//! flowsets.

use crate::cursor::Cursor;
use crate::error::DecodeError;
use crate::fill::RecordContext;
use crate::record::{Protocol, Timestamp};
use crate::sets::{self, Message};
use crate::template::{read_v9_fields, Template, TemplateKind};

pub const HEADER_LEN: usize = 20;
pub const TEMPLATE_SET_ID: u16 = 0;
pub const OPTIONS_TEMPLATE_SET_ID: u16 = 1;

/// Parses the header; the flowsets follow at `HEADER_LEN`.
pub(crate) fn header(data: &[u8]) -> Result<Message, DecodeError> {
    let mut c = Cursor::new(data);
    let _version = c.u16()?;
    let _count = c.u16()?; // records incl. templates; not trusted, sets are walked by length
    let sys_uptime = c.u32()?;
    let unix_secs = c.u32()?;
    let sequence = c.u32()?;
    let domain = c.u32()?;
    Ok(Message {
        protocol: Protocol::Netflow9,
        version: 9,
        domain,
        sequence,
        ctx: RecordContext {
            export_time: Timestamp::from_secs(unix_secs as i64),
            sys_uptime_ms: Some(sys_uptime),
            sys_init: None,
            default_rate: None,
        },
        body_offset: HEADER_LEN,
        body_end: data.len(),
        claimed_len: None,
    })
}

/// Parses the templates of a template flowset (set id 0). Each parsed
/// template (or the error for one) goes to `f`; a template whose field list
/// runs past the set ends the set.
pub(crate) fn templates(
    c: &mut Cursor<'_>,
    received: Timestamp,
    mut f: impl FnMut(Result<Template, DecodeError>),
) -> Result<(), DecodeError> {
    while c.remaining() >= 4 {
        let id = c.u16()?;
        if id == 0 && sets::is_padding(c.rest()) {
            break;
        }
        let count = c.u16()? as usize;
        if id < 256 {
            return Err(DecodeError::BadTemplateId(id));
        }
        let fields = read_v9_fields(c, id, count)?;
        f(Template::compile(id, TemplateKind::Data, fields, received));
    }
    Ok(())
}

/// Parses an options template flowset (set id 1).
pub(crate) fn options_templates(
    c: &mut Cursor<'_>,
    received: Timestamp,
    mut f: impl FnMut(Result<Template, DecodeError>),
) -> Result<(), DecodeError> {
    while c.remaining() >= 6 {
        let id = c.u16()?;
        if id == 0 && sets::is_padding(c.rest()) {
            break;
        }
        let scope_len = c.u16()? as usize;
        let option_len = c.u16()? as usize;
        if id < 256 {
            return Err(DecodeError::BadTemplateId(id));
        }
        if scope_len % 4 != 0 || option_len % 4 != 0 {
            return Err(DecodeError::BadScope);
        }
        let scope_count = scope_len / 4;
        let total = scope_count + option_len / 4;
        let fields = read_v9_fields(c, id, total)?;
        f(Template::compile(
            id,
            TemplateKind::Options {
                scope_count: scope_count as u16,
            },
            fields,
            received,
        ));
    }
    Ok(())
}
