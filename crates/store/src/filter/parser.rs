//! Recursive-descent parser: `or` binds loosest, then `and`, then `not`.
//! Every error names the column and what was expected there.

use std::net::IpAddr;

use super::ast::{ClassAttr, Cmp, Country, Expr, IfSide, Num, Pred, Prefix, Side, FLAG_LETTERS};
use super::lexer::{lex, Tok, Token};
use super::FilterError;
use crate::limits::{MAX_FILTER_DEPTH, MAX_FILTER_LEN, MAX_FILTER_LIST};

pub fn parse(input: &str) -> Result<Expr, FilterError> {
    if input.chars().count() > MAX_FILTER_LEN {
        return Err(FilterError::TooLong { max: MAX_FILTER_LEN });
    }
    let tokens = lex(input)?;
    if tokens.is_empty() {
        return Ok(Expr::All);
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        end_col: input.chars().count() + 1,
        depth: 0,
    };
    let e = p.or()?;
    if let Some(t) = p.peek() {
        return Err(p.error_at(t.col, "\"and\", \"or\" or the end of the filter", t.tok.describe()));
    }
    Ok(e)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    end_col: usize,
    depth: usize,
}

/// The bounds of a numeric field, for range errors.
struct Field {
    name: &'static str,
    what: &'static str,
    max: u64,
    suffixes: bool,
}

