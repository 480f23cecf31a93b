//! The SQL back end of the filter language selects exactly the flows the
//! in-memory back end accepts (property test over random filters and flows).

use super::*;

/// Small value domains so random filters hit and miss.
fn addr() -> impl Strategy<Value = Option<IpAddr>> {
    prop_oneof![
        1 => Just(None),
        4 => (0u8..4, 0u8..4).prop_map(|(a, b)| Some(IpAddr::from([10, a, b, 1]))),
        2 => (0u16..4, 0u16..3).prop_map(|(a, b)| Some(IpAddr::from([0x2001, 0xdb8, a, 0, 0, 0, 0, b]))),
        1 => Just(Some(IpAddr::from([192, 0, 2, 1]))),
    ]
}

fn opt<T: std::fmt::Debug + Clone + 'static>(s: impl Strategy<Value = T> + 'static) -> BoxedStrategy<Option<T>> {
    prop_oneof![1 => Just(None), 4 => s.prop_map(Some)].boxed()
}

prop_compose! {
    fn flow()(src in addr(), dst in addr(), sp in opt(prop_oneof![Just(53u16), Just(80), Just(443), 1000u16..1010]),
              dp in opt(prop_oneof![Just(53u16), Just(80), Just(443), 1000u16..1010]),
              proto in opt(prop_oneof![Just(6u8), Just(17), Just(1), Just(58)]),
              flags in opt(0u16..64), tos in opt(0u8..4), bytes in opt(0u64..5_000), packets in opt(0u64..20),
              rate in opt(1u32..4), in_if in opt(0u32..4), out_if in opt(0u32..4),
              sas in opt(64_500u32..64_503), das in opt(64_500u32..64_503),
              svlan in opt(1u16..4), dvlan in opt(1u16..4),
              sc in opt(prop_oneof![Just(*b"US"), Just(*b"DE")]), dc in opt(prop_oneof![Just(*b"US"), Just(*b"FR")]),
              exp in 0u8..3) -> Flow {
        let exporter = SocketAddr::from(([192, 0, 2, 10 + exp], 2055));
        let mut r = FlowRecord::new(Protocol::Netflow9, exporter, Timestamp::from_secs(1_700_000_000));
        r.ip_version = src.or(dst).map(|a| if a.is_ipv4() { 4 } else { 6 });
        r.src_addr = src; r.dst_addr = dst; r.src_port = sp; r.dst_port = dp; r.proto = proto;
        r.tcp_flags = flags; r.tos = tos; r.bytes = bytes; r.packets = packets; r.sampling_rate = rate;
        r.in_if = in_if; r.out_if = out_if; r.src_as = sas; r.dst_as = das; r.src_vlan = svlan; r.dst_vlan = dvlan;
        let mut f = Flow::new(r);
        f.src_country = sc; f.dst_country = dc;
        f
    }
}

/// A classification from a small domain (mixed case, so the filter's
/// case-insensitive comparison is exercised on both back ends).
fn class() -> impl Strategy<Value = std::sync::Arc<crate::Class>> {
    let word = |a: &'static str, b: &'static str| opt(prop_oneof![Just(a.to_string()), Just(b.to_string())]);
    (
        word("web", "DB"),
        word("prod", "dev"),
        word("FRA1", "ams1"),
        word("Berlin", "paris"),
        opt(any::<bool>()),
    )
        .prop_map(|(name, env, datacenter, location, internal)| {
            std::sync::Arc::new(crate::Class {
                name,
                env,
                datacenter,
                location,
                internal,
            })
        })
}

fn classified_flow() -> impl Strategy<Value = Flow> {
    (flow(), opt(class()), opt(class())).prop_map(|(mut f, s, d)| {
        f.src_class = s;
        f.dst_class = d;
        f
    })
}

fn num(max: u64) -> impl Strategy<Value = Num> {
    let cmp = prop_oneof![
        Just(Cmp::Eq),
        Just(Cmp::Ne),
        Just(Cmp::Lt),
        Just(Cmp::Le),
        Just(Cmp::Gt),
        Just(Cmp::Ge)
    ];
    prop_oneof![
        3 => (cmp, 0..=max).prop_map(|(c, v)| Num::Cmp(c, v)),
        1 => prop::collection::vec((0..=max, 0..=max).prop_map(|(a, b)| (a.min(b), a.max(b))), 1..4).prop_map(Num::In),
    ]
}

