//! Rollup and talkers answers equal the same questions over raw flows.

use super::*;

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
