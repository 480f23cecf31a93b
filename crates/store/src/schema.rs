//! The `flows` table: one column per `FlowRecord` field (plus enrichment),
//! declared once here and used for the DDL, the Arrow batches the writer
//! appends, and the reader that turns rows back into flows.
//!
//! Representation choices:
//! - times are `TIMESTAMP` (µs, UTC);
//! - an address is two `UBIGINT` columns `<name>_hi`/`<name>_lo` holding
//!   the 128-bit IPv6 form (IPv4 as `::ffff:a.b.c.d`): a network is a range
//!   on one of them, and IPv4's constant high half costs nothing on disk;
//! - `bytes`, `packets` and the reverse counters are stored already
//!   multiplied by `sampling_rate` (the effective rate, 1 when unsampled),
//!   which is kept in its own column;
//! - enumerations (`protocol`, `direction`, `sampling_source`) are small
//!   integers with the codes below.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use duckdb::arrow::array::{
    ArrayRef, StringBuilder, TimestampMicrosecondArray, UInt16Array, UInt32Array, UInt64Array, UInt8Array,
};
use duckdb::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use duckdb::arrow::record_batch::RecordBatch;
use flowlens_wire::{Direction, FlowRecord, MacAddr, Protocol, SamplingSource, Timestamp};

use crate::flow::{addr_from_key, addr_key, Flow};

/// Column value kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Time,
    U8,
    U16,
    U32,
    U64,
    Text,
}

impl Kind {
    pub fn sql(self) -> &'static str {
        match self {
            Kind::Time => "TIMESTAMP",
            Kind::U8 => "UTINYINT",
            Kind::U16 => "USMALLINT",
            Kind::U32 => "UINTEGER",
            Kind::U64 => "UBIGINT",
            Kind::Text => "VARCHAR",
        }
    }

    fn arrow(self) -> DataType {
        match self {
            Kind::Time => DataType::Timestamp(TimeUnit::Microsecond, None),
            Kind::U8 => DataType::UInt8,
            Kind::U16 => DataType::UInt16,
            Kind::U32 => DataType::UInt32,
            Kind::U64 => DataType::UInt64,
            Kind::Text => DataType::Utf8,
        }
    }
}

/// How a column's value is taken from a flow: one typed function per
/// column, so building a batch is a tight loop per column with no boxed
/// value per cell.
#[derive(Clone, Copy)]
enum Get {
    Time(fn(&Flow) -> Option<i64>),
    U8(fn(&Flow) -> Option<u8>),
    U16(fn(&Flow) -> Option<u16>),
    U32(fn(&Flow) -> Option<u32>),
    U64(fn(&Flow) -> Option<u64>),
    Text(fn(&Flow) -> Option<[u8; 2]>),
    Str(for<'a> fn(&'a Flow) -> Option<&'a str>),
}

pub struct Column {
    pub name: &'static str,
    get: Get,
}

impl Column {
    pub fn kind(&self) -> Kind {
        match self.get {
            Get::Time(_) => Kind::Time,
            Get::U8(_) => Kind::U8,
            Get::U16(_) => Kind::U16,
            Get::U32(_) => Kind::U32,
            Get::U64(_) => Kind::U64,
            Get::Text(_) | Get::Str(_) => Kind::Text,
        }
    }
}

const fn col(name: &'static str, get: Get) -> Column {
    Column { name, get }
}

fn micros(t: Timestamp) -> i64 {
    t.as_nanos() / 1_000
}

fn hi(a: Option<IpAddr>) -> Option<u64> {
    a.map(|a| (addr_key(a) >> 64) as u64)
}

fn lo(a: Option<IpAddr>) -> Option<u64> {
    a.map(|a| addr_key(a) as u64)
}

/// Stable codes of [`Protocol`] in the `protocol` column.
pub fn protocol_code(p: Protocol) -> u8 {
    match p {
        Protocol::Netflow1 => 1,
        Protocol::Netflow5 => 5,
        Protocol::Netflow7 => 7,
        Protocol::Netflow9 => 9,
        Protocol::Ipfix => 10,
        Protocol::Sflow5 => 105,
        Protocol::Json => 200,
    }
}

