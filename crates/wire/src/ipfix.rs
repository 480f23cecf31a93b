//! IPFIX (RFC 7011): message header, template and options-template sets with
//! withdrawal, and data sets (shared with v9 in [`crate::sets`]).

use crate::cursor::Cursor;
use crate::error::DecodeError;
use crate::fill::RecordContext;
use crate::record::{Protocol, Timestamp};
use crate::sets::{self, Message};
use crate::template::{read_ipfix_fields, Template, TemplateKind};

pub const HEADER_LEN: usize = 16;
pub const TEMPLATE_SET_ID: u16 = 2;
pub const OPTIONS_TEMPLATE_SET_ID: u16 = 3;

pub(crate) fn header(data: &[u8]) -> Result<Message, DecodeError> {
    let mut c = Cursor::new(data);
    let _version = c.u16()?;
    let length = c.u16()? as usize;
    let export_time = c.u32()?;
    let sequence = c.u32()?;
    let domain = c.u32()?;
    if length < HEADER_LEN {
        return Err(DecodeError::LengthMismatch {
            claimed: length,
            actual: data.len(),
        });
    }
    Ok(Message {
        protocol: Protocol::Ipfix,
        version: 10,
        domain,
        sequence,
        ctx: RecordContext {
            export_time: Timestamp::from_secs(export_time as i64),
            sys_uptime_ms: None,
            sys_init: None,
            default_rate: None,
        },
        body_offset: HEADER_LEN,
        // Sets are walked to the end of the datagram, not of the claimed
        // length: exporters exist whose length field is short by a few bytes
        // (telegraf issue 14370), and a longer claim means the datagram was
        // truncated, where the complete sets are still worth having.
        body_end: data.len(),
        claimed_len: Some(length),
    })
}

/// What one template record of a template set says.
pub(crate) enum TemplateRecord {
    Template(Result<Template, DecodeError>),
    /// Field count 0: withdraw this template id.
    Withdraw(u16),
    /// Field count 0 with the set id as template id: withdraw every
    /// template of this kind in the domain.
    WithdrawAll,
}

/// Parses a template set (id 2) or options template set (id 3).
pub(crate) fn templates(
    c: &mut Cursor<'_>,
    set_id: u16,
    received: Timestamp,
    mut f: impl FnMut(TemplateRecord),
) -> Result<(), DecodeError> {
    let options = set_id == OPTIONS_TEMPLATE_SET_ID;
    while c.remaining() >= 4 {
        let id = c.u16()?;
        if id == 0 && sets::is_padding(c.rest()) {
            break;
        }
        let count = c.u16()? as usize;
        if count == 0 {
            f(if id == set_id {
                TemplateRecord::WithdrawAll
            } else {
                TemplateRecord::Withdraw(id)
            });
            continue;
        }
        if id < 256 {
            return Err(DecodeError::BadTemplateId(id));
        }
        let kind = if options {
            let scope_count = c.u16()?;
            if scope_count as usize > count {
                return Err(DecodeError::BadScope);
            }
            TemplateKind::Options { scope_count }
        } else {
            TemplateKind::Data
        };
        let fields = read_ipfix_fields(c, id, count)?;
        f(TemplateRecord::Template(Template::compile(id, kind, fields, received)));
    }
    Ok(())
}