fn side() -> impl Strategy<Value = Side> {
    prop_oneof![Just(Side::Src), Just(Side::Dst), Just(Side::Any)]
}

fn prefix() -> impl Strategy<Value = Prefix> {
    prop_oneof![
        (
            0u8..4,
            0u8..4,
            prop_oneof![Just(8u8), Just(16), Just(24), Just(32), Just(0)]
        )
            .prop_map(|(a, b, len)| Prefix {
                addr: IpAddr::from([10, a, b, 1]),
                len
            }),
        (0u16..4, prop_oneof![Just(32u8), Just(48), Just(64), Just(128), Just(0)]).prop_map(|(a, len)| Prefix {
            addr: IpAddr::from([0x2001, 0xdb8, a, 0, 0, 0, 0, 1]),
            len
        }),
    ]
}

fn pred() -> impl Strategy<Value = Pred> {
    prop_oneof![
        (side(), prefix()).prop_map(|(s, p)| Pred::Addr(s, p)),
        (side(), num(1_100)).prop_map(|(s, n)| Pred::Port(s, n)),
        (side(), num(64_505)).prop_map(|(s, n)| Pred::As(s, n)),
        (side(), prop_oneof![Just(*b"US"), Just(*b"DE"), Just(*b"FR")]).prop_map(|(s, c)| Pred::Country(s, c)),
        (side(), num(5)).prop_map(|(s, n)| Pred::Vlan(s, n)),
        (
            prop_oneof![Just(IfSide::In), Just(IfSide::Out), Just(IfSide::Any)],
            num(5)
        )
            .prop_map(|(s, n)| Pred::If(s, n)),
        num(60).prop_map(Pred::Proto),
        prop_oneof![Just(4u8), Just(6)].prop_map(Pred::IpVersion),
        (1u16..64).prop_map(Pred::Flags),
        num(5).prop_map(Pred::Tos),
        num(12_000).prop_map(Pred::Bytes),
        num(50).prop_map(Pred::Packets),
        (0u8..3, prop_oneof![Just(32u8), Just(24)]).prop_map(|(e, len)| Pred::Exporter(Prefix {
            addr: IpAddr::from([192, 0, 2, 10 + e]),
            len
        })),
        (
            side(),
            prop_oneof![
                Just(ClassAttr::Net),
                Just(ClassAttr::Env),
                Just(ClassAttr::Dc),
                Just(ClassAttr::Location)
            ],
            prop_oneof![
                Just("web"),
                Just("db"),
                Just("prod"),
                Just("dev"),
                Just("fra1"),
                Just("paris")
            ]
        )
            .prop_map(|(s, a, v)| Pred::Class(s, a, v.to_string())),
        (side(), any::<bool>()).prop_map(|(s, i)| Pred::Internal(s, i)),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![9 => pred().prop_map(Expr::Pred), 1 => Just(Expr::All)];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|a| Expr::Not(Box::new(a))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn sql_and_in_memory_filters_select_the_same_flows(
        flows in prop::collection::vec(classified_flow(), 150),
        filters in prop::collection::vec(expr(), 40),
    ) {
        let flows: Vec<Flow> = flows.into_iter().enumerate().map(|(i, mut f)| {
            f.record.sequence = Some(i as u32);
            f
        }).collect();
        let s = store_with("differential", &flows);
        for e in filters {
            let f = Filter { text: e.to_string(), expr: e };
            let want: BTreeSet<u32> = flows.iter().filter(|x| f.matches(x)).map(|x| x.record.sequence.unwrap()).collect();
            let got = query_sequences(&s, &f);
            prop_assert_eq!(&got, &want, "filter {} → {}", f.text, f.to_sql(&DuckDb).sql);
            // The text form parses back to a filter selecting the same rows.
            let reparsed = Filter::parse(&f.text).unwrap();
            let again: BTreeSet<u32> = flows.iter().filter(|x| reparsed.matches(x)).map(|x| x.record.sequence.unwrap()).collect();
            prop_assert_eq!(&again, &want, "reparsed {}", f.text);
        }
    }
}
