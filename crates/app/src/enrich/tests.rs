//! Enrichment against MaxMind's own test databases (`../shared/geoip`,
//! answers from its README), IPv4 and IPv6; the AS source order; the
//! cache's bound; reloads that swap, and reloads that fail and keep the
//! old version.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flowlens_store::Flow;
use flowlens_wire::{FlowRecord, Protocol, Timestamp};

use super::*;
use crate::config;

/// `../shared/geoip`, or `None` (skip) outside CI.
pub(crate) fn geoip_dir() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/geoip");
    if p.join("GeoLite2-ASN-Test.mmdb").exists() {
        return Some(p);
    }
    let strict = std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false")
        || std::env::var("FLOWLENS_SYSTEM_TESTS").is_ok_and(|v| v == "1");
    assert!(!strict, "MaxMind test databases not found at {}", p.display());
    None
}

fn geo(country: Option<&str>, city: Option<&str>, asn: Option<&str>) -> Option<GeoIp> {
    let d = geoip_dir()?;
    let c = config::GeoIp {
        country: country.map(|f| d.join(f)),
        city: city.map(|f| d.join(f)),
        asn: asn.map(|f| d.join(f)),
        required: true,
        ..config::GeoIp::default()
    };
    Some(GeoIp::open(&c).expect("test databases open"))
}

fn flow(src: &str, dst: &str) -> Flow {
    let exporter: SocketAddr = "192.0.2.1:2055".parse().unwrap();
    let mut r = FlowRecord::new(Protocol::Ipfix, exporter, Timestamp::from_secs(1_767_225_600));
    r.src_addr = Some(src.parse().unwrap());
    r.dst_addr = Some(dst.parse().unwrap());
    Flow::new(r)
}

