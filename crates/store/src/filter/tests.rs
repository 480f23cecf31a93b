//! Parser, error messages and the in-memory back end. The SQL back end is
//! held to the in-memory one by the differential test in `store`.

use std::net::SocketAddr;

use flowlens_wire::{FlowRecord, Protocol, Timestamp};

use super::ast::{Cmp, Expr, Num, Pred, Side};
use super::Filter;
use crate::Flow;

fn flow() -> Flow {
    let exporter: SocketAddr = "192.0.2.1:2055".parse().unwrap();
    let mut r = FlowRecord::new(Protocol::Ipfix, exporter, Timestamp::from_secs(1_700_000_000));
    r.ip_version = Some(4);
    r.src_addr = Some("10.1.2.3".parse().unwrap());
    r.dst_addr = Some("198.51.100.7".parse().unwrap());
    r.src_port = Some(51_000);
    r.dst_port = Some(443);
    r.proto = Some(6);
    r.tcp_flags = Some(0x1b); // FSPA
    r.bytes = Some(1_500);
    r.packets = Some(3);
    r.sampling_rate = Some(1_000);
    r.in_if = Some(7);
    r.out_if = Some(9);
    r.src_as = Some(64_500);
    r.dst_as = Some(15_169);
    r.tos = Some(0x28);
    r.src_vlan = Some(100);
    let mut f = Flow::new(r);
    f.dst_country = Some(*b"US");
    f.src_class = Some(std::sync::Arc::new(crate::Class {
        name: Some("office-berlin".into()),
        env: Some("prod".into()),
        datacenter: Some("FRA1".into()),
        location: None,
        internal: Some(true),
    }));
    f
}

fn yes(text: &str) {
    let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert!(f.matches(&flow()), "{text} should match (parsed as {})", f.expr);
}

fn no(text: &str) {
    let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    assert!(!f.matches(&flow()), "{text} should not match (parsed as {})", f.expr);
}

fn err(text: &str) -> String {
    Filter::parse(text).expect_err(text).to_string()
}

#[test]
fn terms_match_as_an_engineer_expects() {
    yes("");
    yes("any");
    yes("host 10.1.2.3");
    yes("ip 198.51.100.7");
    yes("src ip 10.1.2.3");
    no("dst ip 10.1.2.3");
    yes("net 10.0.0.0/8");
    yes("src net 10.1.0.0/16 and dst net 198.51.100.0/24");
    no("src net 10.2.0.0/16");
    no("net 2001:db8::/32");
    yes("port 443");
    yes("dst port 443");
    no("src port 443");
    yes("src port > 1023");
    yes("port in [80 443 8080]");
    yes("dst port in [80, 400-500]");
    yes("src port 50000-52000");
    no("dst port >= 444");
    yes("proto tcp");
    yes("proto 6");
    no("proto udp");
    yes("inet");
    no("inet6");
    yes("as 15169");
    yes("src as 64500");
    no("dst as 64500");
    yes("in if 7");
    yes("out if 9");
    yes("if 9");
    no("in if 9");
    yes("flags S");
    yes("flags AS");
    no("flags R");
    yes("tos 40");
    // Counts are sampling-corrected: 1,500 × 1,000 bytes, 3,000 packets.
    yes("bytes > 1M");
    yes("bytes = 1500000");
    yes("packets >= 3K");
    no("packets < 10");
    yes("exporter 192.0.2.1");
    yes("exporter 192.0.2.0/24");
    yes("dst country US");
    yes("country us");
    no("src country US");
    yes("vlan 100");
    no("dst vlan 100");
    // Classification: names compared without regard to case.
    yes("src netname office-berlin");
    yes("net-name OFFICE-BERLIN");
    no("dst netname office-berlin");
    yes("src env prod and src dc fra1");
    yes("environment prod");
    no("env dev");
    yes("src internal");
    no("src external");
    // The destination has no classification: neither internal nor external.
    no("dst internal");
    no("dst external");
    yes("not dst external");
    no("location berlin");
}

