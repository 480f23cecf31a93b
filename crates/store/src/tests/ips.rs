//! The IP table and no-response sources.

use super::*;

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
