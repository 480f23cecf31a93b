//! The query engine: top-N with other and total, flow search pages, series,
//! and clear errors for bad questions.

use super::*;

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
