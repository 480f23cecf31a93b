//! The flow as the store keeps it: the decoded record plus what enrichment
//! adds (countries, and the classification of each address).

use std::net::IpAddr;
use std::sync::Arc;

use flowlens_wire::FlowRecord;

use crate::filter::ast::Country;

#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub record: FlowRecord,
    pub src_country: Option<Country>,
    pub dst_country: Option<Country>,
    /// What the classification rules say of each address (shared: one
    /// rule's answer serves every flow it matches).
    pub src_class: Option<Arc<Class>>,
    pub dst_class: Option<Arc<Class>>,
}

impl Flow {
    pub fn new(record: FlowRecord) -> Self {
        Flow {
            record,
            src_country: None,
            dst_country: None,
            src_class: None,
            dst_class: None,
        }
    }
}

/// The classification of an address (from the most specific matching
/// rule): a network name, environment, datacenter, location, and whether
/// it is inside the organisation. Every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Class {
    pub name: Option<String>,
    pub env: Option<String>,
    pub datacenter: Option<String>,
    pub location: Option<String>,
    pub internal: Option<bool>,
}

impl Class {
    pub fn is_empty(&self) -> bool {
        *self == Class::default()
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
