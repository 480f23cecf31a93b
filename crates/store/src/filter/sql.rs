//! The SQL back end: a filter compiled to a `WHERE` condition with bound
//! parameters (user values are never spliced into the text). A [`Dialect`]
//! says how parameters are written; DuckDB's is here, ClickHouse's will sit
//! beside it.
//!
//! Columns are those of the `flows` table and of every rollup that keeps
//! the field (see `schema.rs`); addresses are 128-bit numbers (IPv4
//! v4-mapped), so a network is a `BETWEEN` range.

use super::ast::{Expr, IfSide, Num, Pred, Prefix, Side};

/// A bound value.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    U64(u64),
    /// An address as a 128-bit number (for engines with such a type).
    Addr(u128),
    Text(String),
}

/// How one SQL engine spells what differs between engines.
pub trait Dialect {
    /// The placeholder for parameter number `n` (1-based) holding `p`.
    fn placeholder(&self, n: usize, p: &Param) -> String;

    /// `col` (a logical address column such as `src_addr`) within the
    /// inclusive range `lo..=hi` of 128-bit addresses; `bind` returns the
    /// placeholder for a value.
    fn addr_range(&self, col: &str, lo: u128, hi: u128, bind: &mut dyn FnMut(Param) -> String) -> String;
}

/// DuckDB: positional `?` parameters; an address is two `UBIGINT`
/// columns `<col>_hi`, `<col>_lo` (see `schema.rs`).
pub struct DuckDb;

impl Dialect for DuckDb {
    fn placeholder(&self, _n: usize, _p: &Param) -> String {
        "?".into()
    }

    fn addr_range(&self, col: &str, lo: u128, hi: u128, bind: &mut dyn FnMut(Param) -> String) -> String {
        let (h1, l1) = ((lo >> 64) as u64, lo as u64);
        let (h2, l2) = ((hi >> 64) as u64, hi as u64);
        if h1 == h2 {
            let h = bind(Param::U64(h1));
            if l1 == l2 {
                let l = bind(Param::U64(l1));
                return format!("({col}_hi = {h} AND {col}_lo = {l})");
            }
            let a = bind(Param::U64(l1));
            let b = bind(Param::U64(l2));
            format!("({col}_hi = {h} AND {col}_lo BETWEEN {a} AND {b})")
        } else if l1 == 0 && l2 == u64::MAX {
            // A prefix of /64 or shorter: the high half alone decides.
            let a = bind(Param::U64(h1));
            let b = bind(Param::U64(h2));
            format!("{col}_hi BETWEEN {a} AND {b}")
        } else {
            // Any other range (prefixes never produce one). Positional
            // parameters: bind each occurrence.
            let (a1, b1) = (bind(Param::U64(h1)), bind(Param::U64(h1)));
            let l = bind(Param::U64(l1));
            let (a2, b2) = (bind(Param::U64(h2)), bind(Param::U64(h2)));
            let r = bind(Param::U64(l2));
            format!(
                "(({col}_hi > {a1} OR ({col}_hi = {b1} AND {col}_lo >= {l})) \
                 AND ({col}_hi < {a2} OR ({col}_hi = {b2} AND {col}_lo <= {r})))"
            )
        }
    }
}

/// A compiled condition and its parameters, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub sql: String,
    pub params: Vec<Param>,
}

/// Fields a filter reads, by column name: the query planner uses this to
/// find a rollup that keeps them all.
pub fn columns(e: &Expr, out: &mut Vec<&'static str>) {
    let mut add = |c: &'static str| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    match e {
        Expr::All => {}
        Expr::And(a, b) | Expr::Or(a, b) => {
            columns(a, out);
            columns(b, out);
        }
        Expr::Not(a) => columns(a, out),
        Expr::Pred(p) => {
            for c in pred_columns(p) {
                add(c);
            }
        }
    }
}

fn pred_columns(p: &Pred) -> Vec<&'static str> {
    let pair = |s: Side, a: &'static str, b: &'static str| match s {
        Side::Src => vec![a],
        Side::Dst => vec![b],
        Side::Any => vec![a, b],
    };
    match p {
        Pred::Addr(s, _) => pair(*s, "src_addr", "dst_addr"),
        Pred::Port(s, _) => pair(*s, "src_port", "dst_port"),
        Pred::As(s, _) => pair(*s, "src_as", "dst_as"),
        Pred::Country(s, _) => pair(*s, "src_country", "dst_country"),
        Pred::Vlan(s, _) => pair(*s, "src_vlan", "dst_vlan"),
        Pred::If(IfSide::In, _) => vec!["in_if"],
        Pred::If(IfSide::Out, _) => vec!["out_if"],
        Pred::If(IfSide::Any, _) => vec!["in_if", "out_if"],
        Pred::Proto(_) => vec!["proto"],
        Pred::IpVersion(_) => vec!["ip_version"],
        Pred::Flags(_) => vec!["tcp_flags"],
        Pred::Tos(_) => vec!["tos"],
        Pred::Bytes(_) => vec!["bytes"],
        Pred::Packets(_) => vec!["packets"],
        Pred::Exporter(_) => vec!["exporter"],
        Pred::Class(s, a, _) => {
            let (src, dst) = a.columns();
            pair(*s, src, dst)
        }
        Pred::Internal(s, _) => pair(*s, "src_internal", "dst_internal"),
    }
}

