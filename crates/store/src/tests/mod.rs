//! Store tests. Here: the helpers, and what goes in comes out (every
//! field, counters scaled; the writer's flush interval). By seam:
//! `differential` (filter back ends agree), `crash` (kill -9), `query`,
//! `rollups`, `retention`, `ips`.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use flowlens_wire::{Direction, FlowRecord, MacAddr, Protocol, Timestamp};
use proptest::prelude::*;

use crate::filter::ast::{ClassAttr, Cmp, Expr, IfSide, Num, Pred, Prefix, Side};
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
    f.src_class = Some(std::sync::Arc::new(crate::Class {
        name: Some("dc-fra".into()),
        env: Some("prod".into()),
        datacenter: Some("fra1".into()),
        location: Some("Frankfurt".into()),
        internal: Some(true),
    }));
    f.dst_class = Some(std::sync::Arc::new(crate::Class {
        internal: Some(false),
        ..crate::Class::default()
    }));
    f
}

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

mod crash;
mod differential;
mod ips;
mod query;
mod retention;
mod rollups;

#[test]
fn a_data_directory_from_before_classification_gains_its_columns() {
    let dir = temp_dir("migration");
    std::fs::create_dir_all(&dir).unwrap();
    // The flows table as the first release created it: up to the countries.
    {
        let c = duckdb::Connection::open(dir.join(crate::store::FLOWS_FILE)).unwrap();
        let first_added = schema::COLUMNS.iter().position(|c| c.name == "src_net").unwrap();
        let cols: Vec<String> = schema::COLUMNS[..first_added]
            .iter()
            .map(|c| format!("{} {}", c.name, c.kind().sql()))
            .collect();
        c.execute_batch(&format!("CREATE TABLE flows ({})", cols.join(", ")))
            .unwrap();
        c.execute_batch("INSERT INTO flows (time_received, sequence) VALUES (TIMESTAMP '2023-11-14 22:13:20', 7)")
            .unwrap();
    }
    let s = Store::open(StoreConfig {
        data_dir: dir.clone(),
        flush_interval: Duration::from_millis(50),
    })
    .unwrap();
    let f = full_flow(8);
    {
        let c = s.connection().unwrap();
        let mut app = c.appender("flows").unwrap();
        app.append_record_batch(schema::record_batch(std::slice::from_ref(&f)))
            .unwrap();
        app.flush().unwrap();
    }
    let filter = Filter::parse("src env prod").unwrap();
    assert_eq!(query_sequences(&s, &filter), BTreeSet::from([8]));
    let old = Filter::parse("not src env prod").unwrap();
    assert_eq!(
        query_sequences(&s, &old),
        BTreeSet::from([7]),
        "old rows: NULL, so not prod"
    );
}
