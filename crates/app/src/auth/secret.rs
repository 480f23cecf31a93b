//! Secrets: random session ids, CSRF and API tokens from the system's
//! generator, kept as SHA-256 digests (they are long and random, so a fast
//! digest is enough — unlike passwords), compared in constant time.

use ring::rand::{SecureRandom, SystemRandom};

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // The system generator fails only when the OS has no entropy source:
    // nothing secure can run then.
    SystemRandom::new()
        .fill(&mut b)
        .expect("the operating system's random generator failed");
    b
}

/// 32 random bytes as lower-case hex (session ids, CSRF tokens).
pub fn random_hex32() -> String {
    hex(&random_bytes::<32>())
}

/// A password of letters and digits for first start and `user add`
/// without one.
pub fn random_password(chars: usize) -> String {
    const SET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut out = String::with_capacity(chars);
    while out.len() < chars {
        let b = random_bytes::<1>();
        // Rejection sampling keeps every character equally likely.
        let limit = 256 - 256 % SET.len();
        if usize::from(b[0]) < limit {
            out.push(SET[usize::from(b[0]) % SET.len()] as char);
        }
    }
    out
}

pub fn hex(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(D[usize::from(x >> 4)] as char);
        s.push(D[usize::from(x & 15)] as char);
    }
    s
}

/// SHA-256 of `s`, hex: how session ids and tokens are stored.
pub fn digest(s: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref())
}

/// `a == b` without an early exit.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The prefix API tokens start with (recognisable in logs and by secret
/// scanners).
pub const TOKEN_PREFIX: &str = "flt_";

/// A new API token: the prefix and 256 random bits.
pub fn new_token() -> String {
    format!("{TOKEN_PREFIX}{}", random_hex32())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_compared_whole() {
        let a = new_token();
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 68);
        assert_ne!(a, new_token());
        assert_eq!(
            digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
        let p = random_password(20);
        assert_eq!(p.len(), 20);
        assert!(p.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
