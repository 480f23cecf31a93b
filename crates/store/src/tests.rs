//! Store tests: what goes in comes out, and the SQL and in-memory filter
//! back ends agree on every row (differential property test).

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use flowlens_wire::{Direction, FlowRecord, MacAddr, Protocol, Timestamp};
use proptest::prelude::*;

use crate::filter::ast::{Cmp, Expr, IfSide, Num, Pred, Prefix, Side};
use crate::filter::sql::DuckDb;
use crate::{schema, Filter, Flow, Store, StoreConfig, Writer};

pub(crate) fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("flowlens-store-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn open(name: &str) -> Store {
    Store::open(StoreConfig {
        data_dir: temp_dir(name),
        flush_interval: Duration::from_millis(50),
    })
    .unwrap()
}

/// Writes flows directly (no writer thread) and returns the store.
fn store_with(name: &str, flows: &[Flow]) -> Store {
    let s = open(name);
    let c = s.connection().unwrap();
    let mut app = c.appender("flows").unwrap();
    app.append_record_batch(schema::record_batch(flows)).unwrap();
    app.flush().unwrap();
    drop(app);
    s
}

fn query_sequences(s: &Store, f: &Filter) -> BTreeSet<u32> {
    let c = s.connection().unwrap();
    let compiled = f.to_sql(&DuckDb);
    let sql = format!("SELECT sequence FROM flows WHERE {}", compiled.sql);
    let params = crate::query::bind(&compiled.params);
    let mut st = c.prepare(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    let rows = st
        .query_map(duckdb::params_from_iter(params), |r| r.get::<_, u32>(0))
        .unwrap();
    rows.map(Result::unwrap).collect()
}

fn full_flow(seq: u32) -> Flow {
    let exporter: SocketAddr = "[2001:db8::9]:4739".parse().unwrap();
    let mut r = FlowRecord::new(Protocol::Ipfix, exporter, Timestamp::from_micros(1_700_000_000_123_456));
    r.time_start = Some(Timestamp::from_micros(1_699_999_990_000_001));
    r.time_end = Some(Timestamp::from_micros(1_700_000_000_000_002));
    r.agent = Some("192.0.2.200".parse().unwrap());
    r.observation_domain = 77;
    r.sequence = Some(seq);
    r.sampling_rate = Some(100);
    r.sampling_source = Some(flowlens_wire::SamplingSource::Options);
    r.sampler_id = Some(3);
    r.in_if = Some(11);
    r.out_if = Some(12);
    r.ip_version = Some(6);
    r.src_addr = Some("2001:db8:1::1".parse().unwrap());
    r.dst_addr = Some("2001:db8:2::2".parse().unwrap());
    r.src_port = Some(443);
    r.dst_port = Some(50_123);
    r.proto = Some(6);
    r.tcp_flags = Some(0x1b);
    r.tos = Some(0xb8);
    r.ttl = Some(61);
    r.flow_label = Some(0xabcde);
    r.bytes = Some(1_000);
    r.packets = Some(10);
    r.flows = Some(1);
    r.reverse_bytes = Some(300);
    r.reverse_packets = Some(4);
    r.src_as = Some(64_500);
    r.dst_as = Some(4_200_000_000);
    r.src_mask = Some(48);
    r.dst_mask = Some(64);
    r.next_hop = Some("2001:db8::fe".parse().unwrap());
    r.bgp_next_hop = Some("10.9.9.9".parse().unwrap());
    r.src_vlan = Some(10);
    r.dst_vlan = Some(20);
    r.src_mac = Some(MacAddr([0x02, 0, 0, 0, 0, 1]));
    r.dst_mac = Some(MacAddr([0x02, 0, 0, 0, 0, 2]));
    r.mpls_label = Some(16_001);
    r.icmp_type = None;
    r.icmp_code = None;
    r.direction = Some(Direction::Egress);
    r.forwarding_status = Some(64);
    r.end_reason = Some(3);
    r.nat_src_addr = Some("203.0.113.5".parse().unwrap());
    r.nat_dst_addr = Some("203.0.113.6".parse().unwrap());
    r.nat_src_port = Some(1_024);
    r.nat_dst_port = Some(2_048);
    let mut f = Flow::new(r);
    f.src_country = Some(*b"DE");
    f.dst_country = Some(*b"US");
    f
}

#[test]
fn every_field_comes_back_with_counters_scaled() {
    let f = full_flow(1);
    let s = store_with("roundtrip", std::slice::from_ref(&f));
    let c = s.connection().unwrap();
    let mut st = c
        .prepare(&format!("SELECT {} FROM flows", schema::select_list()))
        .unwrap();
    let back: Vec<Flow> = st
        .query_map([], schema::flow_from_row)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let mut want = f.clone();
    // Stored sampling-corrected (× 100), the rate beside them.
    want.record.bytes = Some(100_000);
    want.record.packets = Some(1_000);
    want.record.reverse_bytes = Some(30_000);
    want.record.reverse_packets = Some(400);
    assert_eq!(back, vec![want]);
}

#[test]
fn the_writer_makes_flows_queryable_within_the_flush_interval() {
    let s = open("writer");
    let w = Writer::start(&s).unwrap();
    w.send((0..1_000).map(full_flow).collect()).unwrap();
    let c = s.connection().unwrap();
    let t = std::time::Instant::now();
    loop {
        let n: u64 = c.query_row("SELECT count(*) FROM flows", [], |r| r.get(0)).unwrap();
        if n == 1_000 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "only {n} of 1000 flows visible after 5 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = w.stats().clone();
    w.close();
    // Counted once the commit returned (visibility can come first).
    assert_eq!(stats.rows.load(std::sync::atomic::Ordering::Relaxed), 1_000);
}

// ---- differential: SQL back end == in-memory back end ----

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
        flows in prop::collection::vec(flow(), 150),
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

// ---- crash safety ----

const CRASH_TEST: &str = "tests::kill_9_during_heavy_ingest_loses_at_most_the_last_flush";

/// The child side: write as fast as possible, report each committed total.
fn crash_child(dir: &str) -> ! {
    let s = Store::open(StoreConfig {
        data_dir: dir.into(),
        flush_interval: Duration::from_millis(100),
    })
    .unwrap();
    let w = Writer::start(&s).unwrap();
    let mut seq = 0u32;
    let mut reported = 0;
    loop {
        let batch: Vec<Flow> = (0..20_000)
            .map(|_| {
                seq += 1;
                full_flow(seq)
            })
            .collect();
        w.send(batch).unwrap();
        let rows = w.stats().rows.load(std::sync::atomic::Ordering::Relaxed);
        if rows != reported {
            println!("committed {rows}");
            reported = rows;
        }
    }
}

#[test]
fn kill_9_during_heavy_ingest_loses_at_most_the_last_flush() {
    use std::io::BufRead;
    if let Ok(dir) = std::env::var("FLOWLENS_CRASH_CHILD") {
        crash_child(&dir);
    }
    let dir = temp_dir("crash");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CRASH_TEST, "--nocapture", "--test-threads=1"])
        .env("FLOWLENS_CRASH_CHILD", &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut committed = 0u64;
    let mut reports = 0;
    let lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines {
        let line = line.unwrap();
        if let Some(n) = line.strip_prefix("committed ") {
            committed = n.parse().unwrap();
            reports += 1;
            if reports == 8 {
                break;
            }
        }
    }
    // SIGKILL: no destructors, no final flush.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(committed > 0, "the child never committed");
    let s = Store::open(StoreConfig {
        data_dir: dir.clone(),
        flush_interval: Duration::from_secs(1),
    })
    .expect("the store opens cleanly after kill -9");
    let c = s.connection().unwrap();
    let n: u64 = c.query_row("SELECT count(*) FROM flows", [], |r| r.get(0)).unwrap();
    assert!(
        n >= committed,
        "{n} rows after the crash, {committed} were committed before it"
    );
    // What survived is whole: every row reads back.
    let bad: u64 = c
        .query_row(
            "SELECT count(*) FROM flows WHERE bytes IS NULL OR src_addr_hi IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(bad, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- query engine ----

use crate::query::{Dim, FlowQuery, Key, Metric, Order, SeriesQuery, TimeRange, TopQuery};

/// 1,000 generated flows over ten minutes, unsampled.
fn generated(name: &str) -> (Store, Vec<Flow>, TimeRange) {
    use flowlens_wire::encode::generate::TrafficGen;
    let mut g = TrafficGen::new(3, "192.0.2.1:2055".parse().unwrap(), Protocol::Ipfix, None);
    let flows: Vec<Flow> = (0..1_000)
        .map(|i| {
            let mut r = g.flow(Timestamp::from_secs(1_700_000_000 + i * 600 / 1_000));
            r.time_received = Timestamp::from_secs(1_700_000_000 + i * 600 / 1_000);
            r.sequence = Some(i as u32);
            Flow::new(r)
        })
        .collect();
    let s = store_with(name, &flows);
    let range = TimeRange {
        since: Timestamp::from_secs(1_700_000_000),
        until: Timestamp::from_secs(1_700_000_600),
    };
    (s, flows, range)
}

#[test]
fn top_n_with_other_and_total_adds_up() {
    let (s, flows, range) = generated("top");
    let a = s
        .top(&TopQuery {
            range,
            filter: Filter::parse("proto tcp").unwrap(),
            by: vec![Dim::SrcAddr],
            metric: Metric::Bytes,
            limit: 5,
        })
        .unwrap();
    let tcp: Vec<&Flow> = flows.iter().filter(|f| f.record.proto == Some(6)).collect();
    assert_eq!(a.total.flows, tcp.len() as u64);
    assert_eq!(a.total.bytes, tcp.iter().map(|f| f.record.bytes.unwrap()).sum::<u64>());
    assert_eq!(a.rows.len(), 5);
    assert!(a.rows.windows(2).all(|w| w[0].totals.bytes >= w[1].totals.bytes));
    let top_bytes: u64 = a.rows.iter().map(|r| r.totals.bytes).sum();
    assert_eq!(top_bytes + a.other.bytes, a.total.bytes);
    // The first row is the real top source.
    let mut by_src = std::collections::HashMap::<IpAddr, u64>::new();
    for f in &tcp {
        *by_src.entry(f.record.src_addr.unwrap()).or_default() += f.record.bytes.unwrap();
    }
    let best = by_src.values().max().unwrap();
    assert_eq!(a.rows[0].totals.bytes, *best);
    assert!(matches!(a.rows[0].keys[0], Key::Addr(_)));
    assert_eq!(a.table, "flows");
}

#[test]
fn flow_search_pages_through_everything_once() {
    let (s, mut flows, range) = generated("pages");
    // One hostile counter: 2^64 - 1 bytes must not break ordering by bytes.
    let mut huge = flows[0].clone();
    huge.record.bytes = Some(u64::MAX);
    huge.record.sequence = Some(1_000_000);
    {
        let c = s.connection().unwrap();
        let mut app = c.appender("flows").unwrap();
        app.append_record_batch(schema::record_batch(std::slice::from_ref(&huge)))
            .unwrap();
        app.flush().unwrap();
    }
    flows.push(huge);
    for order in [Order::TimeDesc, Order::TimeAsc, Order::BytesDesc] {
        let mut seen = BTreeSet::new();
        let mut cursor = None;
        let mut pages = 0;
        loop {
            let p = s
                .flows(&FlowQuery {
                    range,
                    filter: Filter::all(),
                    order,
                    limit: 97,
                    cursor: cursor.take(),
                })
                .unwrap();
            pages += 1;
            for f in &p.flows {
                assert!(seen.insert(f.record.sequence.unwrap()), "{order:?}: a flow came twice");
            }
            match p.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), flows.len(), "{order:?}");
        assert_eq!(pages, flows.len().div_ceil(97));
    }
}

#[test]
fn series_buckets_add_up_to_the_total() {
    let (s, flows, range) = generated("series");
    let a = s
        .series(&SeriesQuery {
            range,
            step_secs: 60,
            filter: Filter::all(),
            metric: Metric::Packets,
            by: Some(Dim::Proto),
            top: 2,
        })
        .unwrap();
    assert_eq!(a.times.len(), 10);
    let sum: u64 = a.series.iter().flat_map(|(_, v)| v.iter()).sum();
    assert_eq!(sum, flows.iter().map(|f| f.record.packets.unwrap()).sum::<u64>());
    assert_eq!(a.series.len(), 3, "two protocols and other");
}

#[test]
fn bad_questions_get_clear_errors() {
    let (s, _, range) = generated("errors");
    let top = |limit, by: Vec<Dim>, range| {
        s.top(&TopQuery {
            range,
            filter: Filter::all(),
            by,
            metric: Metric::Bytes,
            limit,
        })
        .unwrap_err()
        .to_string()
    };
    assert!(top(0, vec![Dim::Proto], range).contains("limit must be 1 to 10000"));
    assert!(top(1_000_000, vec![Dim::Proto], range).contains("limit must be"));
    assert!(top(10, vec![], range).contains("1 to 4 dimensions"));
    let backwards = TimeRange {
        since: range.until,
        until: range.since,
    };
    assert!(top(10, vec![Dim::Proto], backwards).contains("ends before it starts"));
    assert!(Dim::parse("colour")
        .unwrap_err()
        .to_string()
        .contains("unknown dimension \"colour\""));
    let bad_cursor = s
        .flows(&FlowQuery {
            range,
            filter: Filter::all(),
            order: Order::TimeDesc,
            limit: 10,
            cursor: Some("zz".into()),
        })
        .unwrap_err();
    assert!(bad_cursor.to_string().contains("not one this server gave out"));
    let too_many_points = s.series(&SeriesQuery {
        range,
        step_secs: 0,
        filter: Filter::all(),
        metric: Metric::Bytes,
        by: None,
        top: 1,
    });
    assert!(too_many_points.unwrap_err().to_string().contains("step"));
}

// ---- rollups ----

#[test]
fn rollups_answer_like_raw_flows_and_say_so() {
    use flowlens_wire::encode::generate::TrafficGen;
    let s = open("rollups");
    let w = Writer::start(&s).unwrap();
    let mut g = TrafficGen::new(11, "192.0.2.1:2055".parse().unwrap(), Protocol::Ipfix, Some(10));
    let t0 = 1_700_000_000 - 1_700_000_000 % 3_600; // on an hour
    let mut flows = Vec::new();
    // Three hours and a bit, one flow every 2 s, in arrival order.
    for i in 0..5_600i64 {
        let t = Timestamp::from_secs(t0 + i * 2);
        let mut r = g.flow(t);
        r.time_received = t;
        flows.push(Flow::new(r));
    }
    for chunk in flows.chunks(500) {
        w.send(chunk.to_vec()).unwrap();
    }
    w.close();
    let c = s.connection().unwrap();
    for t in ["rollup_1m", "rollup_5m", "rollup_1h"] {
        assert!(
            crate::rollup::watermark_of(&c, t).unwrap().is_some(),
            "{t} has a watermark"
        );
    }
    let range = TimeRange {
        since: Timestamp::from_secs(t0),
        until: Timestamp::from_secs(t0 + 3 * 3_600),
    };
    for (text, by) in [
        ("", vec![Dim::Proto]),
        ("proto tcp", vec![Dim::SrcAs, Dim::DstAs]),
        ("not inet6 and in if 1", vec![Dim::OutIf]),
    ] {
        let filter = Filter::parse(text).unwrap();
        let a = s
            .top(&TopQuery {
                range,
                filter: filter.clone(),
                by: by.clone(),
                metric: Metric::Bytes,
                limit: 1_000,
            })
            .unwrap();
        assert_eq!(
            a.table, "rollup_1h",
            "{text}: a 3-hour aligned question goes to the hourly rollup"
        );
        // The same sums computed from the flows themselves.
        let mut want = std::collections::BTreeMap::<Vec<Key>, (u64, u64, u64)>::new();
        for f in flows.iter().filter(|f| {
            f.record.time_received >= range.since && f.record.time_received < range.until && filter.matches(f)
        }) {
            let key: Vec<Key> = by
                .iter()
                .map(|d| {
                    let v = match d {
                        Dim::Proto => f.record.proto.map(u64::from),
                        Dim::SrcAs => f.record.src_as.map(u64::from),
                        Dim::DstAs => f.record.dst_as.map(u64::from),
                        Dim::OutIf => f.record.out_if.map(u64::from),
                        _ => unreachable!(),
                    };
                    v.map_or(Key::None, Key::Int)
                })
                .collect();
            let e = want.entry(key).or_default();
            e.0 += f.record.scaled_bytes().unwrap();
            e.1 += f.record.scaled_packets().unwrap();
            e.2 += 1;
        }
        let got: std::collections::BTreeMap<Vec<Key>, (u64, u64, u64)> = a
            .rows
            .iter()
            .map(|r| (r.keys.clone(), (r.totals.bytes, r.totals.packets, r.totals.flows)))
            .collect();
        assert_eq!(got, want, "{text} by {by:?}");
        assert_eq!(a.other.flows, 0);
    }
    // A range off the hour falls back to finer rollups, and one that is
    // not minute-aligned to raw flows — same answers.
    for (since, table) in [(t0 + 300, "rollup_5m"), (t0 + 60, "rollup_1m"), (t0 + 7, "flows")] {
        let r = TimeRange {
            since: Timestamp::from_secs(since),
            until: Timestamp::from_secs(t0 + 3 * 3_600),
        };
        let a = s
            .top(&TopQuery {
                range: r,
                filter: Filter::all(),
                by: vec![Dim::Proto],
                metric: Metric::Packets,
                limit: 10,
            })
            .unwrap();
        assert_eq!(a.table, table);
        let packets: u64 = flows
            .iter()
            .filter(|f| f.record.time_received >= r.since && f.record.time_received < r.until)
            .map(|f| f.record.scaled_packets().unwrap())
            .sum();
        assert_eq!(a.total.packets, packets, "{table}");
    }
    // Top talkers over the three hours come from the hourly talkers table
    // and are the true top sources.
    let a = s
        .top(&TopQuery {
            range,
            filter: Filter::all(),
            by: vec![Dim::SrcAddr],
            metric: Metric::Bytes,
            limit: 10,
        })
        .unwrap();
    assert_eq!(a.table, "talkers_1h");
    let mut by_src = std::collections::HashMap::<IpAddr, u64>::new();
    for f in flows.iter().filter(|f| f.record.time_received < range.until) {
        *by_src.entry(f.record.src_addr.unwrap()).or_default() += f.record.scaled_bytes().unwrap();
    }
    let mut want: Vec<(IpAddr, u64)> = by_src.into_iter().collect();
    want.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let got: Vec<(IpAddr, u64)> = a
        .rows
        .iter()
        .map(|r| match r.keys[0] {
            Key::Addr(ip) => (ip, r.totals.bytes),
            ref k => panic!("not an address: {k:?}"),
        })
        .collect();
    assert_eq!(got, want[..10].to_vec());
    assert_eq!(a.total.bytes, want.iter().map(|x| x.1).sum::<u64>());
    // Series from the 5-minute rollup add up to the same total.
    let sr = s
        .series(&SeriesQuery {
            range,
            step_secs: 300,
            filter: Filter::all(),
            metric: Metric::Bytes,
            by: None,
            top: 1,
        })
        .unwrap();
    assert_eq!(sr.table, "rollup_1h".replace("1h", "5m"));
    let total: u64 = sr.series[0].1.iter().sum();
    let want: u64 = flows
        .iter()
        .filter(|f| f.record.time_received < range.until)
        .map(|f| f.record.scaled_bytes().unwrap())
        .sum();
    assert_eq!(total, want);
}

// ---- retention ----

#[test]
fn retention_drops_old_raw_flows_and_refuses_ranges_it_cannot_answer_whole() {
    use crate::retention::Retention;
    use flowlens_wire::encode::generate::TrafficGen;
    let s = open("retention");
    let w = Writer::start(&s).unwrap();
    let mut g = TrafficGen::new(2, "192.0.2.1:2055".parse().unwrap(), Protocol::Ipfix, None);
    let t0 = 1_700_000_000 - 1_700_000_000 % 3_600;
    let flows: Vec<Flow> = (0..1_080i64)
        .map(|i| {
            let t = Timestamp::from_secs(t0 + i * 10);
            let mut r = g.flow(t);
            r.time_received = t;
            Flow::new(r)
        })
        .collect();
    w.send(flows.clone()).unwrap();
    w.close();
    let now = Timestamp::from_secs(t0 + 3 * 3_600);
    let keep = Retention {
        raw: Duration::from_secs(3_600),
        ..Retention::default()
    };
    let report = s.retention_once(now, &keep).unwrap();
    let old = flows
        .iter()
        .filter(|f| f.record.time_received < Timestamp::from_secs(t0 + 2 * 3_600))
        .count() as u64;
    assert_eq!(report.deleted[0], ("flows", old));
    assert_eq!(
        report.deleted[1..].iter().map(|(_, n)| n).sum::<u64>(),
        0,
        "rollups keep longer"
    );
    // Whole hours: the hourly rollup still answers for all three.
    let full = TimeRange {
        since: Timestamp::from_secs(t0),
        until: now,
    };
    let top = |range| {
        s.top(&TopQuery {
            range,
            filter: Filter::all(),
            by: vec![Dim::Proto],
            metric: Metric::Bytes,
            limit: 5,
        })
    };
    let a = top(full).unwrap();
    assert_eq!(a.table, "rollup_1h");
    assert_eq!(a.total.flows, flows.len() as u64);
    // Unaligned: only raw flows could answer, and they are gone.
    let ragged = TimeRange {
        since: Timestamp::from_secs(t0 + 7),
        until: now,
    };
    let e = top(ragged).unwrap_err().to_string();
    assert!(e.contains("starts before what flows still holds"), "{e}");
    let search = |since| {
        s.flows(&FlowQuery {
            range: TimeRange { since, until: now },
            filter: Filter::all(),
            order: Order::TimeDesc,
            limit: 10,
            cursor: None,
        })
    };
    assert!(search(Timestamp::from_secs(t0)).is_err());
    assert_eq!(search(Timestamp::from_secs(t0 + 2 * 3_600)).unwrap().flows.len(), 10);
}

// ---- IPs ----

fn tcp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, secs: i64, bytes: u64) -> Flow {
    let mut r = FlowRecord::new(
        Protocol::Ipfix,
        "192.0.2.1:2055".parse().unwrap(),
        Timestamp::from_secs(secs),
    );
    r.ip_version = Some(4);
    r.src_addr = Some(IpAddr::from(src));
    r.dst_addr = Some(IpAddr::from(dst));
    r.src_port = Some(sp);
    r.dst_port = Some(dp);
    r.proto = Some(6);
    r.bytes = Some(bytes);
    r.packets = Some(1);
    Flow::new(r)
}

#[test]
fn the_ip_table_counts_both_directions_and_no_response_finds_the_scanner() {
    use crate::ips::{IpSort, IpsQuery, NoResponseQuery};
    let t = 1_700_000_000;
    let client = [10, 0, 0, 1];
    let server = [10, 0, 0, 2];
    let scanner = [203, 0, 113, 66];
    let mut flows = vec![
        tcp(client, server, 50_000, 443, t, 100),
        tcp(server, client, 443, 50_000, t + 1, 5_000),
        tcp(client, [10, 0, 0, 3], 50_001, 22, t + 2, 300),
        tcp([10, 0, 0, 3], client, 22, 50_001, t + 3, 400),
    ];
    // The scanner tries 20 ports on the server; nothing comes back.
    for p in 0..20 {
        flows.push(tcp(scanner, server, 40_000, 1_000 + p, t + 4, 40));
    }
    let s = store_with("ips", &flows);
    let range = TimeRange {
        since: Timestamp::from_secs(t),
        until: Timestamp::from_secs(t + 60),
    };
    let a = s
        .ips(&IpsQuery {
            range,
            filter: Filter::all(),
            sort: IpSort::Bytes,
            descending: true,
            limit: 2,
            offset: 0,
        })
        .unwrap();
    assert_eq!(a.total, 4);
    assert_eq!(a.rows.len(), 2);
    let c = a
        .rows
        .iter()
        .find(|r| r.addr == IpAddr::from(client))
        .expect("client is a top-2 talker");
    assert_eq!((c.bytes_out, c.bytes_in), (400, 5_400));
    assert_eq!((c.flows_out, c.flows_in), (2, 2));
    assert_eq!(c.peers, 2);
    assert_eq!(c.first_seen, Timestamp::from_secs(t));
    assert_eq!(c.last_seen, Timestamp::from_secs(t + 3));

    let bad = s
        .no_response(&NoResponseQuery {
            range,
            filter: Filter::all(),
            min_attempts: 5,
            limit: 10,
        })
        .unwrap();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0].addr, IpAddr::from(scanner));
    assert_eq!((bad[0].attempts, bad[0].targets, bad[0].ports), (20, 1, 20));
    assert!(IpSort::parse("colour")
        .unwrap_err()
        .to_string()
        .contains("cannot sort IPs by"));
}