fn no_rules() -> Arc<Classifier> {
    Arc::new(Classifier::from_config(&[]))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn countries_cities_and_as_numbers_from_the_test_databases() {
    let Some(g) = geo(
        Some("GeoIP2-Country-Test.mmdb"),
        Some("GeoIP2-City-Test.mmdb"),
        Some("GeoLite2-ASN-Test.mmdb"),
    ) else {
        return;
    };
    let d = g.current();
    // README answers 1–3, 12 and the edge cases.
    assert_eq!(d.country(ip("81.2.69.142")).unwrap(), Some(*b"GB"));
    assert_eq!(d.country(ip("89.160.20.112")).unwrap(), Some(*b"SE"));
    assert_eq!(d.country(ip("2001:218::1")).unwrap(), Some(*b"JP"));
    assert_eq!(d.country(ip("81.2.69.141")).unwrap(), None);
    assert_eq!(d.country(ip("192.0.2.1")).unwrap(), None);
    assert_eq!(d.country(ip("2001:db8::1")).unwrap(), None);
    assert_eq!(d.country(ip("2001:220::1")).unwrap(), Some(*b"KR"));
    // IPv4 reached through its IPv4-mapped form is the same address.
    assert_eq!(d.country(ip("::ffff:81.2.69.142")).unwrap(), Some(*b"GB"));
    // 7–10: AS numbers and names, IPv4 and IPv6.
    assert_eq!(d.asn(ip("1.128.0.0")).unwrap(), Some(1221));
    assert_eq!(d.as_name(1221).map(|s| &**s), Some("Telstra Pty Ltd"));
    assert_eq!(d.asn(ip("12.81.96.1")).unwrap(), Some(7018));
    assert_eq!(d.as_name(7018).map(|s| &**s), Some("AT&T Services"));
    assert_eq!(d.asn(ip("2600:7000::1")).unwrap(), Some(6939));
    assert_eq!(d.as_name(6939).map(|s| &**s), Some("Hurricane Electric, Inc."));
    assert_eq!(d.asn(ip("2001:1700::1")).unwrap(), Some(6730));
    assert_eq!(d.asn(ip("8.8.8.8")).unwrap(), None);
    // 4–6: cities and coordinates.
    let l = d.locate(ip("81.2.69.160"));
    assert_eq!(l.city.as_deref(), Some("London"));
    assert_eq!(l.country.as_deref(), Some("GB"));
    assert!((l.latitude.unwrap() - 51.5142).abs() < 1e-4 && (l.longitude.unwrap() + 0.0931).abs() < 1e-4);
    let l = d.locate(ip("216.160.83.56"));
    assert_eq!((l.city.as_deref(), l.country.as_deref()), (Some("Milton"), Some("US")));
    let l = d.locate(ip("2a02:d300::1"));
    assert_eq!(
        (l.city, l.country.as_deref(), l.latitude, l.longitude),
        (None, Some("UA"), Some(49.0), Some(32.0))
    );
}

#[test]
fn flows_get_countries_and_as_numbers_in_the_configured_order() {
    let Some(g) = geo(Some("GeoLite2-Country-Test.mmdb"), None, Some("GeoLite2-ASN-Test.mmdb")) else {
        return;
    };
    let g = Arc::new(g);
    let stats = Arc::new(EnrichStats::default());
    let mut flow_first = Enricher::new(
        g.clone(),
        no_rules(),
        1_000,
        &[AsnSource::Flow, AsnSource::Geoip],
        stats.clone(),
    );
    let mut db_first = Enricher::new(
        g.clone(),
        no_rules(),
        1_000,
        &[AsnSource::Geoip, AsnSource::Flow],
        stats.clone(),
    );
    let mut db_only = Enricher::new(g, no_rules(), 1_000, &[AsnSource::Geoip], stats.clone());

    // The exporter says AS 64500 for the source; the database says 1221.
    let mut f = flow("1.128.0.1", "2001:1700::1");
    f.record.src_as = Some(64_500);
    let mut a = f.clone();
    flow_first.enrich(&mut a);
    assert_eq!((a.record.src_as, a.record.dst_as), (Some(64_500), Some(6730)));
    let mut b = f.clone();
    db_first.enrich(&mut b);
    assert_eq!((b.record.src_as, b.record.dst_as), (Some(1221), Some(6730)));
    // AS 0 from the exporter is "unknown": the database answers.
    let mut c = f.clone();
    c.record.src_as = Some(0);
    flow_first.enrich(&mut c);
    assert_eq!(c.record.src_as, Some(1221));
    // The database has no answer: what the flow said stays.
    let mut d = flow("192.0.2.7", "81.2.69.142");
    d.record.src_as = Some(64_501);
    db_only.enrich(&mut d);
    assert_eq!(d.record.src_as, Some(64_501));
    assert_eq!((d.src_country, d.dst_country), (None, Some(*b"GB")));
    // A country given with the flow is kept.
    let mut e = flow("81.2.69.142", "2001:218::1");
    e.src_country = Some(*b"FR");
    flow_first.enrich(&mut e);
    assert_eq!((e.src_country, e.dst_country), (Some(*b"FR"), Some(*b"JP")));

    for x in [&mut flow_first, &mut db_first, &mut db_only] {
        x.publish();
    }
    let hits = stats.cache_hits.load(Ordering::Relaxed);
    let misses = stats.cache_misses.load(Ordering::Relaxed);
    assert!(hits >= 2 && misses >= 4, "hits {hits}, misses {misses}");
}

#[test]
fn without_databases_flows_pass_unchanged() {
    let g = Arc::new(GeoIp::disabled());
    let mut e = Enricher::new(g, no_rules(), 100, &[AsnSource::Flow, AsnSource::Geoip], Arc::default());
    let mut f = flow("81.2.69.142", "1.128.0.1");
    f.record.src_as = Some(0);
    let before = f.clone();
    e.enrich(&mut f);
    assert_eq!(f, before);
}

#[test]
fn the_cache_stays_within_its_size() {
    let mut c = Cache::new(100);
    for i in 0..10_000u32 {
        c.insert(IpAddr::from(i.to_be_bytes()), Answer::default());
        assert!(c.len() <= 100, "{} entries", c.len());
    }
    // Recent entries are found; a cache of 0 remembers nothing.
    assert!(c.get(&IpAddr::from(9_999u32.to_be_bytes())).is_some());
    let mut z = Cache::new(0);
    z.insert(ip("10.0.0.1"), Answer::default());
    assert!(z.is_empty());
}

#[test]
fn missing_wrong_and_corrupt_databases_are_named() {
    let Some(d) = geoip_dir() else { return };
    let dir = std::env::temp_dir().join(format!("flowlens-geo-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let corrupt = dir.join("corrupt.mmdb");
    std::fs::write(&corrupt, b"this is not a MaxMind database").unwrap();
    let cases: [(config::GeoIp, &str); 3] = [
        (
            config::GeoIp {
                country: Some(dir.join("missing.mmdb")),
                ..Default::default()
            },
            "cannot read it",
        ),
        (
            config::GeoIp {
                asn: Some(corrupt.clone()),
                ..Default::default()
            },
            "not a readable MaxMind database",
        ),
        (
            config::GeoIp {
                city: Some(d.join("GeoLite2-ASN-Test.mmdb")),
                ..Default::default()
            },
            "needs a City database",
        ),
    ];
    for (c, want) in cases {
        // Required: start-up fails, naming the key and the file.
        let strict = config::GeoIp {
            required: true,
            ..c.clone()
        };
        let e = GeoIp::open(&strict).err().expect("refused").to_string();
        assert!(
            e.contains("enrichment.geoip.") && e.contains(".mmdb") && e.contains(want),
            "{e}"
        );
        // Not required: runs without it, and the status says why.
        let g = GeoIp::open(&c).expect("starts without it");
        assert!(g.current().is_empty());
        assert!(g.status()["errors"].to_string().contains(want));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_replaced_file_is_reloaded_and_a_broken_one_keeps_the_old_version() {
    let Some(d) = geoip_dir() else { return };
    let dir = std::env::temp_dir().join(format!("flowlens-geo-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let live = dir.join("Country.mmdb");
    std::fs::copy(d.join("GeoLite2-Country-Test.mmdb"), &live).unwrap();
    let g = Arc::new(
        GeoIp::open(&config::GeoIp {
            country: Some(live.clone()),
            ..Default::default()
        })
        .unwrap(),
    );
    let mut e = Enricher::new(g.clone(), no_rules(), 1_000, &[AsnSource::Flow], Arc::default());
    // 149.101.100.0/28 is in GeoIP2-Country-Test, not in GeoLite2's.
    let mut f = flow("81.2.69.142", "149.101.100.1");
    e.enrich(&mut f);
    assert_eq!((f.src_country, f.dst_country), (Some(*b"GB"), None));
    assert!(!g.check_reload(), "nothing changed");

    // geoipupdate's way: write beside, rename over.
    let tmp = dir.join("Country.mmdb.tmp");
    std::fs::copy(d.join("GeoIP2-Country-Test.mmdb"), &tmp).unwrap();
    std::fs::rename(&tmp, &live).unwrap();
    assert!(g.check_reload());
    let mut f2 = flow("81.2.69.142", "149.101.100.1");
    e.enrich(&mut f2);
    assert_eq!(f2.dst_country, Some(*b"US"), "the new version answers (cache dropped)");

    // A broken version: the old one stays, once logged, not retried.
    std::fs::write(&tmp, b"half a file").unwrap();
    std::fs::rename(&tmp, &live).unwrap();
    assert!(!g.check_reload());
    assert!(!g.check_reload());
    assert_eq!(g.reload_errors.load(Ordering::Relaxed), 1);
    let mut f3 = flow("81.2.69.142", "149.101.100.1");
    e.enrich(&mut f3);
    assert_eq!(f3.dst_country, Some(*b"US"));
    let _ = std::fs::remove_dir_all(&dir);
}
