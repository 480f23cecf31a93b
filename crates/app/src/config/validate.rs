//! The checks serde cannot make: ranges, combinations, paths.

use std::collections::BTreeMap;

use super::load::{ConfigError, Loaded, Source};
use super::Config;

/// Ranges serde cannot know.
pub(super) fn validate(c: &Config, sources: &BTreeMap<String, Source>) -> Result<(), ConfigError> {
    use std::time::Duration;
    let loaded = Loaded {
        config: Config::default(),
        sources: sources.clone(),
    };
    let mut errors = Vec::new();
    let mut check = |ok: bool, path: &str, value: String, allowed: &str| {
        if !ok {
            errors.push(format!(
                "bad value for {path} (from {}): {value} — allowed: {allowed}",
                loaded.source_of(path)
            ));
        }
    };
    // A whole number that must lie in lo..=hi.
    macro_rules! count {
        ($v:expr, $path:expr, $lo:expr, $hi:expr) => {
            check(
                ($lo..=$hi).contains(&$v),
                $path,
                $v.to_string(),
                &format!("{} to {}", $lo, $hi),
            )
        };
    }
    for (i, l) in c.collector.listeners.iter().enumerate() {
        let p = format!("collector.listeners[{i}]");
        check(
            l.port != 0,
            &format!("{p}.port"),
            "0".into(),
            "1 to 65535 (leave the listener out to disable it)",
        );
        count!(l.sockets, &format!("{p}.sockets"), 1, 64);
        check(
            l.receive_buffer.0 <= 1 << 30,
            &format!("{p}.receive_buffer"),
            l.receive_buffer.to_string(),
            "up to 1GiB",
        );
        if let Some(dev) = &l.interface {
            check(
                !dev.is_empty() && dev.len() < 16 && !dev.contains(['/', ' ', '\0']),
                &format!("{p}.interface"),
                format!("\"{dev}\""),
                "an interface name such as eth0 (under 16 characters)",
            );
        }
    }
    let p = &c.pipeline;
    count!(p.decode_workers, "pipeline.decode_workers", 1, 64);
    count!(p.decode_queue, "pipeline.decode_queue", 1, 65_536);
    count!(p.batch_flows, "pipeline.batch_flows", 1, 262_144);
    check(
        p.batch_delay.0 >= Duration::from_millis(1) && p.batch_delay.0 <= Duration::from_secs(5),
        "pipeline.batch_delay",
        p.batch_delay.to_string(),
        "1ms to 5s",
    );
    check(
        p.dedup.ttl.0 >= Duration::from_secs(1) && p.dedup.ttl.0 <= Duration::from_secs(3_600),
        "pipeline.dedup.ttl",
        p.dedup.ttl.to_string(),
        "1s to 1h",
    );
    count!(p.dedup.max_entries, "pipeline.dedup.max_entries", 1_000, 100_000_000);
    let e = &c.enrichment;
    count!(e.cache_size, "enrichment.cache_size", 0, 10_000_000);
    let mut seen = Vec::new();
    let unique = e.asn_sources.iter().all(|a| {
        let new = !seen.contains(a);
        seen.push(*a);
        new
    });
    check(
        !e.asn_sources.is_empty() && unique,
        "enrichment.asn_sources",
        format!("{:?}", e.asn_sources),
        "flow and/or geoip, each at most once, e.g. [flow, geoip]",
    );
    check(
        e.geoip.reload_check.0 >= Duration::from_secs(1) && e.geoip.reload_check.0 <= Duration::from_secs(86_400),
        "enrichment.geoip.reload_check",
        e.geoip.reload_check.to_string(),
        "1s to 1d",
    );
    let m = &c.metrics;
    count!(m.max_series, "metrics.max_series", 1, crate::metrics::MAX_SERIES_LIMIT);
    check(
        m.path.starts_with('/') && !m.path.starts_with("/api/") && m.path.len() > 1,
        "metrics.path",
        m.path.clone(),
        "a path such as /metrics (not under /api/)",
    );
    let metric_name = |s: &str| {
        !s.is_empty()
            && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    check(
        metric_name(&m.namespace),
        "metrics.namespace",
        m.namespace.clone(),
        "letters, digits and _",
    );
    if let Some(sub) = &m.subsystem {
        check(
            metric_name(sub),
            "metrics.subsystem",
            sub.clone(),
            "letters, digits and _",
        );
    }
    for k in m.labels.keys() {
        check(
            metric_name(k) && !k.starts_with("__"),
            "metrics.labels",
            k.clone(),
            "label names of letters, digits and _",
        );
    }
    for w in &m.windows {
        check(
            w.0.as_secs() % 60 == 0 && (60..=3_600).contains(&w.0.as_secs()),
            "metrics.windows",
            w.to_string(),
            "whole minutes from 1m to 1h",
        );
    }
    let mut addresses = Vec::new();
    for (i, e) in c.exporters.iter().enumerate() {
        let a = e.address.to_canonical();
        check(
            !addresses.contains(&a),
            &format!("exporters[{i}].address"),
            a.to_string(),
            "each exporter once",
        );
        addresses.push(a);
        for (what, v) in std::iter::once(("name", &e.name)).chain(e.interfaces.values().flat_map(|f| {
            [
                ("interfaces.*.name", &f.name),
                ("interfaces.*.description", &f.description),
            ]
        })) {
            if let Some(v) = v {
                check(
                    !v.is_empty() && v.chars().count() <= crate::enrich::limits::MAX_INTERFACE_TEXT,
                    &format!("exporters[{i}].{what}"),
                    format!("\"{}\"", v.chars().take(40).collect::<String>()),
                    "1 to 256 characters",
                );
            }
        }
    }
    for (i, r) in c.classification.rules.iter().enumerate() {
        if let Err(e) = crate::enrich::classify::check_rule(r) {
            check(false, &format!("classification.rules[{i}]"), r.cidr.to_string(), &e);
        }
    }
    let s = &c.storage;
    check(
        s.flush_interval.0 >= Duration::from_millis(100) && s.flush_interval.0 <= Duration::from_secs(5),
        "storage.flush_interval",
        s.flush_interval.to_string(),
        "100ms to 5s (a flow is queryable within one interval)",
    );
    check(
        s.memory_limit.0 >= 32 << 20,
        "storage.memory_limit",
        s.memory_limit.to_string(),
        "at least 32MiB",
    );
    check(
        s.retention_interval.0 >= Duration::from_secs(10) && s.retention_interval.0 <= Duration::from_secs(86_400),
        "storage.retention_interval",
        s.retention_interval.to_string(),
        "10s to 1d",
    );
    for (name, d) in [
        ("raw", s.retention.raw),
        ("rollup_1m", s.retention.rollup_1m),
        ("rollup_5m", s.retention.rollup_5m),
        ("rollup_1h", s.retention.rollup_1h),
    ] {
        check(
            d.0 >= Duration::from_secs(3_600),
            &format!("storage.retention.{name}"),
            d.to_string(),
            "at least 1h",
        );
    }
    if let Some(b) = s.max_disk_bytes {
        check(
            b.0 >= 100 << 20,
            "storage.max_disk_bytes",
            b.to_string(),
            "at least 100MiB, or leave it out",
        );
    }
    check(
        !s.data_dir.as_os_str().is_empty(),
        "storage.data_dir",
        "\"\"".into(),
        "a directory path",
    );
    let l = &c.limits;
    count!(l.max_exporters, "limits.max_exporters", 1, 1_000_000);
    count!(
        l.max_templates_per_exporter,
        "limits.max_templates_per_exporter",
        1,
        65_536
    );
    check(
        l.max_ingest_body.0 >= 1_024 && l.max_ingest_body.0 <= 1 << 30,
        "limits.max_ingest_body",
        l.max_ingest_body.to_string(),
        "1KiB to 1GiB",
    );
    count!(l.max_ingest_records, "limits.max_ingest_records", 1, 10_000_000);
    analysis(c, &mut check);
    security(c, &mut check);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigError(errors))
    }
}

