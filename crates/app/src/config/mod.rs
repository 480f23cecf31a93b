//! The configuration: one YAML file with a section per part of the service,
//! every key overridable from the environment (`FLOWLENS_<SECTION>__<KEY>`)
//! and the common ones from the command line. Defaults work without a file.
//!
//! Layers, later wins: defaults → file → environment → flags. [`load`]
//! remembers where each value came from (`flowlens config print`), refuses
//! unknown keys with the nearest valid one, and checks every value's range.

mod analysis;
mod load;
mod security;
pub mod units;
mod validate;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

pub use analysis::{
    Analysis, AnomalyConfig, AsymmetryConfig, DdosConfig, DnsConfig, NoResponseConfig, Notifications, ProtocolsConfig,
    ScansConfig, TopTalkers, Webhook,
};
pub use load::{load, nearest, settings, ConfigError, Loaded, Overrides, Source};
pub use security::{Auth, Tls};
use units::{BitRate, Bytes, Dur};

/// The commented default file `flowlens config init` writes. A test holds
/// it equal to [`Config::default`].
pub const TEMPLATE: &str = include_str!("default.yaml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub collector: Collector,
    pub pipeline: Pipeline,
    pub storage: Storage,
    pub enrichment: Enrichment,
    pub classification: Classification,
    /// Names of exporters and their interfaces, known ahead of the flows.
    pub exporters: Vec<ExporterConfig>,
    /// Rules that classify interfaces by exporter and interface names.
    pub interface_rules: Vec<InterfaceRule>,
    pub metrics: Metrics,
    pub analysis: Analysis,
    pub notifications: Notifications,
    pub web: Web,
    pub auth: Auth,
    pub logging: Logging,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Collector {
    pub listeners: Vec<Listener>,
    /// Exporters allowed to send (CIDRs); empty allows every address.
    pub allow_exporters: Vec<IpNet>,
}

impl Default for Collector {
    fn default() -> Self {
        let mut listeners = Vec::new();
        for (protocol, port) in [
            (ListenProtocol::Netflow, 2055),
            (ListenProtocol::Ipfix, 4739),
            (ListenProtocol::Sflow, 6343),
        ] {
            for address in [IpAddr::V4(Ipv4Addr::UNSPECIFIED), IpAddr::V6(Ipv6Addr::UNSPECIFIED)] {
                listeners.push(Listener {
                    address,
                    port,
                    protocol,
                    ..Listener::default()
                });
            }
        }
        Collector {
            listeners,
            allow_exporters: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Listener {
    pub address: IpAddr,
    pub port: u16,
    /// What the port expects; `auto` takes any of them.
    pub protocol: ListenProtocol,
    /// Bind to this network interface only (SO_BINDTODEVICE; needs
    /// CAP_NET_RAW).
    pub interface: Option<String>,
    /// Socket receive buffer asked of the kernel (net.core.rmem_max caps it).
    pub receive_buffer: Bytes,
    /// Sockets on the same address and port (SO_REUSEPORT), one receive
    /// thread each.
    pub sockets: usize,
}

impl Default for Listener {
    fn default() -> Self {
        Listener {
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 2055,
            protocol: ListenProtocol::Auto,
            interface: None,
            receive_buffer: Bytes(8 << 20),
            sockets: 1,
        }
    }
}

impl Listener {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ListenProtocol {
    Auto,
    /// NetFlow v1, v5, v7 and v9.
    Netflow,
    Ipfix,
    Sflow,
}

impl ListenProtocol {
    pub fn name(self) -> &'static str {
        match self {
            ListenProtocol::Auto => "auto",
            ListenProtocol::Netflow => "netflow",
            ListenProtocol::Ipfix => "ipfix",
            ListenProtocol::Sflow => "sflow",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pipeline {
    /// Decode threads; an exporter always goes to the same one.
    pub decode_workers: usize,
    /// Datagram batches queued per decode worker before receive drops.
    pub decode_queue: usize,
    /// Flows handed to the sinks at a time.
    pub batch_flows: usize,
    /// Longest a partial batch waits before it is handed on.
    pub batch_delay: Dur,
    pub dedup: Dedup,
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline {
            decode_workers: 2,
            decode_queue: 256,
            batch_flows: 4_096,
            batch_delay: Dur(std::time::Duration::from_millis(200)),
            dedup: Dedup::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Dedup {
    /// Count a flow exported by several routers once.
    pub enabled: bool,
    /// How long a 5-tuple seen from one router hides it from the others.
    pub ttl: Dur,
    /// 5-tuples remembered at most (memory bound; the oldest go first).
    pub max_entries: usize,
}

impl Default for Dedup {
    fn default() -> Self {
        Dedup {
            enabled: true,
            ttl: Dur::secs(60),
            max_entries: 1_000_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Storage {
    pub data_dir: PathBuf,
    /// How often the writer commits: the most a crash can lose, and how
    /// soon a flow is queryable.
    pub flush_interval: Dur,
    pub retention: Retention,
    /// Disk budget: the oldest raw flows go first when it is exceeded.
    pub max_disk_bytes: Option<Bytes>,
    /// How often retention runs.
    pub retention_interval: Dur,
    /// Memory the flow database may use for its caches and for writing
    /// (DuckDB's `memory_limit`); larger queries spill to disk.
    pub memory_limit: Bytes,
}

impl Default for Storage {
    fn default() -> Self {
        Storage {
            data_dir: PathBuf::from("./flowlens-data"),
            flush_interval: Dur::secs(1),
            retention: Retention::default(),
            max_disk_bytes: None,
            retention_interval: Dur::secs(300),
            memory_limit: Bytes(128 << 20),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    pub raw: Dur,
    pub rollup_1m: Dur,
    pub rollup_5m: Dur,
    pub rollup_1h: Dur,
}

impl Default for Retention {
    fn default() -> Self {
        let d = flowlens_store::retention::Retention::default();
        Retention {
            raw: Dur(d.raw),
            rollup_1m: Dur(d.rollup_1m),
            rollup_5m: Dur(d.rollup_5m),
            rollup_1h: Dur(d.rollup_1h),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Web {
    /// HTTP listeners (API, ingest, status); empty turns HTTP off.
    pub listen: Vec<SocketAddr>,
    /// HTTPS on every listener when set.
    pub tls: Option<Tls>,
    /// Plain-HTTP listeners that redirect to HTTPS (with `tls`).
    pub redirect_http: security::Redirects,
}

impl Default for Web {
    fn default() -> Self {
        Web {
            listen: vec![
                SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 8080),
                SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 8080),
            ],
            tls: None,
            redirect_http: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Logging {
    pub level: LogLevel,
    pub format: LogFormat,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            level: LogLevel::Info,
            format: LogFormat::Text,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

impl LogLevel {
    pub fn name(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Bounds an operator may move; the rest are constants in `limits.rs` of
/// each crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Exporters whose template state is kept (the least recently heard
    /// go first).
    pub max_exporters: usize,
    /// Templates kept per exporter.
    pub max_templates_per_exporter: usize,
    /// Largest `POST /ingest` body.
    pub max_ingest_body: Bytes,
    /// Most records in one `POST /ingest` body.
    pub max_ingest_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let d = flowlens_wire::DecoderLimits::default();
        Limits {
            max_exporters: d.max_exporters.get(),
            max_templates_per_exporter: d.max_templates_per_exporter.get(),
            max_ingest_body: Bytes(16 << 20),
            max_ingest_records: 100_000,
        }
    }
}

/// What is added to every flow on its way to the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Enrichment {
    pub geoip: GeoIp,
    /// Address lookups remembered per decode worker.
    pub cache_size: usize,
    /// Where a flow's AS numbers come from, in order of preference: `flow`
    /// (what the exporter put in it, from its BGP table) and `geoip` (the
    /// ASN database). A source with no answer falls through to the next.
    pub asn_sources: Vec<AsnSource>,
}

impl Default for Enrichment {
    fn default() -> Self {
        Enrichment {
            geoip: GeoIp::default(),
            cache_size: 100_000,
            asn_sources: vec![AsnSource::Flow, AsnSource::Geoip],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AsnSource {
    Flow,
    Geoip,
}

/// The Prometheus endpoint: traffic over chosen dimensions and windows,
/// and the service's own health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Metrics {
    pub enabled: bool,
    /// Where Prometheus scrapes.
    pub path: String,
    /// Metric names are `<namespace>_<subsystem>_<name>`.
    pub namespace: String,
    pub subsystem: Option<String>,
    /// Static labels on every series (environment, datacenter, collector_id, …).
    pub labels: std::collections::BTreeMap<String, String>,
    /// Traffic series are split by these.
    pub dimensions: Vec<MetricDim>,
    /// Groups of dimensions turned on as a whole.
    pub groups: MetricGroups,
    /// Windows of `bandwidth_bps` (whole minutes, up to 1h).
    pub windows: Vec<Dur>,
    /// Most traffic series; further label combinations fold into `other`.
    pub max_series: usize,
    /// Scrapers allowed without a token (else a token with the `metrics`
    /// permission); with `auth.enabled: false` the endpoint is open.
    pub allow: Vec<IpNet>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            enabled: true,
            path: "/metrics".into(),
            namespace: "flow".into(),
            subsystem: None,
            labels: Default::default(),
            dimensions: vec![MetricDim::Exporter, MetricDim::Protocol],
            groups: MetricGroups::default(),
            windows: vec![Dur::secs(60), Dur::secs(300), Dur::secs(900), Dur::secs(3_600)],
            max_series: 2_000,
            allow: Vec::new(),
        }
    }
}

/// A traffic dimension of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricDim {
    SrcAddr,
    DstAddr,
    Protocol,
    SrcPort,
    DstPort,
    InIf,
    OutIf,
    Exporter,
    SrcCountry,
    DstCountry,
    SrcAsn,
    DstAsn,
}

impl MetricDim {
    pub fn label(self) -> &'static str {
        match self {
            MetricDim::SrcAddr => "src_addr",
            MetricDim::DstAddr => "dst_addr",
            MetricDim::Protocol => "protocol",
            MetricDim::SrcPort => "src_port",
            MetricDim::DstPort => "dst_port",
            MetricDim::InIf => "in_if",
            MetricDim::OutIf => "out_if",
            MetricDim::Exporter => "exporter",
            MetricDim::SrcCountry => "src_country",
            MetricDim::DstCountry => "dst_country",
            MetricDim::SrcAsn => "src_asn",
            MetricDim::DstAsn => "dst_asn",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricGroups {
    /// src_port, dst_port
    pub ports: bool,
    /// in_if, out_if
    pub interfaces: bool,
    /// src_country, dst_country
    pub geo: bool,
    /// src_asn, dst_asn
    pub asn: bool,
}

/// One exporter as the configuration names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExporterConfig {
    pub address: IpAddr,
    #[serde(default)]
    pub name: Option<String>,
    /// By interface index (SNMP ifIndex).
    #[serde(default)]
    pub interfaces: std::collections::BTreeMap<u32, InterfaceConfig>,
}

/// What is known of one interface; anything given here wins over what
/// the exporter says (IPFIX/v9 options) and over `interface_rules`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InterfaceConfig {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Link speed (10G, 100M): gives utilisation.
    pub speed: Option<BitRate>,
    pub boundary: Option<Boundary>,
    pub connectivity: Option<String>,
    pub provider: Option<String>,
}

/// Where an interface faces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Boundary {
    Internal,
    External,
}

impl Boundary {
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Internal => "internal",
            Boundary::External => "external",
        }
    }
}

/// Classifies interfaces whose exporter name, interface name and
/// description match (globs: `*` any run, `?` one character, without
/// regard to case; an absent pattern matches everything). The first
/// matching rule sets what it says; earlier rules win.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InterfaceRule {
    pub exporter: Option<String>,
    pub interface: Option<String>,
    pub description: Option<String>,
    pub boundary: Option<Boundary>,
    /// transit, peering, customer, pni, … (free words).
    pub connectivity: Option<String>,
    pub provider: Option<String>,
}

/// Rules that classify addresses by network (more come from the API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Classification {
    pub rules: Vec<ClassRule>,
}

/// One classification rule: a network and what it is. The most specific
/// network wins; among equal networks, the lower `priority`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRule {
    pub cidr: IpNet,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub environment: Option<Environment>,
    #[serde(default)]
    pub datacenter: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    /// Inside the organisation (true) or outside (false).
    #[serde(default)]
    pub internal: Option<bool>,
    #[serde(default = "ClassRule::default_priority")]
    pub priority: i64,
}

impl ClassRule {
    pub const DEFAULT_PRIORITY: i64 = 100;

    fn default_priority() -> i64 {
        Self::DEFAULT_PRIORITY
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Prod,
    Uat,
    Qa,
    Test,
    Dev,
}

impl Environment {
    pub const ALL: [Environment; 5] = [
        Environment::Prod,
        Environment::Uat,
        Environment::Qa,
        Environment::Test,
        Environment::Dev,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Environment::Prod => "prod",
            Environment::Uat => "uat",
            Environment::Qa => "qa",
            Environment::Test => "test",
            Environment::Dev => "dev",
        }
    }

    pub fn parse(s: &str) -> Option<Environment> {
        Environment::ALL.into_iter().find(|e| e.name().eq_ignore_ascii_case(s))
    }
}

/// MaxMind GeoIP2 / GeoLite2 databases. FlowLens never downloads them (run
/// geoipupdate); a file replaced on disk is loaded without a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GeoIp {
    /// Country database (`GeoLite2-Country.mmdb`), or a City database.
    pub country: Option<PathBuf>,
    /// City database: city and coordinates (and the country, when no
    /// country database is given).
    pub city: Option<PathBuf>,
    /// ASN database (`GeoLite2-ASN.mmdb`): AS numbers and organisations.
    pub asn: Option<PathBuf>,
    /// Refuse to start when a configured database cannot be read (by
    /// default the service starts without it and says why).
    pub required: bool,
    /// How often the files are checked for a new version.
    pub reload_check: Dur,
}

impl Default for GeoIp {
    fn default() -> Self {
        GeoIp {
            country: None,
            city: None,
            asn: None,
            required: false,
            reload_check: Dur::secs(30),
        }
    }
}

#[cfg(test)]
mod tests;
