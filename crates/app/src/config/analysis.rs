//! The `analysis` and `notifications` sections: the analyzers' schedule
//! and thresholds, and where advisories and alerts are sent.

use serde::{Deserialize, Serialize};

use super::units::Dur;

/// The analysis engine: analyzers on a schedule, and their thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Analysis {
    pub enabled: bool,
    /// How often the analyzers run.
    pub interval: Dur,
    /// Window of the top-talker, insecure-protocol, asymmetry and
    /// no-response analyzers (whole minutes, at most 30m).
    pub window: Dur,
    /// An advisory not seen again for this long is resolved.
    pub resolve_after: Dur,
    pub top_talkers: TopTalkers,
    pub anomaly: AnomalyConfig,
    pub protocols: ProtocolsConfig,
    pub scans: ScansConfig,
    pub dns: DnsConfig,
    pub asymmetry: AsymmetryConfig,
    pub no_response: NoResponseConfig,
    pub ddos: DdosConfig,
}

impl Default for Analysis {
    fn default() -> Self {
        Analysis {
            enabled: true,
            interval: Dur::secs(60),
            window: Dur::secs(600),
            resolve_after: Dur::secs(300),
            top_talkers: TopTalkers::default(),
            anomaly: AnomalyConfig::default(),
            protocols: ProtocolsConfig::default(),
            scans: ScansConfig::default(),
            dns: DnsConfig::default(),
            asymmetry: AsymmetryConfig::default(),
            no_response: NoResponseConfig::default(),
            ddos: DdosConfig::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TopTalkers {
    pub enabled: bool,
    /// Hosts ranked.
    pub count: usize,
    /// A host above this share of all bytes (percent) gets an advisory.
    pub share: f64,
    /// A new top talker is reported from this share (percent).
    pub shift_share: f64,
}

impl Default for TopTalkers {
    fn default() -> Self {
        TopTalkers {
            enabled: true,
            count: 10,
            share: 40.0,
            shift_share: 20.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnomalyConfig {
    pub enabled: bool,
    /// History a series needs before it is judged.
    pub min_history: Dur,
    /// Robust deviations (MAD-based) a minute must be away from usual.
    pub sensitivity: f64,
    /// A spike is at least this many times the usual.
    pub spike_ratio: f64,
    /// A drop loses at least this share (percent) of bytes and flows.
    pub drop_percent: f64,
    /// Series judged for drops usually carry at least this many flows a minute.
    pub min_flows_per_minute: f64,
    /// Series with at least this share (percent) of a minute's traffic get a
    /// baseline.
    pub min_share: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            enabled: true,
            min_history: Dur::secs(3_600),
            sensitivity: 6.0,
            spike_ratio: 3.0,
            drop_percent: 80.0,
            min_flows_per_minute: 30.0,
            min_share: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProtocolsConfig {
    pub enabled: bool,
    /// Packets a conversation needs (in the window) to be reported.
    pub min_packets: u64,
}

impl Default for ProtocolsConfig {
    fn default() -> Self {
        ProtocolsConfig {
            enabled: true,
            min_packets: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScansConfig {
    pub enabled: bool,
    /// Unique ports one source reaches in 60 s: a port scan.
    pub scan_threshold: u32,
    /// Unique hosts one source reaches on one port in 60 s: a sweep.
    pub sweep_threshold: u32,
}

impl Default for ScansConfig {
    fn default() -> Self {
        ScansConfig {
            enabled: true,
            scan_threshold: 500,
            sweep_threshold: 200,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    pub enabled: bool,
    /// Queries per second from one source.
    pub queries_per_second: f64,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            enabled: true,
            queries_per_second: 200.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AsymmetryConfig {
    pub enabled: bool,
    /// Share (percent) of a direction's bytes on one path for it to count
    /// as that direction's path.
    pub dominance: f64,
    /// Networks with less than this share (percent) of all traffic each way
    /// are not judged.
    pub min_share: f64,
}

impl Default for AsymmetryConfig {
    fn default() -> Self {
        AsymmetryConfig {
            enabled: true,
            dominance: 90.0,
            min_share: 1.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoResponseConfig {
    pub enabled: bool,
    /// Unanswered attempts (distinct server and port per minute) in the window.
    pub min_attempts: u32,
    /// At most this share (percent) of its attempts answered.
    pub max_answered_percent: f64,
}

impl Default for NoResponseConfig {
    fn default() -> Self {
        NoResponseConfig {
            enabled: true,
            min_attempts: 100,
            max_answered_percent: 10.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DdosConfig {
    pub enabled: bool,
    /// Packets per second to one destination.
    pub min_pps: f64,
    /// At least this many times its usual rate.
    pub factor: f64,
    /// From at least this many sources.
    pub min_sources: u32,
}

impl Default for DdosConfig {
    fn default() -> Self {
        DdosConfig {
            enabled: true,
            min_pps: 5_000.0,
            factor: 10.0,
            min_sources: 20,
        }
    }
}

/// Where advisories and alerts are sent besides `/api/v1/ws/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Notifications {
    pub webhooks: Vec<Webhook>,
    /// URL schemes a webhook may use.
    pub allow_schemes: Vec<String>,
    /// Hosts a webhook may reach (`*.example.com` globs); empty allows any.
    pub allow_hosts: Vec<String>,
}

impl Default for Notifications {
    fn default() -> Self {
        Notifications {
            webhooks: Vec::new(),
            allow_schemes: vec!["https".into(), "http".into()],
            allow_hosts: Vec::new(),
        }
    }
}

/// A webhook: every event it wants is POSTed to it as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Webhook {
    /// Alert rules name the webhooks they notify.
    pub name: String,
    pub url: String,
    /// Advisories at or above this severity are sent (`none` sends none;
    /// alerts go to the webhooks their rule names).
    pub advisories: String,
    /// Time for one attempt.
    pub timeout: Dur,
}

impl Default for Webhook {
    fn default() -> Self {
        Webhook {
            name: String::new(),
            url: String::new(),
            advisories: "warning".into(),
            timeout: Dur::secs(5),
        }
    }
}