/// The analysis and notification sections.
fn analysis(c: &Config, check: &mut impl FnMut(bool, &str, String, &str)) {
    use std::time::Duration;
    let a = &c.analysis;
    let secs = |d: &super::units::Dur| d.0.as_secs();
    check(
        (10..=3_600).contains(&secs(&a.interval)) && a.interval.0.subsec_nanos() == 0,
        "analysis.interval",
        a.interval.to_string(),
        "10s to 1h, whole seconds",
    );
    let max_window = (crate::analysis::limits::MAX_WINDOW_MINUTES as u64 - 1) * 60;
    check(
        (60..=max_window).contains(&secs(&a.window)) && secs(&a.window) % 60 == 0 && a.window.0.subsec_nanos() == 0,
        "analysis.window",
        a.window.to_string(),
        &format!("1m to {}m, whole minutes", max_window / 60),
    );
    check(
        a.resolve_after.0 >= Duration::from_secs(10) && a.resolve_after.0 <= Duration::from_secs(86_400),
        "analysis.resolve_after",
        a.resolve_after.to_string(),
        "10s to 1d",
    );
    let mut range = |v: f64, path: &str, lo: f64, hi: f64| {
        check(
            v.is_finite() && (lo..=hi).contains(&v),
            path,
            v.to_string(),
            &format!("{lo} to {hi}"),
        )
    };
    range(a.top_talkers.count as f64, "analysis.top_talkers.count", 1.0, 100.0);
    range(a.top_talkers.share, "analysis.top_talkers.share", 1.0, 100.0);
    range(
        a.top_talkers.shift_share,
        "analysis.top_talkers.shift_share",
        1.0,
        100.0,
    );
    range(a.anomaly.sensitivity, "analysis.anomaly.sensitivity", 1.0, 100.0);
    range(a.anomaly.spike_ratio, "analysis.anomaly.spike_ratio", 1.1, 1_000.0);
    range(a.anomaly.drop_percent, "analysis.anomaly.drop_percent", 10.0, 100.0);
    range(
        a.anomaly.min_flows_per_minute,
        "analysis.anomaly.min_flows_per_minute",
        1.0,
        1e9,
    );
    range(a.anomaly.min_share, "analysis.anomaly.min_share", 0.01, 100.0);
    range(
        a.protocols.min_packets as f64,
        "analysis.protocols.min_packets",
        1.0,
        1e12,
    );
    range(
        f64::from(a.scans.scan_threshold),
        "analysis.scans.scan_threshold",
        10.0,
        65_536.0,
    );
    range(
        f64::from(a.scans.sweep_threshold),
        "analysis.scans.sweep_threshold",
        10.0,
        1e7,
    );
    range(a.dns.queries_per_second, "analysis.dns.queries_per_second", 1.0, 1e9);
    range(a.asymmetry.dominance, "analysis.asymmetry.dominance", 50.0, 100.0);
    range(a.asymmetry.min_share, "analysis.asymmetry.min_share", 0.01, 100.0);
    range(
        f64::from(a.no_response.min_attempts),
        "analysis.no_response.min_attempts",
        1.0,
        1e9,
    );
    range(
        a.no_response.max_answered_percent,
        "analysis.no_response.max_answered_percent",
        0.0,
        100.0,
    );
    range(a.ddos.min_pps, "analysis.ddos.min_pps", 1.0, 1e12);
    range(a.ddos.factor, "analysis.ddos.factor", 1.0, 1e6);
    range(f64::from(a.ddos.min_sources), "analysis.ddos.min_sources", 1.0, 1e9);
    check(
        (Duration::from_secs(1)..=Duration::from_secs(24 * 3_600)).contains(&a.anomaly.min_history.0),
        "analysis.anomaly.min_history",
        a.anomaly.min_history.to_string(),
        "1s to 24h",
    );
    let n = &c.notifications;
    for s in &n.allow_schemes {
        check(
            s == "https" || s == "http",
            "notifications.allow_schemes",
            s.clone(),
            "https and/or http",
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, w) in n.webhooks.iter().enumerate() {
        let p = format!("notifications.webhooks[{i}]");
        check(
            !w.name.is_empty() && w.name.len() <= 64 && names.insert(w.name.clone()),
            &format!("{p}.name"),
            format!("{:?}", w.name),
            "a unique name of 1 to 64 characters",
        );
        if let Err(why) = crate::analysis::notify::check_url(&w.url, n) {
            check(false, &format!("{p}.url"), format!("{:?}", w.url), &why);
        }
        check(
            w.advisories == "none" || crate::analysis::Severity::parse(&w.advisories).is_some(),
            &format!("{p}.advisories"),
            w.advisories.clone(),
            "info, warning, critical or none",
        );
        check(
            w.timeout.0 >= Duration::from_millis(100) && w.timeout.0 <= Duration::from_secs(60),
            &format!("{p}.timeout"),
            w.timeout.to_string(),
            "100ms to 60s",
        );
    }
}

/// Accounts and transport: auth off only where nobody else can reach the
/// service, sessions of sensible length, redirects only to HTTPS.
fn security(c: &Config, check: &mut impl FnMut(bool, &str, String, &str)) {
    use std::time::Duration;
    let a = &c.auth;
    if !a.enabled && a.trusted_proxy_header.is_none() {
        let open: Vec<String> = c
            .web
            .listen
            .iter()
            .filter(|l| !l.ip().is_loopback())
            .map(|l| l.to_string())
            .collect();
        check(
            open.is_empty(),
            "auth.enabled",
            format!(
                "false while web.listen has {} (reachable from the network)",
                open.join(", ")
            ),
            "true; or false with every web.listen address on loopback (127.0.0.1:8080, [::1]:8080), or with \
             auth.trusted_proxy_header set for a reverse proxy that authenticates",
        );
    }
    check(
        a.session_idle.0 >= Duration::from_secs(60) && a.session_idle.0 <= Duration::from_secs(30 * 86_400),
        "auth.session_idle",
        a.session_idle.to_string(),
        "1m to 30d",
    );
    check(
        a.session_max.0 >= a.session_idle.0 && a.session_max.0 <= Duration::from_secs(365 * 86_400),
        "auth.session_max",
        a.session_max.to_string(),
        "auth.session_idle to 365d",
    );
    if let Some(h) = &a.trusted_proxy_header {
        check(
            !h.is_empty() && axum::http::HeaderName::from_bytes(h.as_bytes()).is_ok(),
            "auth.trusted_proxy_header",
            format!("{h:?}"),
            "an HTTP header name such as Remote-User",
        );
        check(
            !a.trusted_proxies.is_empty(),
            "auth.trusted_proxies",
            "[]".into(),
            "the addresses of the proxies that set auth.trusted_proxy_header",
        );
    }
    check(
        c.web.redirect_http.is_empty() || c.web.tls.is_some(),
        "web.redirect_http",
        format!("{:?} without web.tls", c.web.redirect_http),
        "[] unless web.tls is set (it redirects to HTTPS)",
    );
    if let Some(t) = &c.web.tls {
        check(
            t.reload_check.0 >= Duration::from_secs(1) && t.reload_check.0 <= Duration::from_secs(86_400),
            "web.tls.reload_check",
            t.reload_check.to_string(),
            "1s to 1d",
        );
    }
}
