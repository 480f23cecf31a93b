//! What a question adds up (metrics) and groups by (dimensions), and one
//! value of a dimension.

use std::fmt;
use std::net::IpAddr;

use crate::flow::addr_from_key;
use crate::StoreError;

/// What to add up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Bytes,
    Packets,
    Flows,
}

impl Metric {
    pub fn parse(s: &str) -> Result<Metric, StoreError> {
        match s {
            "bytes" => Ok(Metric::Bytes),
            "packets" => Ok(Metric::Packets),
            "flows" => Ok(Metric::Flows),
            _ => Err(StoreError::Query(format!(
                "unknown metric \"{s}\": use bytes, packets or flows"
            ))),
        }
    }

    /// The aggregate over a [`Source`] subquery (`n` counts flows).
    pub(super) fn sql(self) -> &'static str {
        match self {
            Metric::Bytes => "sum(bytes)",
            Metric::Packets => "sum(packets)",
            Metric::Flows => "sum(n)",
        }
    }
}

/// A dimension to group by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    SrcAddr,
    DstAddr,
    SrcPort,
    DstPort,
    Proto,
    SrcAs,
    DstAs,
    InIf,
    OutIf,
    Exporter,
    SrcCountry,
    DstCountry,
    IpVersion,
    SrcNet,
    DstNet,
    SrcEnv,
    DstEnv,
    SrcDc,
    DstDc,
}

pub const DIMS: &[(&str, Dim)] = &[
    ("src_addr", Dim::SrcAddr),
    ("dst_addr", Dim::DstAddr),
    ("src_port", Dim::SrcPort),
    ("dst_port", Dim::DstPort),
    ("proto", Dim::Proto),
    ("src_as", Dim::SrcAs),
    ("dst_as", Dim::DstAs),
    ("in_if", Dim::InIf),
    ("out_if", Dim::OutIf),
    ("exporter", Dim::Exporter),
    ("src_country", Dim::SrcCountry),
    ("dst_country", Dim::DstCountry),
    ("ip_version", Dim::IpVersion),
    ("src_net", Dim::SrcNet),
    ("dst_net", Dim::DstNet),
    ("src_env", Dim::SrcEnv),
    ("dst_env", Dim::DstEnv),
    ("src_dc", Dim::SrcDc),
    ("dst_dc", Dim::DstDc),
];

impl Dim {
    /// Parses a dimension name; `src_ip`/`dst_ip` are accepted too.
    pub fn parse(s: &str) -> Result<Dim, StoreError> {
        let s = match s {
            "src_ip" => "src_addr",
            "dst_ip" => "dst_addr",
            "protocol" => "proto",
            other => other,
        };
        DIMS.iter().find(|(n, _)| *n == s).map(|(_, d)| *d).ok_or_else(|| {
            let names: Vec<&str> = DIMS.iter().map(|(n, _)| *n).collect();
            StoreError::Query(format!("unknown dimension \"{s}\": use one of {}", names.join(", ")))
        })
    }

    pub fn name(self) -> &'static str {
        DIMS.iter()
            .find(|(_, d)| *d == self)
            .map(|(n, _)| *n)
            .expect("every dim is named")
    }

    /// The columns selected and grouped for this dimension.
    pub(super) fn columns(self) -> &'static [&'static str] {
        match self {
            Dim::SrcAddr => &["src_addr_hi", "src_addr_lo"],
            Dim::DstAddr => &["dst_addr_hi", "dst_addr_lo"],
            Dim::Exporter => &["exporter_hi", "exporter_lo"],
            Dim::SrcPort => &["src_port"],
            Dim::DstPort => &["dst_port"],
            Dim::Proto => &["proto"],
            Dim::SrcAs => &["src_as"],
            Dim::DstAs => &["dst_as"],
            Dim::InIf => &["in_if"],
            Dim::OutIf => &["out_if"],
            Dim::SrcCountry => &["src_country"],
            Dim::DstCountry => &["dst_country"],
            Dim::IpVersion => &["ip_version"],
            Dim::SrcNet => &["src_net"],
            Dim::DstNet => &["dst_net"],
            Dim::SrcEnv => &["src_env"],
            Dim::DstEnv => &["dst_env"],
            Dim::SrcDc => &["src_dc"],
            Dim::DstDc => &["dst_dc"],
        }
    }

    pub(super) fn value(self, row: &duckdb::Row<'_>, at: usize) -> duckdb::Result<Key> {
        Ok(match self {
            Dim::SrcAddr | Dim::DstAddr | Dim::Exporter => {
                let h: Option<u64> = row.get(at)?;
                let l: Option<u64> = row.get(at + 1)?;
                match h.zip(l) {
                    Some((h, l)) => Key::Addr(addr_from_key((u128::from(h) << 64) | u128::from(l))),
                    None => Key::None,
                }
            }
            Dim::SrcCountry
            | Dim::DstCountry
            | Dim::SrcNet
            | Dim::DstNet
            | Dim::SrcEnv
            | Dim::DstEnv
            | Dim::SrcDc
            | Dim::DstDc => row.get::<_, Option<String>>(at)?.map_or(Key::None, Key::Text),
            _ => row.get::<_, Option<u64>>(at)?.map_or(Key::None, Key::Int),
        })
    }
}

/// One value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    /// The flow does not carry the field.
    None,
    Int(u64),
    Addr(IpAddr),
    Text(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::None => f.write_str("-"),
            Key::Int(n) => write!(f, "{n}"),
            Key::Addr(a) => write!(f, "{a}"),
            Key::Text(t) => f.write_str(t),
        }
    }
}
