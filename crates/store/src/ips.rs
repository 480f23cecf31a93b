//! Questions about addresses: the IPs seen with their traffic in and out
//! (sortable, paginated), and sources whose attempts go unanswered
//! (seed 000's "bad IPs": scanners, dead services, misconfigured clients).

use std::net::IpAddr;

use duckdb::types::Value;
use flowlens_wire::Timestamp;

use crate::filter::sql::DuckDb;
use crate::flow::addr_from_key;
use crate::limits::{MAX_QUERY_LIMIT, MAX_QUERY_OFFSET};
use crate::query::{bind, ts, TimeRange};
use crate::{Filter, Store, StoreError};

/// How to sort the IP table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpSort {
    Bytes,
    BytesIn,
    BytesOut,
    Packets,
    Flows,
    Peers,
    FirstSeen,
    LastSeen,
    Addr,
}

pub const IP_SORTS: &[(&str, IpSort, &str)] = &[
    ("bytes", IpSort::Bytes, "bytes_in + bytes_out"),
    ("bytes_in", IpSort::BytesIn, "bytes_in"),
    ("bytes_out", IpSort::BytesOut, "bytes_out"),
    ("packets", IpSort::Packets, "packets_in + packets_out"),
    ("flows", IpSort::Flows, "flows_in + flows_out"),
    ("peers", IpSort::Peers, "peers"),
    ("first_seen", IpSort::FirstSeen, "first_us"),
    ("last_seen", IpSort::LastSeen, "last_us"),
    ("addr", IpSort::Addr, "h, l"),
];

impl IpSort {
    pub fn parse(s: &str) -> Result<IpSort, StoreError> {
        IP_SORTS
            .iter()
            .find(|(n, _, _)| *n == s)
            .map(|(_, v, _)| *v)
            .ok_or_else(|| {
                let names: Vec<&str> = IP_SORTS.iter().map(|(n, _, _)| *n).collect();
                StoreError::Query(format!("cannot sort IPs by \"{s}\": use one of {}", names.join(", ")))
            })
    }

    fn sql(self) -> &'static str {
        IP_SORTS
            .iter()
            .find(|(_, v, _)| *v == self)
            .map(|(_, _, s)| *s)
            .expect("listed")
    }
}

