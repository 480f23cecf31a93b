//! The flow as the store keeps it: the decoded record plus what enrichment
//! adds (countries now; AS names, cities and classification later).

use std::net::IpAddr;

use flowlens_wire::FlowRecord;

use crate::filter::ast::Country;

#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub record: FlowRecord,
    pub src_country: Option<Country>,
    pub dst_country: Option<Country>,
}

impl Flow {
    pub fn new(record: FlowRecord) -> Self {
        Flow {
            record,
            src_country: None,
            dst_country: None,
        }
    }
}

/// An address as the store keeps it: a 128-bit number, IPv4 as v4-mapped
/// IPv6, so one column holds both and a network is a range.
pub fn addr_key(a: IpAddr) -> u128 {
    match a {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// The inverse of [`addr_key`]: v4-mapped numbers come back as IPv4.
pub fn addr_from_key(k: u128) -> IpAddr {
    std::net::Ipv6Addr::from(k).to_canonical()
}
