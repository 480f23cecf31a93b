//! Retention per table and the disk budget; ranges it cannot answer whole
//! are refused.

use super::*;

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
