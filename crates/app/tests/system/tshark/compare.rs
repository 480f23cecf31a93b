//! Field-by-field comparison of one of our records with tshark's view of
//! it, counting agreement per field.

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowlens_wire::{FlowRecord, Protocol};

use super::json::{Leaves, TsRecord};

/// Per-field agreement counts for one stream.
#[derive(Default)]
pub(super) struct Tally {
    pub records_ours: usize,
    /// Records decoded from data held until its template arrived.
    pub records_held: usize,
    pub records_tshark: usize,
    pub compared: BTreeMap<&'static str, (u64, u64)>,
    pub diffs: Vec<String>,
}

impl Tally {
    pub(super) fn check(&mut self, field: &'static str, ours: Option<String>, theirs: Option<String>, ctx: &str) {
        let Some(theirs) = theirs else { return };
        let e = self.compared.entry(field).or_default();
        e.0 += 1;
        if ours.as_deref() == Some(theirs.as_str()) {
            e.1 += 1;
        } else if self.diffs.len() < 40 {
            self.diffs
                .push(format!("{ctx}: {field}: ours {ours:?}, tshark {theirs:?}"));
        }
    }
}

pub(super) fn first<'a>(l: &'a Leaves, keys: &[&str]) -> Option<&'a str> {
    l.first(keys)
}

/// Last address among `keys`, skipping unspecified ones (0.0.0.0, ::) when a
/// specified one exists: templates with both IPv4 and IPv6 address fields
/// fill the unused family with zeros.
pub(super) fn last_addr(l: &Leaves, keys: &[&str]) -> Option<String> {
    let specified =
        l.0.iter()
            .rev()
            .filter(|(k, _)| keys.contains(&k.as_str()))
            .find(|(_, v)| v.parse::<IpAddr>().is_ok_and(|a| !a.is_unspecified()));
    specified
        .map(|(_, v)| v.clone())
        .or_else(|| l.last(keys).map(str::to_string))
}

pub(super) fn num(s: &str) -> Option<u64> {
    if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16).ok()
    } else {
        s.parse().ok()
    }
}

pub(super) fn secs_to_ms(s: &str) -> Option<i64> {
    // "384.069000000" seconds → ms, exactly.
    let (i, f) = s.split_once('.').unwrap_or((s, "0"));
    let f = format!("{f:0<9}");
    Some(i.parse::<i64>().ok()? * 1000 + f[..3].parse::<i64>().ok()?)
}

/// "May 14, 2023 17:29:32.000000000 UTC" → unix ms.
pub(super) fn date_to_ms(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [mon, day, year, time, _tz] = parts.as_slice() else {
        return None;
    };
    let m = MONTHS.iter().position(|x| x == mon)? as i8 + 1;
    let d: i8 = day.trim_end_matches(',').parse().ok()?;
    let y: i16 = year.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut hms = hms.split(':').map(|x| x.parse::<i8>().ok());
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    let dt = jiff::civil::date(y, m, d).at(h, mi, se, 0);
    let ts = dt.to_zoned(jiff::tz::TimeZone::UTC).ok()?.timestamp();
    let frac = format!("{frac:0<9}");
    Some(ts.as_millisecond() + frac[..3].parse::<i64>().ok()?)
}