#[test]
fn boolean_structure_and_precedence() {
    yes("proto tcp and dst port 443");
    yes("proto udp or dst port 443");
    yes("not proto udp");
    yes("! proto udp && (port 80 || port 443)");
    no("proto tcp and not port 443");
    // and binds tighter than or: true or (false and false)
    yes("proto tcp or proto udp and port 53");
    no("(proto tcp or proto udp) and port 53");
    yes("not not proto tcp");
}

#[test]
fn absent_fields_make_a_term_false_and_its_negation_true() {
    let f = Filter::parse("port != 80").unwrap();
    let mut icmp = flow();
    icmp.record.src_port = None;
    icmp.record.dst_port = None;
    assert!(!f.matches(&icmp));
    assert!(Filter::parse("not port 80").unwrap().matches(&icmp));
}

#[test]
fn errors_name_the_column_and_what_was_expected() {
    assert_eq!(
        err("proto tcp and port htps"),
        "at column 20: expected a port number, found \"htps\""
    );
    assert_eq!(
        err("port 70000"),
        "at column 6: port 70000 is out of range (0 to 65535)"
    );
    assert_eq!(
        err("net 10.0.0.0/33"),
        "at column 5: \"10.0.0.0/33\": prefix length must be 0 to 32"
    );
    assert_eq!(err("host 10.0.0"), "at column 6: \"10.0.0\" is not an IP address");
    assert_eq!(
        err("port 2000-1000"),
        "at column 6: the range 2000-1000 ends before it starts"
    );
    assert_eq!(
        err("proto tcp port 80"),
        "at column 11: expected \"and\", \"or\" or the end of the filter, found \"port\""
    );
    assert_eq!(
        err("(proto tcp"),
        "at column 11: expected \")\", found the end of the filter"
    );
    assert!(err("colour red").starts_with("at column 1: expected a filter term"));
    assert_eq!(
        err("src if 3"),
        "at column 5: expected host, ip, net, port, as, country, vlan, netname, env, dc, location, internal or external \
         after src/dst, found \"if\""
    );
    assert_eq!(
        err("flags SZ"),
        "at column 7: \"Z\" in \"SZ\" is not a TCP flag (use F S R P A U E C, or X for all)"
    );
    assert_eq!(
        err("country USA"),
        "at column 9: \"USA\" is not a two-letter country code (ISO 3166, e.g. US, DE)"
    );
    assert_eq!(err("port in []"), "at column 11: the port list is empty");
    assert_eq!(err("port $"), "at column 6: expected a filter term, found \"$\"");
}

#[test]
fn hostile_filters_are_refused_not_recursed_into() {
    let deep = format!("{}port 80{}", "(".repeat(10_000), ")".repeat(10_000));
    assert!(matches!(
        Filter::parse(&deep).unwrap_err(),
        super::FilterError::TooLong { .. }
    ));
    let deep = format!("{}port 80{}", "(".repeat(100), ")".repeat(100));
    assert!(matches!(
        Filter::parse(&deep).unwrap_err(),
        super::FilterError::TooDeep { .. }
    ));
    let nots = format!("{}port 80", "not ".repeat(100));
    assert!(matches!(
        Filter::parse(&nots).unwrap_err(),
        super::FilterError::TooDeep { .. }
    ));
    let list = format!("port in [{}]", "1 ".repeat(1_500));
    assert!(err(&list).contains("at most 1024 items"));
}

#[test]
fn the_ast_is_what_the_text_says() {
    let f = Filter::parse("src port >= 1024").unwrap();
    assert_eq!(f.expr, Expr::Pred(Pred::Port(Side::Src, Num::Cmp(Cmp::Ge, 1024))));
    // Display is a canonical form that parses back to the same tree.
    for text in [
        "src net 10.0.0.0/8 and not (port in [80 443] or proto udp)",
        "flags SA or bytes > 1M and in if 3",
        "dst country DE or exporter 192.0.2.0/24 and inet6",
    ] {
        let a = Filter::parse(text).unwrap();
        let b = Filter::parse(&a.expr.to_string()).unwrap();
        assert_eq!(a.expr, b.expr, "{text} → {}", a.expr);
    }
}
