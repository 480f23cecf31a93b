//! Protocol auto-detection from the first bytes of a datagram.
//!
//! NetFlow v1–v9 and IPFIX start with a 16-bit version (1, 5, 7, 9, 10);
//! sFlow starts with a 32-bit version (5), so its first two bytes are zero.

use crate::error::DecodeError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// NetFlow with this 16-bit version (1, 5, 7, 9, or an unsupported one).
    Netflow(u16),
    Ipfix,
    Sflow5,
}

pub fn detect(data: &[u8]) -> Result<Detected, DecodeError> {
    if data.is_empty() {
        return Err(DecodeError::Empty);
    }
    if data.len() < 4 {
        return Err(DecodeError::Truncated {
            offset: 0,
            needed: 4,
            available: data.len(),
        });
    }
    let v16 = u16::from_be_bytes([data[0], data[1]]);
    let v32 = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
    match v16 {
        10 => Ok(Detected::Ipfix),
        1 | 5 | 7 | 9 => Ok(Detected::Netflow(v16)),
        0 if v32 == 5 => Ok(Detected::Sflow5),
        0 if v32 == 2 || v32 == 4 => Err(DecodeError::UnsupportedVersion(v32)),
        6 | 8 => Err(DecodeError::UnsupportedVersion(v16 as u32)),
        _ => Err(DecodeError::UnknownProtocol(v32)),
    }
}