pub(super) fn compare(t: &mut Tally, ours: &FlowRecord, ts: &TsRecord, ctx: &str) {
    let f = &ts.fields;
    let s = |v: Option<&str>| v.map(str::to_string);
    let o = |v: Option<String>| v;
    let n = |keys: &[&str]| first(f, keys).and_then(num).map(|v| v.to_string());
    // Biflow templates list forward fields before reverse ones and tshark
    // files both under one name: take the first. Otherwise a repeated
    // element is read last-wins (outer then inner header), as we decode it.
    let biflow = ours.reverse_bytes.is_some() || ours.reverse_packets.is_some();
    let nl = |keys: &[&str]| {
        if biflow { f.first(keys) } else { f.last(keys) }
            .and_then(num)
            .map(|v| v.to_string())
    };
    let values = |k: &str| -> Vec<String> { f.0.iter().filter(|(x, _)| x == k).map(|(_, v)| v.clone()).collect() };
    let a = |keys: &[&str]| last_addr(f, keys);
    if ours.protocol == Protocol::Sflow5 {
        t.check(
            "src_addr",
            o(ours.src_addr.map(|a| a.to_string())),
            s(first(
                f,
                &["ip.src", "ipv6.src", "sflow_245.ipv4_src", "sflow_245.ipv6_src"],
            )),
            ctx,
        );
        t.check(
            "dst_addr",
            o(ours.dst_addr.map(|a| a.to_string())),
            s(first(
                f,
                &["ip.dst", "ipv6.dst", "sflow_245.ipv4_dst", "sflow_245.ipv6_dst"],
            )),
            ctx,
        );
        t.check(
            "src_port",
            o(ours.src_port.map(|v| v.to_string())),
            n(&["tcp.srcport", "udp.srcport"]),
            ctx,
        );
        t.check(
            "dst_port",
            o(ours.dst_port.map(|v| v.to_string())),
            n(&["tcp.dstport", "udp.dstport"]),
            ctx,
        );
        // Bytes are the IP length, as NetFlow/IPFIX count them: the sampled
        // header's first IP header (IPv6: payload + 40), the sampled IPv4/
        // IPv6 record's length, else the frame length for non-IP frames.
        let ip_len = n(&["ip.len"])
            .or_else(|| n(&["ipv6.plen"]).map(|p| (p.parse::<u64>().unwrap() + 40).to_string()))
            .or_else(|| n(&["sflow_245.ip.length"]))
            .or_else(|| n(&["sflow_245.header.frame_length"]));
        t.check("bytes", o(ours.bytes.map(|v| v.to_string())), ip_len, ctx);
        t.check(
            "sampling_rate",
            o(ours.sampling_rate.map(|v| v.to_string())),
            n(&["sflow.flow_sample.sampling_rate"]),
            ctx,
        );
        t.check(
            "in_if",
            o(ours.in_if.map(|v| v.to_string())),
            n(&[
                "sflow.flow_sample.input_interface_value",
                "sflow.flow_sample.input_interface",
            ])
            .filter(|v| v != "1073741823"),
            ctx,
        );
        // tshark prints the 32-bit field as sent; ids above 4095 (0xffffffff =
        // unknown) are not VLANs and we leave them absent.
        let vlan = n(&["sflow_245.vlan.in", "vlan.id"]).filter(|v| v.parse::<u32>().is_ok_and(|v| v <= 4095));
        t.check("src_vlan", o(ours.src_vlan.map(|v| v.to_string())), vlan, ctx);
        t.check(
            "src_as",
            o(ours.src_as.map(|v| v.to_string())),
            n(&["sflow_245.src_as"]),
            ctx,
        );
        t.check(
            "src_mask",
            o(ours.src_mask.map(|v| v.to_string())),
            n(&["sflow_245.nexthop.src_mask", "sflow_245.nexthop.source_mask"]),
            ctx,
        );
        return;
    }
    // Records that carry a sampled frame (IE 315) instead of address fields
    // are compared with tshark's dissection of that frame.
    let frame_src = first(f, &["ip.src", "ipv6.src"]).map(str::to_string);
    let frame_dst = first(f, &["ip.dst", "ipv6.dst"]).map(str::to_string);
    t.check(
        "src_addr",
        o(ours.src_addr.map(|a| a.to_string())),
        a(&["cflow.srcaddr", "cflow.srcaddrv6"]).or(frame_src),
        ctx,
    );
    t.check(
        "dst_addr",
        o(ours.dst_addr.map(|a| a.to_string())),
        a(&["cflow.dstaddr", "cflow.dstaddrv6"]).or(frame_dst),
        ctx,
    );
    // tshark also files the protocol-specific port elements (IE 180–183)
    // under cflow.srcport/dstport; with several values ours must be one.
    for (field, key, v) in [
        ("src_port", "cflow.srcport", ours.src_port),
        ("dst_port", "cflow.dstport", ours.dst_port),
    ] {
        let all = values(key);
        let ours_s = v.map(|v| v.to_string());
        if all.len() > 1 && ours_s.as_ref().is_some_and(|o| all.contains(o)) {
            t.check(field, ours_s.clone(), ours_s, ctx);
        } else {
            t.check(field, ours_s, nl(&[key]), ctx);
        }
    }
    t.check(
        "proto",
        o(ours.proto.map(|v| v.to_string())),
        nl(&["cflow.protocol"]),
        ctx,
    );
    if biflow && values("cflow.octets").len() > 1 {
        // tshark names RFC 5103 reverse counters like the forward ones
        // ("cflow.octets" twice), so compare the pair as a set.
        let all = |k: &str| {
            let mut v: Vec<u64> = f.0.iter().filter(|(x, _)| x == k).filter_map(|(_, v)| num(v)).collect();
            v.sort();
            (!v.is_empty()).then(|| format!("{v:?}"))
        };
        let pair = |a: Option<u64>, b: Option<u64>| {
            let mut v: Vec<u64> = a.into_iter().chain(b).collect();
            v.sort();
            Some(format!("{v:?}"))
        };
        t.check("bytes", pair(ours.bytes, ours.reverse_bytes), all("cflow.octets"), ctx);
        t.check(
            "packets",
            pair(ours.packets, ours.reverse_packets),
            all("cflow.packets"),
            ctx,
        );
    } else {
        t.check(
            "bytes",
            o(ours.bytes.map(|v| v.to_string())),
            nl(&["cflow.octets"]),
            ctx,
        );
        t.check(
            "packets",
            o(ours.packets.map(|v| v.to_string())),
            nl(&["cflow.packets"]),
            ctx,
        );
    }
    t.check(
        "in_if",
        o(ours.in_if.map(|v| v.to_string())),
        nl(&["cflow.inputint"]),
        ctx,
    );
    t.check(
        "out_if",
        o(ours.out_if.map(|v| v.to_string())),
        nl(&["cflow.outputint"]),
        ctx,
    );
    t.check(
        "src_as",
        o(ours.src_as.map(|v| v.to_string())),
        nl(&["cflow.srcas"]),
        ctx,
    );
    t.check(
        "dst_as",
        o(ours.dst_as.map(|v| v.to_string())),
        nl(&["cflow.dstas"]),
        ctx,
    );
    t.check(
        "src_mask",
        o(ours.src_mask.map(|v| v.to_string())),
        nl(&["cflow.srcmask", "cflow.srcmaskv6"]),
        ctx,
    );
    t.check(
        "dst_mask",
        o(ours.dst_mask.map(|v| v.to_string())),
        nl(&["cflow.dstmask", "cflow.dstmaskv6"]),
        ctx,
    );
    t.check(
        "tcp_flags",
        o(ours.tcp_flags.map(|v| v.to_string())),
        nl(&["cflow.tcpflags"]),
        ctx,
    );
    t.check("tos", o(ours.tos.map(|v| v.to_string())), nl(&["cflow.tos"]), ctx);
    t.check(
        "next_hop",
        o(ours.next_hop.map(|v| v.to_string())),
        a(&["cflow.nexthop", "cflow.nexthopv6"]),
        ctx,
    );
    t.check(
        "bgp_next_hop",
        o(ours.bgp_next_hop.map(|v| v.to_string())),
        a(&["cflow.bgpnexthop", "cflow.bgpnexthopv6"]),
        ctx,
    );
    t.check(
        "src_mac",
        o(ours.src_mac.map(|v| v.to_string())),
        a(&["cflow.srcmac"]),
        ctx,
    );
    t.check(
        "dst_mac",
        o(ours.dst_mac.map(|v| v.to_string())),
        a(&["cflow.dstmac"]),
        ctx,
    );
    // flowDirection defines 0 (ingress) and 1 (egress); other values (Cisco
    // sends 255) mean "unknown" and we leave the direction absent.
    let dir = nl(&["cflow.direction"]).filter(|d| d == "0" || d == "1");
    let dir = dir.or_else(|| f.contains_key("cflow.direction").then(String::new));
    t.check(
        "direction",
        o(ours.direction.map(|d| (d as u8).to_string())).or(Some(String::new())),
        dir,
        ctx,
    );
    t.check(
        "end_reason",
        o(ours.end_reason.map(|v| v.to_string())),
        nl(&["cflow.flow_end_reason"]),
        ctx,
    );
    t.check(
        "nat_src_addr",
        o(ours.nat_src_addr.map(|v| v.to_string())),
        a(&["cflow.post_natsource_ipv4_address"]),
        ctx,
    );
    t.check(
        "nat_dst_addr",
        o(ours.nat_dst_addr.map(|v| v.to_string())),
        a(&["cflow.post_natdestination_ipv4_address"]),
        ctx,
    );
    t.check(
        "nat_src_port",
        o(ours.nat_src_port.map(|v| v.to_string())),
        nl(&["cflow.post_naptsource_transport_port"]),
        ctx,
    );
    t.check(
        "nat_dst_port",
        o(ours.nat_dst_port.map(|v| v.to_string())),
        nl(&["cflow.post_naptdestination_transport_port"]),
        ctx,
    );
    t.check(
        "flow_label",
        o(ours.flow_label.map(|v| v.to_string())),
        nl(&["cflow.ipv6flowlabel"]),
        ctx,
    );
    t.check(
        "mpls_label",
        o(ours.mpls_label.map(|v| v.to_string())),
        n(&["cflow.mpls_label"]),
        ctx,
    );
    // Sampling rate in the header (v5) or the record.
    let rate = nl(&["cflow.sampling_interval"]).or_else(|| {
        first(&ts.header, &["cflow.samplerate"])
            .and_then(num)
            .filter(|&r| r > 0)
            .map(|v| v.to_string())
    });
    t.check("sampling_rate", o(ours.sampling_rate.map(|v| v.to_string())), rate, ctx);
    // Times: v5/v9 show uptime-relative seconds next to the header's uptime
    // and export time; IPFIX shows absolute dates, or uptime-relative seconds
    // against the system init time of options data.
    let header_ms = first(&ts.header, &["cflow.timestamp"]).and_then(date_to_ms);
    let up_ms = first(&ts.header, &["cflow.sysuptime"]).and_then(secs_to_ms);
    let init_ms = first(&ts.header, &["flowlens.sys_init"]).and_then(date_to_ms);
    for (field, ours_t, rel, abs) in [
        ("time_start", ours.time_start, "cflow.timestart", "cflow.abstimestart"),
        ("time_end", ours.time_end, "cflow.timeend", "cflow.abstimeend"),
    ] {
        let ours_ms = ours_t.map(|t| t.as_millis());
        // tshark prints an uptime-relative time of exactly 0 as the date
        // 1970-01-01 instead of "0.000 seconds".
        let abs_all: Vec<i64> = values(abs)
            .iter()
            .filter_map(|v| date_to_ms(v))
            .filter(|&v| v != 0)
            .collect();
        let zero_rel = values(abs).iter().any(|v| date_to_ms(v) == Some(0));
        let rel_v = first(f, &[rel]).and_then(secs_to_ms).or(zero_rel.then_some(0));
        let theirs = if !abs_all.is_empty() {
            // The same instant at several resolutions (seconds and ms): we
            // keep the finest, which must be one of tshark's.
            Some(ours_ms.filter(|o| abs_all.contains(o)).unwrap_or(abs_all[0]))
        } else if let (Some(r), Some(h), Some(u)) = (rel_v, header_ms, up_ms) {
            Some(h - (u - r))
        } else if let (Some(r), Some(i)) = (rel_v, init_ms) {
            Some(i + r)
        } else {
            None
        };
        t.check(
            field,
            ours_ms.map(|v| v.to_string()),
            theirs.map(|v| v.to_string()),
            ctx,
        );
    }
}