pub fn protocol_from_code(c: u8) -> Option<Protocol> {
    Some(match c {
        1 => Protocol::Netflow1,
        5 => Protocol::Netflow5,
        7 => Protocol::Netflow7,
        9 => Protocol::Netflow9,
        10 => Protocol::Ipfix,
        105 => Protocol::Sflow5,
        200 => Protocol::Json,
        _ => return None,
    })
}

fn sampling_code(s: SamplingSource) -> u8 {
    match s {
        SamplingSource::Header => 1,
        SamplingSource::Record => 2,
        SamplingSource::Options => 3,
        SamplingSource::Config => 4,
    }
}

fn sampling_from_code(c: u64) -> Option<SamplingSource> {
    Some(match c {
        1 => SamplingSource::Header,
        2 => SamplingSource::Record,
        3 => SamplingSource::Options,
        4 => SamplingSource::Config,
        _ => return None,
    })
}

/// Every column of `flows`, in table order.
pub static COLUMNS: &[Column] = &[
    col("time_received", Get::Time(|f| Some(micros(f.record.time_received)))),
    col("time_start", Get::Time(|f| f.record.time_start.map(micros))),
    col("time_end", Get::Time(|f| f.record.time_end.map(micros))),
    col("exporter_hi", Get::U64(|f| hi(Some(f.record.exporter.ip())))),
    col("exporter_lo", Get::U64(|f| lo(Some(f.record.exporter.ip())))),
    col("exporter_port", Get::U16(|f| Some(f.record.exporter.port()))),
    col("protocol", Get::U8(|f| Some(protocol_code(f.record.protocol)))),
    col("agent_hi", Get::U64(|f| hi(f.record.agent))),
    col("agent_lo", Get::U64(|f| lo(f.record.agent))),
    col("observation_domain", Get::U32(|f| Some(f.record.observation_domain))),
    col("sequence", Get::U32(|f| f.record.sequence)),
    col(
        "sampling_rate",
        Get::U32(|f| Some(f.record.effective_sampling_rate().min(u64::from(u32::MAX)) as u32)),
    ),
    col(
        "sampling_source",
        Get::U8(|f| f.record.sampling_source.map(sampling_code)),
    ),
    col("sampler_id", Get::U64(|f| f.record.sampler_id)),
    col("in_if", Get::U32(|f| f.record.in_if)),
    col("out_if", Get::U32(|f| f.record.out_if)),
    col("ip_version", Get::U8(|f| f.record.ip_version)),
    col("src_addr_hi", Get::U64(|f| hi(f.record.src_addr))),
    col("src_addr_lo", Get::U64(|f| lo(f.record.src_addr))),
    col("dst_addr_hi", Get::U64(|f| hi(f.record.dst_addr))),
    col("dst_addr_lo", Get::U64(|f| lo(f.record.dst_addr))),
    col("src_port", Get::U16(|f| f.record.src_port)),
    col("dst_port", Get::U16(|f| f.record.dst_port)),
    col("proto", Get::U8(|f| f.record.proto)),
    col("tcp_flags", Get::U16(|f| f.record.tcp_flags)),
    col("tos", Get::U8(|f| f.record.tos)),
    col("ttl", Get::U8(|f| f.record.ttl)),
    col("flow_label", Get::U32(|f| f.record.flow_label)),
    col("bytes", Get::U64(|f| f.record.scaled_bytes())),
    col("packets", Get::U64(|f| f.record.scaled_packets())),
    col("flows", Get::U64(|f| f.record.flows)),
    col(
        "reverse_bytes",
        Get::U64(|f| {
            f.record
                .reverse_bytes
                .map(|b| b.saturating_mul(f.record.effective_sampling_rate()))
        }),
    ),
    col(
        "reverse_packets",
        Get::U64(|f| {
            f.record
                .reverse_packets
                .map(|p| p.saturating_mul(f.record.effective_sampling_rate()))
        }),
    ),
    col("src_as", Get::U32(|f| f.record.src_as)),
    col("dst_as", Get::U32(|f| f.record.dst_as)),
    col("src_mask", Get::U8(|f| f.record.src_mask)),
    col("dst_mask", Get::U8(|f| f.record.dst_mask)),
    col("next_hop_hi", Get::U64(|f| hi(f.record.next_hop))),
    col("next_hop_lo", Get::U64(|f| lo(f.record.next_hop))),
    col("bgp_next_hop_hi", Get::U64(|f| hi(f.record.bgp_next_hop))),
    col("bgp_next_hop_lo", Get::U64(|f| lo(f.record.bgp_next_hop))),
    col("src_vlan", Get::U16(|f| f.record.src_vlan)),
    col("dst_vlan", Get::U16(|f| f.record.dst_vlan)),
    col("src_mac", Get::U64(|f| f.record.src_mac.map(MacAddr::to_u64))),
    col("dst_mac", Get::U64(|f| f.record.dst_mac.map(MacAddr::to_u64))),
    col("mpls_label", Get::U32(|f| f.record.mpls_label)),
    col("icmp_type", Get::U8(|f| f.record.icmp_type)),
    col("icmp_code", Get::U8(|f| f.record.icmp_code)),
    col(
        "direction",
        Get::U8(|f| {
            f.record.direction.map(|d| match d {
                Direction::Ingress => 0u8,
                Direction::Egress => 1,
            })
        }),
    ),
    col("forwarding_status", Get::U8(|f| f.record.forwarding_status)),
    col("end_reason", Get::U8(|f| f.record.end_reason)),
    col("nat_src_addr_hi", Get::U64(|f| hi(f.record.nat_src_addr))),
    col("nat_src_addr_lo", Get::U64(|f| lo(f.record.nat_src_addr))),
    col("nat_dst_addr_hi", Get::U64(|f| hi(f.record.nat_dst_addr))),
    col("nat_dst_addr_lo", Get::U64(|f| lo(f.record.nat_dst_addr))),
    col("nat_src_port", Get::U16(|f| f.record.nat_src_port)),
    col("nat_dst_port", Get::U16(|f| f.record.nat_dst_port)),
    col("src_country", Get::Text(|f| f.src_country)),
    col("dst_country", Get::Text(|f| f.dst_country)),
    // Classification (added after the first release: appended, so older
    // data directories gain them with ALTER TABLE, see `migrations`).
    col("src_net", Get::Str(|f| f.src_class.as_ref()?.name.as_deref())),
    col("dst_net", Get::Str(|f| f.dst_class.as_ref()?.name.as_deref())),
    col("src_env", Get::Str(|f| f.src_class.as_ref()?.env.as_deref())),
    col("dst_env", Get::Str(|f| f.dst_class.as_ref()?.env.as_deref())),
    col("src_dc", Get::Str(|f| f.src_class.as_ref()?.datacenter.as_deref())),
    col("dst_dc", Get::Str(|f| f.dst_class.as_ref()?.datacenter.as_deref())),
    col("src_location", Get::Str(|f| f.src_class.as_ref()?.location.as_deref())),
    col("dst_location", Get::Str(|f| f.dst_class.as_ref()?.location.as_deref())),
    col(
        "src_internal",
        Get::U8(|f| f.src_class.as_ref()?.internal.map(u8::from)),
    ),
    col(
        "dst_internal",
        Get::U8(|f| f.dst_class.as_ref()?.internal.map(u8::from)),
    ),
];