pub fn compile(e: &Expr, d: &dyn Dialect) -> Compiled {
    let mut c = Compiler {
        d,
        params: Vec::new(),
        two_valued: false,
    };
    let sql = c.expr(e);
    Compiled { sql, params: c.params }
}

struct Compiler<'a> {
    d: &'a dyn Dialect,
    params: Vec<Param>,
    /// Under a NOT: an absent field must make its term FALSE, not NULL, or
    /// NOT would not flip it (the in-memory back end is two-valued). Outside
    /// any NOT a NULL term filters a row out exactly as FALSE does, and the
    /// bare comparison lets the database push it into the scan (min/max
    /// pruning); a COALESCE there made selective searches 30× slower.
    two_valued: bool,
}

impl Compiler<'_> {
    fn bind(&mut self, p: Param) -> String {
        let ph = self.d.placeholder(self.params.len() + 1, &p);
        self.params.push(p);
        ph
    }

    fn expr(&mut self, e: &Expr) -> String {
        match e {
            Expr::All => "TRUE".into(),
            Expr::And(a, b) => format!("({} AND {})", self.expr(a), self.expr(b)),
            Expr::Or(a, b) => format!("({} OR {})", self.expr(a), self.expr(b)),
            Expr::Not(a) => {
                let outer = std::mem::replace(&mut self.two_valued, true);
                let inner = self.expr(a);
                self.two_valued = outer;
                format!("(NOT {inner})")
            }
            // Absent fields make a term false, never NULL: NOT stays
            // two-valued, as in the in-memory back end.
            Expr::Pred(p) => {
                let sql = self.pred(p);
                self.total(sql)
            }
        }
    }

    fn num(&mut self, col: &str, n: &Num) -> String {
        match n {
            Num::Cmp(c, v) => format!("{col} {} {}", c.sql(), self.bind(Param::U64(*v))),
            Num::In(ranges) => {
                let parts: Vec<String> = ranges
                    .iter()
                    .map(|&(lo, hi)| {
                        if lo == hi {
                            format!("{col} = {}", self.bind(Param::U64(lo)))
                        } else {
                            let a = self.bind(Param::U64(lo));
                            let b = self.bind(Param::U64(hi));
                            format!("{col} BETWEEN {a} AND {b}")
                        }
                    })
                    .collect();
                format!("({})", parts.join(" OR "))
            }
        }
    }

    fn prefix(&mut self, col: &str, p: &Prefix) -> String {
        let (lo, hi) = p.range();
        let d = self.d;
        d.addr_range(col, lo, hi, &mut |v| self.bind(v))
    }

    fn sided(&mut self, side: Side, src: &str, dst: &str, f: impl Fn(&mut Self, &str) -> String) -> String {
        match side {
            Side::Src => f(self, src),
            Side::Dst => f(self, dst),
            Side::Any => {
                let a = f(self, src);
                let b = f(self, dst);
                format!("({} OR {})", self.total(a), self.total(b))
            }
        }
    }

    /// `sql` made two-valued when the context needs it.
    fn total(&self, sql: String) -> String {
        if self.two_valued {
            format!("COALESCE({sql}, FALSE)")
        } else {
            sql
        }
    }

    fn pred(&mut self, p: &Pred) -> String {
        match p {
            Pred::Addr(s, pre) => self.sided(*s, "src_addr", "dst_addr", |c, col| c.prefix(col, pre)),
            Pred::Port(s, n) => self.sided(*s, "src_port", "dst_port", |c, col| c.num(col, n)),
            Pred::As(s, n) => self.sided(*s, "src_as", "dst_as", |c, col| c.num(col, n)),
            Pred::Country(s, code) => {
                let text = String::from_utf8_lossy(code).into_owned();
                self.sided(*s, "src_country", "dst_country", |c, col| {
                    format!("{col} = {}", c.bind(Param::Text(text.clone())))
                })
            }
            Pred::Vlan(s, n) => self.sided(*s, "src_vlan", "dst_vlan", |c, col| c.num(col, n)),
            Pred::Class(s, a, v) => {
                let (src, dst) = a.columns();
                self.sided(*s, src, dst, |c, col| {
                    format!("lower({col}) = {}", c.bind(Param::Text(v.clone())))
                })
            }
            Pred::Internal(s, inside) => self.sided(*s, "src_internal", "dst_internal", |c, col| {
                format!("{col} = {}", c.bind(Param::U64(u64::from(*inside))))
            }),
            Pred::If(side, n) => match side {
                IfSide::In => self.num("in_if", n),
                IfSide::Out => self.num("out_if", n),
                IfSide::Any => {
                    let a = self.num("in_if", n);
                    let b = self.num("out_if", n);
                    format!("({} OR {})", self.total(a), self.total(b))
                }
            },
            Pred::Proto(n) => self.num("proto", n),
            Pred::IpVersion(v) => format!("ip_version = {}", self.bind(Param::U64(u64::from(*v)))),
            Pred::Flags(m) => {
                let a = self.bind(Param::U64(u64::from(*m)));
                let b = self.bind(Param::U64(u64::from(*m)));
                format!("(tcp_flags & {a}) = {b}")
            }
            Pred::Tos(n) => self.num("tos", n),
            Pred::Bytes(n) => self.num("bytes", n),
            Pred::Packets(n) => self.num("packets", n),
            Pred::Exporter(pre) => self.prefix("exporter", pre),
        }
    }
}
