//! The in-memory back end: a filter evaluated over one flow (live feed,
//! alert rules, forwarding). Must agree with the SQL back end row for row;
//! the differential test holds them to it.
//!
//! A term about a field the flow does not carry is false whatever its
//! operator (`port != 80` is false for ICMP), and `not` of it is true —
//! as the SQL back end does with `COALESCE(…, FALSE)`.

use super::ast::{Expr, IfSide, Num, Pred, Prefix, Side};
use crate::flow::{addr_key, Flow};

pub fn matches(e: &Expr, f: &Flow) -> bool {
    match e {
        Expr::All => true,
        Expr::And(a, b) => matches(a, f) && matches(b, f),
        Expr::Or(a, b) => matches(a, f) || matches(b, f),
        Expr::Not(a) => !matches(a, f),
        Expr::Pred(p) => pred(p, f),
    }
}

fn num<T: Into<u64>>(n: &Num, v: Option<T>) -> bool {
    v.is_some_and(|v| n.matches(v.into()))
}

fn sided<T: Copy>(side: Side, src: Option<T>, dst: Option<T>, test: impl Fn(Option<T>) -> bool) -> bool {
    match side {
        Side::Src => test(src),
        Side::Dst => test(dst),
        Side::Any => test(src) || test(dst),
    }
}

fn in_prefix(p: &Prefix, a: Option<std::net::IpAddr>) -> bool {
    let (lo, hi) = p.range();
    a.map(addr_key).is_some_and(|k| lo <= k && k <= hi)
}

fn pred(p: &Pred, f: &Flow) -> bool {
    let r = &f.record;
    match p {
        Pred::Addr(s, pre) => sided(*s, r.src_addr, r.dst_addr, |a| in_prefix(pre, a)),
        Pred::Port(s, n) => sided(*s, r.src_port, r.dst_port, |v| num(n, v)),
        Pred::As(s, n) => sided(*s, r.src_as, r.dst_as, |v| num(n, v)),
        Pred::Country(s, c) => sided(*s, f.src_country, f.dst_country, |v| v == Some(*c)),
        Pred::Vlan(s, n) => sided(*s, r.src_vlan, r.dst_vlan, |v| num(n, v)),
        Pred::If(side, n) => match side {
            IfSide::In => num(n, r.in_if),
            IfSide::Out => num(n, r.out_if),
            IfSide::Any => num(n, r.in_if) || num(n, r.out_if),
        },
        Pred::Proto(n) => num(n, r.proto),
        Pred::IpVersion(v) => r.ip_version == Some(*v),
        Pred::Flags(m) => r.tcp_flags.is_some_and(|t| t & m == *m),
        Pred::Tos(n) => num(n, r.tos),
        Pred::Bytes(n) => num(n, r.scaled_bytes()),
        Pred::Packets(n) => num(n, r.scaled_packets()),
        Pred::Exporter(pre) => in_prefix(pre, Some(r.exporter.ip())),
        Pred::Class(s, a, v) => sided(*s, f.src_class.as_deref(), f.dst_class.as_deref(), |c| {
            c.and_then(|c| a.of(c)).is_some_and(|x| x.to_lowercase() == *v)
        }),
        Pred::Internal(s, inside) => sided(*s, f.src_class.as_deref(), f.dst_class.as_deref(), |c| {
            c.and_then(|c| c.internal) == Some(*inside)
        }),
    }
}