/// Columns added since the table was first created, in order: a data
/// directory from an older version gets them (NULL for its old rows).
pub fn migrations() -> String {
    let first_added = COLUMNS
        .iter()
        .position(|c| c.name == "src_net")
        .expect("classification columns listed");
    COLUMNS[first_added..]
        .iter()
        .map(|c| {
            format!(
                "ALTER TABLE flows ADD COLUMN IF NOT EXISTS {} {};\n",
                c.name,
                c.kind().sql()
            )
        })
        .collect()
}

/// `CREATE TABLE` for the raw flows table.
pub fn flows_ddl() -> String {
    let cols: Vec<String> = COLUMNS
        .iter()
        .map(|c| format!("  {} {}", c.name, c.kind().sql()))
        .collect();
    format!("CREATE TABLE IF NOT EXISTS flows (\n{}\n)", cols.join(",\n"))
}

/// The column list for `SELECT`, in table order.
pub fn select_list() -> String {
    COLUMNS.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

/// Flows as one Arrow batch in table column order, built column by column.
pub fn record_batch(flows: &[Flow]) -> RecordBatch {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .map(|c| Field::new(c.name, c.kind().arrow(), true))
        .collect();
    let arrays: Vec<ArrayRef> = COLUMNS
        .iter()
        .map(|c| match c.get {
            Get::Time(g) => Arc::new(flows.iter().map(g).collect::<TimestampMicrosecondArray>()) as ArrayRef,
            Get::U8(g) => Arc::new(flows.iter().map(g).collect::<UInt8Array>()),
            Get::U16(g) => Arc::new(flows.iter().map(g).collect::<UInt16Array>()),
            Get::U32(g) => Arc::new(flows.iter().map(g).collect::<UInt32Array>()),
            Get::U64(g) => Arc::new(flows.iter().map(g).collect::<UInt64Array>()),
            Get::Text(g) => {
                let mut b = StringBuilder::with_capacity(flows.len(), flows.len() * 2);
                for f in flows {
                    // Country codes are two ASCII letters (the enrichment
                    // checks); anything else is stored as NULL.
                    match g(f).as_ref().and_then(|c| std::str::from_utf8(c).ok()) {
                        Some(v) => b.append_value(v),
                        None => b.append_null(),
                    }
                }
                Arc::new(b.finish())
            }
            Get::Str(g) => {
                let mut b = StringBuilder::with_capacity(flows.len(), 0);
                for f in flows {
                    b.append_option(g(f));
                }
                Arc::new(b.finish())
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("columns match the schema")
}

/// Rebuilds a flow from one row read with [`select_list`]. Counters come
/// back as stored (sampling-corrected), with `sampling_rate` beside them.
pub fn flow_from_row(row: &duckdb::Row<'_>) -> duckdb::Result<Flow> {
    let get_u = |i: usize| -> duckdb::Result<Option<u64>> { row.get::<_, Option<u64>>(i) };
    let mut idx = std::collections::HashMap::new();
    for (i, c) in COLUMNS.iter().enumerate() {
        idx.insert(c.name, i);
    }
    let u = |name: &str| get_u(idx[name]);
    let t = |name: &str| -> duckdb::Result<Option<Timestamp>> {
        Ok(row
            .get::<_, Option<duckdb::types::Value>>(idx[name])?
            .and_then(|v| match v {
                duckdb::types::Value::Timestamp(_, us) => Some(Timestamp::from_micros(us)),
                _ => None,
            }))
    };
    let addr = |name: &str| -> duckdb::Result<Option<IpAddr>> {
        let h = u(&format!("{name}_hi"))?;
        let l = u(&format!("{name}_lo"))?;
        Ok(h.zip(l)
            .map(|(h, l)| addr_from_key((u128::from(h) << 64) | u128::from(l))))
    };
    let exporter_ip = addr("exporter")?.unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let protocol = u("protocol")?
        .and_then(|c| protocol_from_code(c as u8))
        .unwrap_or(Protocol::Ipfix);
    let received = t("time_received")?.unwrap_or_default();
    let mut r = FlowRecord::new(
        protocol,
        SocketAddr::new(exporter_ip, u("exporter_port")?.unwrap_or(0) as u16),
        received,
    );
    r.time_start = t("time_start")?;
    r.time_end = t("time_end")?;
    r.agent = addr("agent")?;
    r.observation_domain = u("observation_domain")?.unwrap_or(0) as u32;
    r.sequence = u("sequence")?.map(|v| v as u32);
    r.sampling_rate = u("sampling_rate")?.map(|v| v as u32);
    r.sampling_source = u("sampling_source")?.and_then(sampling_from_code);
    r.sampler_id = u("sampler_id")?;
    r.in_if = u("in_if")?.map(|v| v as u32);
    r.out_if = u("out_if")?.map(|v| v as u32);
    r.ip_version = u("ip_version")?.map(|v| v as u8);
    r.src_addr = addr("src_addr")?;
    r.dst_addr = addr("dst_addr")?;
    r.src_port = u("src_port")?.map(|v| v as u16);
    r.dst_port = u("dst_port")?.map(|v| v as u16);
    r.proto = u("proto")?.map(|v| v as u8);
    r.tcp_flags = u("tcp_flags")?.map(|v| v as u16);
    r.tos = u("tos")?.map(|v| v as u8);
    r.ttl = u("ttl")?.map(|v| v as u8);
    r.flow_label = u("flow_label")?.map(|v| v as u32);
    r.bytes = u("bytes")?;
    r.packets = u("packets")?;
    r.flows = u("flows")?;
    r.reverse_bytes = u("reverse_bytes")?;
    r.reverse_packets = u("reverse_packets")?;
    r.src_as = u("src_as")?.map(|v| v as u32);
    r.dst_as = u("dst_as")?.map(|v| v as u32);
    r.src_mask = u("src_mask")?.map(|v| v as u8);
    r.dst_mask = u("dst_mask")?.map(|v| v as u8);
    r.next_hop = addr("next_hop")?;
    r.bgp_next_hop = addr("bgp_next_hop")?;
    r.src_vlan = u("src_vlan")?.map(|v| v as u16);
    r.dst_vlan = u("dst_vlan")?.map(|v| v as u16);
    let mac = |v: Option<u64>| v.map(|m| MacAddr(m.to_be_bytes()[2..].try_into().expect("six bytes")));
    r.src_mac = mac(u("src_mac")?);
    r.dst_mac = mac(u("dst_mac")?);
    r.mpls_label = u("mpls_label")?.map(|v| v as u32);
    r.icmp_type = u("icmp_type")?.map(|v| v as u8);
    r.icmp_code = u("icmp_code")?.map(|v| v as u8);
    r.direction = u("direction")?.map(|v| if v == 0 { Direction::Ingress } else { Direction::Egress });
    r.forwarding_status = u("forwarding_status")?.map(|v| v as u8);
    r.end_reason = u("end_reason")?.map(|v| v as u8);
    r.nat_src_addr = addr("nat_src_addr")?;
    r.nat_dst_addr = addr("nat_dst_addr")?;
    r.nat_src_port = u("nat_src_port")?.map(|v| v as u16);
    r.nat_dst_port = u("nat_dst_port")?.map(|v| v as u16);
    let country = |name: &str| -> duckdb::Result<Option<[u8; 2]>> {
        Ok(row
            .get::<_, Option<String>>(idx[name])?
            .and_then(|s| s.as_bytes().try_into().ok()))
    };
    let class = |side: &str| -> duckdb::Result<Option<std::sync::Arc<crate::flow::Class>>> {
        let text = |name: &str| row.get::<_, Option<String>>(idx[format!("{side}_{name}").as_str()]);
        let c = crate::flow::Class {
            name: text("net")?,
            env: text("env")?,
            datacenter: text("dc")?,
            location: text("location")?,
            internal: u(&format!("{side}_internal"))?.map(|v| v != 0),
        };
        Ok((!c.is_empty()).then(|| std::sync::Arc::new(c)))
    };
    Ok(Flow {
        src_country: country("src_country")?,
        dst_country: country("dst_country")?,
        src_class: class("src")?,
        dst_class: class("dst")?,
        record: r,
    })
}