#[derive(Debug, Clone)]
pub struct IpsQuery {
    pub range: TimeRange,
    pub filter: Filter,
    pub sort: IpSort,
    pub descending: bool,
    pub limit: usize,
    pub offset: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpRow {
    pub addr: IpAddr,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub packets_in: u64,
    pub packets_out: u64,
    pub flows_in: u64,
    pub flows_out: u64,
    /// Distinct addresses it exchanged traffic with.
    pub peers: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpsAnswer {
    pub rows: Vec<IpRow>,
    /// Distinct IPs matching, for pagination.
    pub total: u64,
    pub table: &'static str,
}

/// A source whose attempts got no reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoResponseRow {
    pub addr: IpAddr,
    /// Flows from it with no flow back (same addresses and ports, swapped)
    /// and no reverse counters.
    pub attempts: u64,
    /// Distinct destinations and destination ports tried.
    pub targets: u64,
    pub ports: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NoResponseQuery {
    pub range: TimeRange,
    pub filter: Filter,
    /// Only sources with at least this many unanswered attempts.
    pub min_attempts: u64,
    pub limit: usize,
}

/// `WHERE` over raw flows for a range and filter, and its parameters.
fn raw_condition(range: &TimeRange, filter: &Filter) -> (String, Vec<Value>) {
    let c = filter.to_sql(&DuckDb);
    let mut p = vec![ts(range.since), ts(range.until)];
    p.extend(bind(&c.params));
    (format!("time_received >= ? AND time_received < ? AND {}", c.sql), p)
}

fn addr(h: u64, l: u64) -> IpAddr {
    addr_from_key((u128::from(h) << 64) | u128::from(l))
}

impl Store {
    /// Every IP seen (as source or destination) with its traffic.
    pub fn ips(&self, q: &IpsQuery) -> Result<IpsAnswer, StoreError> {
        if q.range.until <= q.range.since {
            return Err(StoreError::Query("the time range ends before it starts".into()));
        }
        if q.limit == 0 || q.limit > MAX_QUERY_LIMIT || q.offset > MAX_QUERY_OFFSET {
            return Err(StoreError::Query(format!(
                "limit must be 1 to {MAX_QUERY_LIMIT} and offset at most {MAX_QUERY_OFFSET}"
            )));
        }
        let (cond, p) = raw_condition(&q.range, &q.filter);
        let mut params = p.clone();
        params.extend(p);
        // Each flow counts out for its source and in for its destination.
        let per_ip = format!(
            "SELECT src_addr_hi AS h, src_addr_lo AS l, 0 AS bi, bytes AS bo, 0 AS pi, packets AS po, 0 AS fi, 1 AS fo, \
                    dst_addr_hi AS ph, dst_addr_lo AS pl, epoch_us(time_received) AS t \
             FROM flows WHERE {cond} AND src_addr_hi IS NOT NULL \
             UNION ALL \
             SELECT dst_addr_hi, dst_addr_lo, bytes, 0, packets, 0, 1, 0, src_addr_hi, src_addr_lo, epoch_us(time_received) \
             FROM flows WHERE {cond} AND dst_addr_hi IS NOT NULL"
        );
        let grouped = format!(
            "SELECT h, l, coalesce(sum(bi), 0)::UBIGINT AS bytes_in, coalesce(sum(bo), 0)::UBIGINT AS bytes_out, \
                    coalesce(sum(pi), 0)::UBIGINT AS packets_in, coalesce(sum(po), 0)::UBIGINT AS packets_out, \
                    sum(fi)::UBIGINT AS flows_in, sum(fo)::UBIGINT AS flows_out, \
                    count(DISTINCT (ph::UHUGEINT << 64) | pl::UHUGEINT)::UBIGINT AS peers, \
                    min(t) AS first_us, max(t) AS last_us \
             FROM ({per_ip}) GROUP BY h, l"
        );
        let dir = if q.descending { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT *, count(*) OVER ()::UBIGINT FROM ({grouped}) ORDER BY {} {dir}, h, l LIMIT {} OFFSET {}",
            q.sort.sql(),
            q.limit,
            q.offset
        );
        let c = self.connection()?;
        let mut st = c.prepare(&sql)?;
        let mut total = 0;
        let rows = st.query_map(duckdb::params_from_iter(params.iter()), |r| {
            Ok((
                IpRow {
                    addr: addr(r.get(0)?, r.get(1)?),
                    bytes_in: r.get(2)?,
                    bytes_out: r.get(3)?,
                    packets_in: r.get(4)?,
                    packets_out: r.get(5)?,
                    flows_in: r.get(6)?,
                    flows_out: r.get(7)?,
                    peers: r.get(8)?,
                    first_seen: Timestamp::from_micros(r.get(9)?),
                    last_seen: Timestamp::from_micros(r.get(10)?),
                },
                r.get::<_, u64>(11)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (row, n) = row?;
            total = n;
            out.push(row);
        }
        Ok(IpsAnswer {
            rows: out,
            total,
            table: "flows",
        })
    }

    /// Sources with at least `min_attempts` flows that got nothing back.
    pub fn no_response(&self, q: &NoResponseQuery) -> Result<Vec<NoResponseRow>, StoreError> {
        if q.range.until <= q.range.since {
            return Err(StoreError::Query("the time range ends before it starts".into()));
        }
        if q.limit == 0 || q.limit > MAX_QUERY_LIMIT {
            return Err(StoreError::Query(format!("limit must be 1 to {MAX_QUERY_LIMIT}")));
        }
        let (cond, params) = raw_condition(&q.range, &q.filter);
        // The window's flows once; an attempt is unanswered when no flow in
        // the window goes back between the same addresses and ports.
        let sql = format!(
            "WITH f AS (SELECT src_addr_hi, src_addr_lo, dst_addr_hi, dst_addr_lo, src_port, dst_port, \
                               reverse_packets, epoch_us(time_received) AS t \
                        FROM flows WHERE {cond} AND src_addr_hi IS NOT NULL AND dst_addr_hi IS NOT NULL), \
                  u AS (SELECT a.* FROM f a WHERE coalesce(a.reverse_packets, 0) = 0 AND NOT EXISTS ( \
                        SELECT 1 FROM f b WHERE b.src_addr_hi = a.dst_addr_hi AND b.src_addr_lo = a.dst_addr_lo \
                          AND b.dst_addr_hi = a.src_addr_hi AND b.dst_addr_lo = a.src_addr_lo \
                          AND b.src_port IS NOT DISTINCT FROM a.dst_port AND b.dst_port IS NOT DISTINCT FROM a.src_port)) \
             SELECT src_addr_hi, src_addr_lo, count(*)::UBIGINT, \
                    count(DISTINCT (dst_addr_hi::UHUGEINT << 64) | dst_addr_lo::UHUGEINT)::UBIGINT, \
                    count(DISTINCT dst_port)::UBIGINT, min(t), max(t) \
             FROM u GROUP BY 1, 2 HAVING count(*) >= {} ORDER BY 3 DESC, 1, 2 LIMIT {}",
            q.min_attempts.max(1),
            q.limit
        );
        let c = self.connection()?;
        let mut st = c.prepare(&sql)?;
        let rows = st.query_map(duckdb::params_from_iter(params.iter()), |r| {
            Ok(NoResponseRow {
                addr: addr(r.get(0)?, r.get(1)?),
                attempts: r.get(2)?,
                targets: r.get(3)?,
                ports: r.get(4)?,
                first_seen: Timestamp::from_micros(r.get(5)?),
                last_seen: Timestamp::from_micros(r.get(6)?),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Everything the per-IP page shows, in one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct IpSummary {
    pub addr: IpAddr,
    /// Bytes per step it sent (`out`) and received (`in`).
    pub series_out: crate::query::SeriesAnswer,
    pub series_in: crate::query::SeriesAnswer,
    /// Top peers by bytes, both directions together.
    pub peers: Vec<(IpAddr, crate::query::Totals)>,
    /// Top protocols and (service) ports of its traffic.
    pub protocols: crate::query::TopAnswer,
    pub ports: crate::query::TopAnswer,
    /// Countries of its peers (from enrichment).
    pub countries: crate::query::TopAnswer,
}

impl Store {
    /// Series, peers, protocols, ports and countries for one address.
    pub fn ip_summary(
        &self,
        range: TimeRange,
        ip: IpAddr,
        filter: &Filter,
        step_secs: u64,
        top: usize,
    ) -> Result<IpSummary, StoreError> {
        use crate::filter::ast::{Expr, Pred, Prefix, Side};
        use crate::query::{Dim, Metric, SeriesQuery, TopQuery};
        let host = Prefix {
            addr: ip,
            len: if ip.is_ipv4() { 32 } else { 128 },
        };
        let with = |side: Side| {
            filter.clone().and(Filter {
                expr: Expr::Pred(Pred::Addr(side, host)),
                text: format!("{side}host {ip}"),
            })
        };
        let series = |side: Side| {
            self.series(&SeriesQuery {
                range,
                step_secs,
                filter: with(side),
                metric: Metric::Bytes,
                by: None,
                top: 1,
            })
        };
        let top_by = |side: Side, by: Dim| {
            self.top(&TopQuery {
                range,
                filter: with(side),
                by: vec![by],
                metric: Metric::Bytes,
                limit: top,
            })
        };
        let peers = self.ip_peers(range, ip, filter, top)?;
        Ok(IpSummary {
            addr: ip,
            series_out: series(Side::Src)?,
            series_in: series(Side::Dst)?,
            peers,
            protocols: top_by(Side::Any, Dim::Proto)?,
            ports: top_by(Side::Any, Dim::DstPort)?,
            countries: top_by(Side::Src, Dim::DstCountry)?,
        })
    }

    /// The addresses `ip` exchanged traffic with, both directions merged,
    /// the `top` largest by bytes.
    pub fn ip_peers(
        &self,
        range: TimeRange,
        ip: IpAddr,
        filter: &Filter,
        top: usize,
    ) -> Result<Vec<(IpAddr, crate::query::Totals)>, StoreError> {
        use crate::filter::ast::{Expr, Pred, Prefix, Side};
        use crate::query::{Dim, Key, Metric, TopQuery, Totals};
        let host = Prefix {
            addr: ip,
            len: if ip.is_ipv4() { 32 } else { 128 },
        };
        let mut peers: Vec<(IpAddr, Totals)> = Vec::new();
        for (side, dim) in [(Side::Src, Dim::DstAddr), (Side::Dst, Dim::SrcAddr)] {
            let f = Filter {
                expr: Expr::Pred(Pred::Addr(side, host)),
                text: format!("{side}host {ip}"),
            };
            let a = self.top(&TopQuery {
                range,
                filter: filter.clone().and(f),
                by: vec![dim],
                metric: Metric::Bytes,
                limit: top,
            })?;
            for row in a.rows {
                if let Some(Key::Addr(a)) = row.keys.first() {
                    match peers.iter_mut().find(|(p, _)| p == a) {
                        Some((_, t)) => {
                            t.bytes += row.totals.bytes;
                            t.packets += row.totals.packets;
                            t.flows += row.totals.flows;
                        }
                        None => peers.push((*a, row.totals)),
                    }
                }
            }
        }
        peers.sort_by(|a, b| b.1.bytes.cmp(&a.1.bytes).then(a.0.cmp(&b.0)));
        peers.truncate(top);
        Ok(peers)
    }
}
