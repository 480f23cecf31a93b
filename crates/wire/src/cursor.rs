//! A bounds-checked big-endian reader over a byte slice.
//!
//! Every read checks the remaining length first and returns
//! [`DecodeError::Truncated`] instead of panicking; offsets are reported
//! relative to the start of the datagram for useful error messages.

use crate::error::DecodeError;

#[derive(Clone, Copy)]
pub(crate) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Offset of `buf[0]` within the datagram, for error messages.
    base: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0, base: 0 }
    }

    pub fn with_base(buf: &'a [u8], base: usize) -> Self {
        Cursor { buf, pos: 0, base }
    }

    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub fn offset(&self) -> usize {
        self.base + self.pos
    }

    #[inline]
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    #[inline]
    fn truncated(&self, needed: usize) -> DecodeError {
        DecodeError::Truncated {
            offset: self.offset(),
            needed,
            available: self.remaining(),
        }
    }

    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.truncated(n));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// A sub-cursor over the next `n` bytes, advancing past them.
    #[inline]
    pub fn sub(&mut self, n: usize) -> Result<Cursor<'a>, DecodeError> {
        let base = self.offset();
        let s = self.take(n)?;
        Ok(Cursor::with_base(s, base))
    }

    #[inline]
    pub fn skip(&mut self, n: usize) -> Result<(), DecodeError> {
        self.take(n).map(|_| ())
    }

    #[inline]
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    #[inline]
    pub fn u16(&mut self) -> Result<u16, DecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    #[inline]
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    #[inline]
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let b = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }
}

/// Big-endian unsigned integer of 1 to 8 bytes (IPFIX reduced-size encoding).
/// Longer slices keep their last 8 bytes; an empty slice is 0.
#[inline(always)]
pub(crate) fn be_uint(b: &[u8]) -> u64 {
    match b.len() {
        1 => b[0] as u64,
        2 => u16::from_be_bytes([b[0], b[1]]) as u64,
        4 => u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as u64,
        8 => u64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        _ => {
            let b = if b.len() > 8 { &b[b.len() - 8..] } else { b };
            b.iter().fold(0u64, |acc, &x| (acc << 8) | x as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn be_uint_all_lengths() {
        assert_eq!(be_uint(&[]), 0);
        assert_eq!(be_uint(&[1]), 1);
        assert_eq!(be_uint(&[1, 2]), 0x102);
        assert_eq!(be_uint(&[1, 2, 3]), 0x10203);
        assert_eq!(be_uint(&[1, 2, 3, 4]), 0x1020304);
        assert_eq!(be_uint(&[0, 0, 0, 1, 2, 3, 4, 5]), 0x102030405);
        assert_eq!(be_uint(&[9, 0, 0, 0, 1, 2, 3, 4, 5]), 0x102030405);
    }

    #[test]
    fn truncated_read_reports_offset() {
        let mut c = Cursor::with_base(&[1, 2, 3], 10);
        c.u16().unwrap();
        let e = c.u32().unwrap_err();
        assert_eq!(
            e,
            DecodeError::Truncated {
                offset: 12,
                needed: 4,
                available: 1
            }
        );
    }
}