const PORT: Field = Field {
    name: "port",
    what: "a port number",
    max: 65_535,
    suffixes: false,
};
const AS: Field = Field {
    name: "as",
    what: "an AS number",
    max: u32::MAX as u64,
    suffixes: false,
};
const IF: Field = Field {
    name: "if",
    what: "an interface index",
    max: u32::MAX as u64,
    suffixes: false,
};
const VLAN: Field = Field {
    name: "vlan",
    what: "a VLAN id",
    max: 4_095,
    suffixes: false,
};
const TOS: Field = Field {
    name: "tos",
    what: "a ToS value",
    max: 255,
    suffixes: false,
};
const PROTO: Field = Field {
    name: "proto",
    what: "a protocol name or number",
    max: 255,
    suffixes: false,
};
const BYTES: Field = Field {
    name: "bytes",
    what: "a byte count (K, M, G suffixes allowed)",
    max: u64::MAX,
    suffixes: true,
};
const PACKETS: Field = Field {
    name: "packets",
    what: "a packet count (K, M, G suffixes allowed)",
    max: u64::MAX,
    suffixes: true,
};

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn peek_word(&self) -> Option<String> {
        match self.peek() {
            Some(Token { tok: Tok::Word(w), .. }) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn col(&self) -> usize {
        self.peek().map_or(self.end_col, |t| t.col)
    }

    fn found(&self) -> String {
        self.peek().map_or("the end of the filter".into(), |t| t.tok.describe())
    }

    fn error_at(&self, col: usize, expected: &str, found: String) -> FilterError {
        FilterError::Syntax {
            col,
            expected: expected.into(),
            found,
        }
    }

    fn expected(&self, what: &str) -> FilterError {
        self.error_at(self.col(), what, self.found())
    }

    fn eat_word(&mut self, w: &str) -> bool {
        if self.peek_word().as_deref() == Some(w) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn eat(&mut self, t: &Tok) -> bool {
        if self.peek().is_some_and(|x| &x.tok == t) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The next word, as typed, with its column.
    fn word(&mut self, what: &str) -> Result<(String, usize), FilterError> {
        match self.peek() {
            Some(Token { tok: Tok::Word(w), col }) => {
                let r = (w.clone(), *col);
                self.pos += 1;
                Ok(r)
            }
            _ => Err(self.expected(what)),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.and()?;
        while self.eat(&Tok::Or) || self.eat_word("or") {
            let r = self.and()?;
            e = Expr::Or(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut e = self.not()?;
        while self.eat(&Tok::And) || self.eat_word("and") {
            let r = self.not()?;
            e = Expr::And(Box::new(e), Box::new(r));
        }
        Ok(e)
    }

    fn not(&mut self) -> Result<Expr, FilterError> {
        self.depth += 1;
        if self.depth > MAX_FILTER_DEPTH {
            return Err(FilterError::TooDeep { max: MAX_FILTER_DEPTH });
        }
        let e = if self.eat(&Tok::Not) || self.eat_word("not") {
            Expr::Not(Box::new(self.not()?))
        } else if self.eat(&Tok::LParen) {
            let e = self.or()?;
            if !self.eat(&Tok::RParen) {
                return Err(self.expected("\")\""));
            }
            e
        } else {
            self.term()?
        };
        self.depth -= 1;
        Ok(e)
    }

    fn term(&mut self) -> Result<Expr, FilterError> {
        const TERMS: &str = "a filter term (host, net, port, proto, as, if, country, vlan, netname, env, dc, \
                             location, internal, external, flags, tos, bytes, packets, exporter, inet, inet6, \
                             src …, dst …, not, \"(\")";
        const SIDED: &str = "host, ip, net, port, as, country, vlan, netname, env, dc, location, internal or external";
        let Some(w) = self.peek_word() else {
            return Err(self.expected(TERMS));
        };
        self.pos += 1;
        let side = match w.as_str() {
            "src" => Side::Src,
            "dst" => Side::Dst,
            "in" | "out" => {
                let s = if w == "in" { IfSide::In } else { IfSide::Out };
                if !self.eat_word("if") {
                    return Err(self.expected("\"if\""));
                }
                return Ok(Expr::Pred(Pred::If(s, self.num(&IF)?)));
            }
            _ => {
                self.pos -= 1;
                Side::Any
            }
        };
        let (kw, kw_col) = self.word(if side == Side::Any { TERMS } else { SIDED })?;
        let kw = kw.to_ascii_lowercase();
        let pred = match kw.as_str() {
            "host" | "ip" => Pred::Addr(side, self.host()?),
            "net" => Pred::Addr(side, self.prefix()?),
            "port" => Pred::Port(side, self.num(&PORT)?),
            "as" => Pred::As(side, self.num(&AS)?),
            "country" => Pred::Country(side, self.country()?),
            "vlan" => Pred::Vlan(side, self.num(&VLAN)?),
            "netname" | "net-name" => Pred::Class(side, ClassAttr::Net, self.name("a network name")?),
            "env" | "environment" => Pred::Class(side, ClassAttr::Env, self.name("an environment such as prod")?),
            "dc" | "datacenter" => Pred::Class(side, ClassAttr::Dc, self.name("a datacenter name")?),
            "location" | "site" => Pred::Class(side, ClassAttr::Location, self.name("a location name")?),
            "internal" => Pred::Internal(side, true),
            "external" => Pred::Internal(side, false),
            _ if side != Side::Any => {
                return Err(self.error_at(kw_col, &format!("{SIDED} after src/dst"), format!("\"{kw}\"")))
            }
            "any" => return Ok(Expr::All),
            "if" => Pred::If(IfSide::Any, self.num(&IF)?),
            "proto" => Pred::Proto(self.proto()?),
            "inet" | "ipv4" => Pred::IpVersion(4),
            "inet6" | "ipv6" => Pred::IpVersion(6),
            "flags" => Pred::Flags(self.flags()?),
            "tos" => Pred::Tos(self.num(&TOS)?),
            "bytes" => Pred::Bytes(self.num(&BYTES)?),
            "packets" => Pred::Packets(self.num(&PACKETS)?),
            "exporter" => Pred::Exporter(self.prefix()?),
            _ => return Err(self.error_at(kw_col, TERMS, format!("\"{kw}\""))),
        };
        Ok(Expr::Pred(pred))
    }

    fn host(&mut self) -> Result<Prefix, FilterError> {
        let (w, col) = self.word("an IP address")?;
        let addr: IpAddr = w.parse().map_err(|_| FilterError::Value {
            col,
            message: format!("\"{w}\" is not an IP address"),
        })?;
        Ok(Prefix {
            addr,
            len: if addr.is_ipv4() { 32 } else { 128 },
        })
    }

    /// `A/LEN` or a bare address (a host).
    fn prefix(&mut self) -> Result<Prefix, FilterError> {
        let (w, col) = self.word("a network such as 10.0.0.0/8 or 2001:db8::/32")?;
        let bad = |m: String| FilterError::Value { col, message: m };
        let (a, len) = match w.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (w.as_str(), None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| bad(format!("\"{w}\" is not a network (use e.g. 10.0.0.0/8)")))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|&l| l <= max)
                .ok_or_else(|| bad(format!("\"{w}\": prefix length must be 0 to {max}")))?,
        };
        let p = Prefix { addr, len };
        // Host bits set: accept, as nfdump does, but mean the network.
        Ok(p)
    }

    /// A classification value: one word, compared without regard to case.
    fn name(&mut self, what: &str) -> Result<String, FilterError> {
        let (w, _) = self.word(what)?;
        Ok(w.to_lowercase())
    }

    fn country(&mut self) -> Result<Country, FilterError> {
        let (w, col) = self.word("a two-letter country code such as US")?;
        let b = w.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(FilterError::Value {
                col,
                message: format!("\"{w}\" is not a two-letter country code (ISO 3166, e.g. US, DE)"),
            });
        }
        Ok([b[0].to_ascii_uppercase(), b[1].to_ascii_uppercase()])
    }

    fn proto(&mut self) -> Result<Num, FilterError> {
        let named = match self.peek_word().as_deref() {
            Some("tcp") => Some(6),
            Some("udp") => Some(17),
            Some("icmp") => Some(1),
            Some("icmp6" | "ipv6-icmp") => Some(58),
            Some("gre") => Some(47),
            Some("esp") => Some(50),
            Some("ah") => Some(51),
            Some("sctp") => Some(132),
            _ => None,
        };
        if let Some(n) = named {
            self.pos += 1;
            return Ok(Num::Cmp(Cmp::Eq, n));
        }
        self.num(&PROTO)
    }

    fn flags(&mut self) -> Result<u16, FilterError> {
        let (w, col) = self.word("TCP flag letters (F S R P A U E C), e.g. SA")?;
        let mut mask = 0;
        for c in w.chars() {
            let c = c.to_ascii_uppercase();
            if c == 'X' {
                mask |= 0x3f; // nfdump: all six classic flags
                continue;
            }
            match FLAG_LETTERS.iter().find(|(l, _)| *l == c) {
                Some((_, b)) => mask |= b,
                None => {
                    return Err(FilterError::Value {
                        col,
                        message: format!("\"{c}\" in \"{w}\" is not a TCP flag (use F S R P A U E C, or X for all)"),
                    })
                }
            }
        }
        Ok(mask)
    }

    /// `[op] N`, `N-M`, or `in [items]`.
    fn num(&mut self, f: &Field) -> Result<Num, FilterError> {
        if self.eat_word("in") {
            if !self.eat(&Tok::LBracket) {
                return Err(self.expected("\"[\""));
            }
            let mut ranges = Vec::new();
            loop {
                if self.eat(&Tok::RBracket) {
                    break;
                }
                if self.eat(&Tok::Comma) {
                    continue;
                }
                if ranges.len() >= MAX_FILTER_LIST {
                    return Err(FilterError::Value {
                        col: self.col(),
                        message: format!("a list holds at most {MAX_FILTER_LIST} items"),
                    });
                }
                let (w, col) = self.word(&format!("{} or \"]\"", f.what))?;
                ranges.push(self.range(f, &w, col)?);
            }
            if ranges.is_empty() {
                return Err(FilterError::Value {
                    col: self.col(),
                    message: format!("the {} list is empty", f.name),
                });
            }
            return Ok(Num::In(ranges));
        }
        let op = match self.peek() {
            Some(Token { tok: Tok::Op(o), .. }) => {
                let o = *o;
                self.pos += 1;
                Some(o)
            }
            _ => None,
        };
        let op = match (op, self.peek_word().as_deref()) {
            (Some(o), _) => match o {
                "=" => Cmp::Eq,
                "!=" => Cmp::Ne,
                "<" => Cmp::Lt,
                "<=" => Cmp::Le,
                ">" => Cmp::Gt,
                _ => Cmp::Ge,
            },
            (None, Some(w @ ("eq" | "ne" | "lt" | "le" | "gt" | "ge"))) => {
                let c = match w {
                    "eq" => Cmp::Eq,
                    "ne" => Cmp::Ne,
                    "lt" => Cmp::Lt,
                    "le" => Cmp::Le,
                    "gt" => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                self.pos += 1;
                c
            }
            _ => Cmp::Eq,
        };
        let (w, col) = self.word(f.what)?;
        if w.contains('-') && !w.starts_with('-') {
            if op != Cmp::Eq {
                return Err(FilterError::Value {
                    col,
                    message: format!("a range ({w}) cannot follow a comparison"),
                });
            }
            return Ok(Num::In(vec![self.range(f, &w, col)?]));
        }
        Ok(Num::Cmp(op, self.value(f, &w, col)?))
    }

    fn range(&self, f: &Field, w: &str, col: usize) -> Result<(u64, u64), FilterError> {
        match w.split_once('-') {
            Some((a, b)) if !a.is_empty() => {
                let lo = self.value(f, a, col)?;
                let hi = self.value(f, b, col)?;
                if hi < lo {
                    return Err(FilterError::Value {
                        col,
                        message: format!("the range {w} ends before it starts"),
                    });
                }
                Ok((lo, hi))
            }
            _ => {
                let v = self.value(f, w, col)?;
                Ok((v, v))
            }
        }
    }

    fn value(&self, f: &Field, w: &str, col: usize) -> Result<u64, FilterError> {
        let (digits, scale) = match w.chars().last().map(|c| c.to_ascii_uppercase()) {
            Some('K') if f.suffixes => (&w[..w.len() - 1], 1_000),
            Some('M') if f.suffixes => (&w[..w.len() - 1], 1_000_000),
            Some('G') if f.suffixes => (&w[..w.len() - 1], 1_000_000_000),
            _ => (w, 1),
        };
        let n: u64 = digits.parse().map_err(|_| FilterError::Syntax {
            col,
            expected: f.what.into(),
            found: format!("\"{w}\""),
        })?;
        let n = n
            .checked_mul(scale)
            .filter(|&n| n <= f.max)
            .ok_or_else(|| FilterError::Value {
                col,
                message: format!("{} {w} is out of range (0 to {})", f.name, f.max),
            })?;
        Ok(n)
    }
}
