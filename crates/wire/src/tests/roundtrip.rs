//! Property tests: for random records, encode → decode returns every field
//! the format carries.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::{decode_all, NOW};
use crate::encode::fields::TimeBase;
use crate::encode::{standard_template, IpfixEncoder, SflowEncoder, V5Header, V9Encoder};
use crate::record::{Direction, FlowRecord, Protocol, SamplingSource, Timestamp};

fn base_record() -> FlowRecord {
    FlowRecord::new(Protocol::Ipfix, super::exporter(), NOW)
}

fn v4() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 4]>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a)))
}

fn v6() -> impl Strategy<Value = IpAddr> {
    any::<[u8; 16]>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a)))
}

/// A time within the last day, at ms precision (what v5/v9/IPFIX ms carry).
fn recent_ms() -> impl Strategy<Value = Timestamp> {
    (0i64..86_400_000).prop_map(|age| Timestamp::from_millis(NOW.as_millis() - age))
}

prop_compose! {
    fn ports_proto()(proto in prop_oneof![Just(6u8), Just(17u8), Just(47u8)], sp in any::<u16>(), dp in any::<u16>(), flags in any::<u8>())
        -> (u8, u16, u16, u8) { (proto, sp, dp, flags) }
}

prop_compose! {
    fn v5_record()(src in v4(), dst in v4(), nh in v4(), in_if in any::<u16>(), out_if in any::<u16>(),
                   packets in any::<u32>(), bytes in any::<u32>(), t0 in recent_ms(), dur in 0i64..600_000,
                   (proto, sp, dp, flags) in ports_proto(), tos in any::<u8>(), sas in any::<u16>(), das in any::<u16>(),
                   sm in 0u8..=32, dm in 0u8..=32) -> FlowRecord {
        let mut r = base_record();
        r.src_addr = Some(src); r.dst_addr = Some(dst); r.next_hop = Some(nh);
        r.in_if = Some(in_if as u32); r.out_if = Some(out_if as u32);
        r.packets = Some(packets as u64); r.bytes = Some(bytes as u64);
        r.time_start = Some(Timestamp::from_millis(t0.as_millis() - dur)); r.time_end = Some(t0);
        r.proto = Some(proto); r.src_port = Some(sp); r.dst_port = Some(dp); r.tcp_flags = Some(flags as u16);
        r.tos = Some(tos); r.src_as = Some(sas as u32); r.dst_as = Some(das as u32);
        r.src_mask = Some(sm); r.dst_mask = Some(dm);
        r
    }
}

prop_compose! {
    fn templated_record(ipv6: bool)(src in if ipv6 { v6().boxed() } else { v4().boxed() },
                   dst in if ipv6 { v6().boxed() } else { v4().boxed() },
                   nh in if ipv6 { v6().boxed() } else { v4().boxed() },
                   in_if in any::<u32>(), out_if in any::<u32>(), packets in any::<u64>(), bytes in any::<u64>(),
                   t0 in recent_ms(), dur in 0i64..600_000, (proto, sp, dp, flags) in ports_proto(),
                   tos in any::<u8>(), sas in any::<u32>(), das in any::<u32>(), sm in 0u8..=128, dm in 0u8..=128,
                   egress in any::<bool>(), vlan in 0u16..4096, fwd in any::<u8>(), reason in 1u8..=5) -> FlowRecord {
        let mut r = base_record();
        r.src_addr = Some(src); r.dst_addr = Some(dst); r.next_hop = Some(nh);
        r.in_if = Some(in_if); r.out_if = Some(out_if); r.packets = Some(packets); r.bytes = Some(bytes);
        r.time_start = Some(Timestamp::from_millis(t0.as_millis() - dur)); r.time_end = Some(t0);
        r.proto = Some(proto); r.src_port = Some(sp); r.dst_port = Some(dp); r.tcp_flags = Some(flags as u16);
        r.tos = Some(tos); r.src_as = Some(sas); r.dst_as = Some(das); r.src_mask = Some(sm); r.dst_mask = Some(dm);
        r.direction = Some(if egress { Direction::Egress } else { Direction::Ingress });
        r.src_vlan = Some(vlan); r.forwarding_status = Some(fwd); r.end_reason = Some(reason);
        r.icmp_type = Some(0); r.icmp_code = Some(0);
        r
    }
}

