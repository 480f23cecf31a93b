//! The filter AST: one tree, compiled to SQL or evaluated over a flow.

use std::fmt;
use std::net::IpAddr;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Matches every flow (the empty filter, `any`).
    All,
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Pred(Pred),
}

/// Which end of the flow a term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Src,
    Dst,
    /// Either end (no direction word).
    Any,
}

/// Interface direction for `in if` / `out if`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfSide {
    In,
    Out,
    Any,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Ne => a != b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }

    pub fn sql(self) -> &'static str {
        match self {
            Cmp::Eq => "=",
            Cmp::Ne => "<>",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

/// A numeric condition: one comparison, or membership in a list of
/// inclusive ranges (`in [80 443 8000-8080]`).
#[derive(Debug, Clone, PartialEq)]
pub enum Num {
    Cmp(Cmp, u64),
    In(Vec<(u64, u64)>),
}

impl Num {
    pub fn matches(&self, v: u64) -> bool {
        match self {
            Num::Cmp(c, n) => c.holds(v, *n),
            Num::In(ranges) => ranges.iter().any(|&(lo, hi)| lo <= v && v <= hi),
        }
    }
}

/// An address prefix; a host is a full-length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// The prefix as an inclusive range of IPv6 (v4-mapped for IPv4)
    /// addresses as 128-bit numbers: how the store keeps addresses.
    pub fn range(&self) -> (u128, u128) {
        let (base, bits) = match self.addr {
            IpAddr::V4(a) => (u128::from(a.to_ipv6_mapped()), 96 + u32::from(self.len)),
            IpAddr::V6(a) => (u128::from(a), u32::from(self.len)),
        };
        let host_bits = 128 - bits;
        let mask = if host_bits == 128 {
            u128::MAX
        } else {
            (1u128 << host_bits) - 1
        };
        (base & !mask, base | mask)
    }
}

/// A two-letter ISO 3166 country code, upper case.
pub type Country = [u8; 2];

#[derive(Debug, Clone, PartialEq)]
pub enum Pred {
    Addr(Side, Prefix),
    Port(Side, Num),
    As(Side, Num),
    Country(Side, Country),
    Vlan(Side, Num),
    If(IfSide, Num),
    Proto(Num),
    /// 4 or 6.
    IpVersion(u8),
    /// All these TCP flag bits set.
    Flags(u16),
    Tos(Num),
    /// Sampling-corrected byte count.
    Bytes(Num),
    /// Sampling-corrected packet count.
    Packets(Num),
    Exporter(Prefix),
    /// A classification attribute equal to a value (lower case; compared
    /// without regard to case).
    Class(Side, ClassAttr, String),
    /// Inside (`internal`) or outside (`external`) the organisation, by
    /// the classification rules.
    Internal(Side, bool),
}

/// The text attributes of an address's classification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassAttr {
    /// The rule's network name (`netname`).
    Net,
    /// prod, uat, qa, test, dev (`env`).
    Env,
    /// Datacenter (`dc`).
    Dc,
    Location,
}

impl ClassAttr {
    /// The filter keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            ClassAttr::Net => "netname",
            ClassAttr::Env => "env",
            ClassAttr::Dc => "dc",
            ClassAttr::Location => "location",
        }
    }

    /// The stored columns (source, destination).
    pub fn columns(self) -> (&'static str, &'static str) {
        match self {
            ClassAttr::Net => ("src_net", "dst_net"),
            ClassAttr::Env => ("src_env", "dst_env"),
            ClassAttr::Dc => ("src_dc", "dst_dc"),
            ClassAttr::Location => ("src_location", "dst_location"),
        }
    }

    pub fn of(self, c: &crate::flow::Class) -> Option<&str> {
        match self {
            ClassAttr::Net => c.name.as_deref(),
            ClassAttr::Env => c.env.as_deref(),
            ClassAttr::Dc => c.datacenter.as_deref(),
            ClassAttr::Location => c.location.as_deref(),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::All => write!(f, "any"),
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::Not(a) => write!(f, "not {a}"),
            Expr::Pred(p) => write!(f, "{p}"),
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Src => "src ",
            Side::Dst => "dst ",
            Side::Any => "",
        })
    }
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Cmp(c, n) => {
                let op = match c {
                    Cmp::Eq => "",
                    Cmp::Ne => "!= ",
                    Cmp::Lt => "< ",
                    Cmp::Le => "<= ",
                    Cmp::Gt => "> ",
                    Cmp::Ge => ">= ",
                };
                write!(f, "{op}{n}")
            }
            Num::In(r) => {
                f.write_str("in [")?;
                for (i, (lo, hi)) in r.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    if lo == hi {
                        write!(f, "{lo}")?;
                    } else {
                        write!(f, "{lo}-{hi}")?;
                    }
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Display for Pred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pred::Addr(s, p) => write!(f, "{s}net {p}"),
            Pred::Port(s, n) => write!(f, "{s}port {n}"),
            Pred::As(s, n) => write!(f, "{s}as {n}"),
            Pred::Country(s, c) => write!(f, "{s}country {}{}", c[0] as char, c[1] as char),
            Pred::Class(s, a, v) => write!(f, "{s}{} {v}", a.keyword()),
            Pred::Internal(s, true) => write!(f, "{s}internal"),
            Pred::Internal(s, false) => write!(f, "{s}external"),
            Pred::Vlan(s, n) => write!(f, "{s}vlan {n}"),
            Pred::If(side, n) => {
                let s = match side {
                    IfSide::In => "in ",
                    IfSide::Out => "out ",
                    IfSide::Any => "",
                };
                write!(f, "{s}if {n}")
            }
            Pred::Proto(n) => write!(f, "proto {n}"),
            Pred::IpVersion(4) => write!(f, "inet"),
            Pred::IpVersion(_) => write!(f, "inet6"),
            Pred::Flags(m) => write!(f, "flags {}", flag_letters(*m)),
            Pred::Tos(n) => write!(f, "tos {n}"),
            Pred::Bytes(n) => write!(f, "bytes {n}"),
            Pred::Packets(n) => write!(f, "packets {n}"),
            Pred::Exporter(p) => write!(f, "exporter {p}"),
        }
    }
}

/// TCP flag letters, nfdump's: F S R P A U E C (bit 0 upward).
pub const FLAG_LETTERS: [(char, u16); 8] = [
    ('F', 0x01),
    ('S', 0x02),
    ('R', 0x04),
    ('P', 0x08),
    ('A', 0x10),
    ('U', 0x20),
    ('E', 0x40),
    ('C', 0x80),
];

pub fn flag_letters(mask: u16) -> String {
    FLAG_LETTERS
        .iter()
        .filter(|(_, b)| mask & b != 0)
        .map(|(c, _)| *c)
        .collect()
}