/// Compares the fields `keep` selects.
fn same(a: &FlowRecord, b: &FlowRecord, what: &str) {
    macro_rules! eq {
        ($($f:ident),*) => { $( assert_eq!(a.$f, b.$f, "{what}: field {}", stringify!($f)); )* };
    }
    eq!(
        src_addr, dst_addr, next_hop, in_if, out_if, packets, bytes, time_start, time_end, proto, src_port, dst_port,
        tcp_flags, tos, src_as, dst_as, src_mask, dst_mask
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn netflow5_round_trip(recs in prop::collection::vec(v5_record(), 1..=30), rate in 0u16..0x3fff) {
        let h = V5Header { export_time: NOW, sys_uptime_ms: 3_000_000_000, sequence: 7, engine_type: 1, engine_id: 2, sampling_interval: rate };
        let mut buf = Vec::new();
        let n = crate::encode::v5::encode(&h, &recs, &mut buf);
        prop_assert_eq!(n, recs.len());
        let (b, r) = decode_all(&[buf]);
        prop_assert!(r[0].is_ok());
        prop_assert_eq!(b.flows.len(), recs.len());
        for (x, y) in recs.iter().zip(&b.flows) {
            same(x, y, "v5");
            prop_assert_eq!(y.observation_domain, 0x0102);
            prop_assert_eq!(y.sampling_rate, (rate > 1).then_some(rate as u32));
        }
    }

    #[test]
    fn netflow9_round_trip(ipv6 in any::<bool>(), seed in prop::collection::vec(templated_record(false), 1..=22),
                           seed6 in prop::collection::vec(templated_record(true), 1..=22), rate in 1u32..10_000) {
        let recs = if ipv6 { &seed6 } else { &seed };
        let mut enc = V9Encoder::new(9, 260, standard_template(ipv6, true));
        let base = TimeBase { export_time: Timestamp::from_secs(NOW.as_secs()), sys_uptime_ms: 123_456_789 };
        // Times are relative to the export second; shift expectations to it.
        let mut buf = Vec::new();
        let mut recs: Vec<FlowRecord> = recs.clone();
        for r in &mut recs { r.sampler_id = Some(3); }
        enc.fields.push(crate::template::FieldSpec { pen: 0, id: crate::ie::id::SAMPLER_ID, len: 2 });
        enc.encode(&base, &recs, true, Some((3, rate)), &mut buf);
        let (b, r) = decode_all(&[buf]);
        prop_assert!(r[0].is_ok(), "{:?}", r[0]);
        prop_assert!(b.errors.is_empty(), "{:?}", b.errors);
        prop_assert_eq!(b.flows.len(), recs.len());
        for (x, y) in recs.iter().zip(&b.flows) {
            same(x, y, "v9");
            prop_assert_eq!(x.direction, y.direction);
            prop_assert_eq!(x.src_vlan, y.src_vlan);
            prop_assert_eq!(x.end_reason, y.end_reason);
            prop_assert_eq!(x.forwarding_status, y.forwarding_status);
            prop_assert_eq!(y.sampling_rate, Some(rate));
            prop_assert_eq!(y.sampling_source, Some(SamplingSource::Options));
        }
    }

    #[test]
    fn ipfix_round_trip(ipv6 in any::<bool>(), seed in prop::collection::vec(templated_record(false), 1..=22),
                        seed6 in prop::collection::vec(templated_record(true), 1..=22), rate in 1u32..10_000) {
        let recs = if ipv6 { &seed6 } else { &seed };
        let mut enc = IpfixEncoder::new(77, 400, standard_template(ipv6, false));
        enc.fields.push(crate::template::FieldSpec { pen: 0, id: crate::ie::id::SELECTOR_ID, len: 8 });
        let mut recs: Vec<FlowRecord> = recs.clone();
        for r in &mut recs { r.sampler_id = Some(5); r.reverse_bytes = Some(11); }
        enc.fields.push(crate::template::FieldSpec { pen: crate::ie::PEN_REVERSE, id: 1, len: 8 });
        let base = TimeBase { export_time: NOW, sys_uptime_ms: 0 };
        let mut buf = Vec::new();
        enc.encode(&base, &recs, true, Some((5, rate)), &mut buf);
        let (b, r) = decode_all(&[buf]);
        prop_assert!(r[0].is_ok(), "{:?}", r[0]);
        prop_assert!(b.errors.is_empty(), "{:?}", b.errors);
        prop_assert_eq!(b.flows.len(), recs.len());
        for (x, y) in recs.iter().zip(&b.flows) {
            same(x, y, "ipfix");
            prop_assert_eq!(x.direction, y.direction);
            prop_assert_eq!(y.reverse_bytes, Some(11));
            prop_assert_eq!(y.sampling_rate, Some(rate));
            prop_assert_eq!(y.observation_domain, 77);
        }
    }

    #[test]
    fn sflow_round_trip(recs in prop::collection::vec((any::<bool>(), templated_record(false), templated_record(true), 1u32..100_000, 64u64..9000), 1..=8)) {
        let mut enc = SflowEncoder::new("198.51.100.1".parse().unwrap(), 3);
        let recs: Vec<FlowRecord> = recs.into_iter().map(|(six, a, b, rate, len)| {
            let mut r = if six { b } else { a };
            r.sampling_rate = Some(rate);
            r.bytes = Some(len);
            r.in_if = r.in_if.map(|i| i & 0x00ff_ffff);
            r.out_if = r.out_if.map(|i| i & 0x3fff_fffe);
            r
        }).collect();
        let mut buf = Vec::new();
        enc.encode(&recs, &[], &mut buf);
        let (b, r) = decode_all(&[buf]);
        prop_assert!(r[0].is_ok(), "{:?}", r[0]);
        prop_assert!(b.errors.is_empty(), "{:?}", b.errors);
        prop_assert_eq!(b.flows.len(), recs.len());
        for (x, y) in recs.iter().zip(&b.flows) {
            prop_assert_eq!(x.src_addr, y.src_addr);
            prop_assert_eq!(x.dst_addr, y.dst_addr);
            prop_assert_eq!(x.proto, y.proto);
            if x.proto != Some(47) {
                prop_assert_eq!(x.src_port, y.src_port);
                prop_assert_eq!(x.dst_port, y.dst_port);
            }
            prop_assert_eq!(x.bytes, y.bytes);
            prop_assert_eq!(y.packets, Some(1));
            prop_assert_eq!(x.sampling_rate, y.sampling_rate);
            prop_assert_eq!(x.in_if, y.in_if);
            prop_assert_eq!(x.out_if, y.out_if);
            prop_assert_eq!(x.src_vlan, y.src_vlan);
            prop_assert_eq!(x.tos, y.tos);
            prop_assert_eq!(x.src_as, y.src_as);
            prop_assert_eq!(x.dst_as, y.dst_as);
            prop_assert_eq!(x.src_mask, y.src_mask);
            prop_assert_eq!(x.next_hop, y.next_hop);
            if x.proto == Some(6) { prop_assert_eq!(x.tcp_flags, y.tcp_flags); }
            prop_assert_eq!(y.agent, Some("198.51.100.1".parse().unwrap()));
        }
    }
}
