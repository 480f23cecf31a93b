//! Filling a [`FlowRecord`] from field values: `apply` stores one value in
//! its slot (or in the per-record [`Scratch`]); [`Scratch::finish`] resolves
//! what needs the whole record or exporter state — times relative to uptime
//! or export time, fallback counters, the sampling rate.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::cursor::be_uint;
use crate::ie::Slot;
use crate::record::{Direction, FlowRecord, MacAddr, Timestamp};

/// Values of a record that need the whole record (or exporter state) before
/// they mean anything: times relative to uptime or export time, sampling
/// parameters, counters with fallbacks. Filled while walking the fields and
/// resolved by [`Scratch::finish`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Scratch {
    pub start_uptime: Option<u32>,
    pub end_uptime: Option<u32>,
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub start_delta_us: Option<u64>,
    pub end_delta_us: Option<u64>,
    pub sys_init: Option<Timestamp>,
    pub observation: Option<Timestamp>,
    pub sampling_interval: Option<u64>,
    pub random_interval: Option<u64>,
    pub packet_interval: Option<u64>,
    pub packet_space: Option<u64>,
    pub sampling_size: Option<u64>,
    pub sampling_population: Option<u64>,
    pub post_bytes: Option<u64>,
    pub post_packets: Option<u64>,
    pub total_bytes: Option<u64>,
    pub total_packets: Option<u64>,
    pub initiator_bytes: Option<u64>,
    pub initiator_packets: Option<u64>,
    pub phys_in_if: Option<u32>,
    pub phys_out_if: Option<u32>,
    pub post_src_mac: Option<MacAddr>,
    pub post_dst_mac: Option<MacAddr>,
    /// Resolution of `start`/`end` (0 s, 1 ms, 2 NTP): a record carrying
    /// the same instant at several resolutions keeps the finest.
    pub start_rank: u8,
    pub end_rank: u8,
    /// (UDP, TCP) protocol-specific ports, IE 180–183.
    pub udp_ports: (Option<u16>, Option<u16>),
    pub tcp_ports: (Option<u16>, Option<u16>),
}

impl Scratch {
    /// Clears what a record assigns conditionally (time resolution ranks);
    /// all other slots are overwritten by every record of a template.
    #[inline]
    pub fn reset_record(&mut self) {
        self.start = None;
        self.end = None;
        self.start_rank = 0;
        self.end_rank = 0;
    }

    #[inline]
    fn set_start(&mut self, t: Timestamp, rank: u8) {
        if self.start.is_none() || rank >= self.start_rank {
            self.start = Some(t);
            self.start_rank = rank;
        }
    }
    #[inline]
    fn set_end(&mut self, t: Timestamp, rank: u8) {
        if self.end.is_none() || rank >= self.end_rank {
            self.end = Some(t);
            self.end_rank = rank;
        }
    }
}

#[inline]
fn addr4(v: &[u8]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))
}

#[inline]
fn addr6(v: &[u8]) -> IpAddr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&v[..16]);
    IpAddr::V6(Ipv6Addr::from(a))
}

#[inline]
fn mac(v: &[u8]) -> MacAddr {
    let mut a = [0u8; 6];
    a.copy_from_slice(&v[..6]);
    MacAddr(a)
}

#[inline]
fn sat_u32(v: u64) -> u32 {
    v.min(u32::MAX as u64) as u32
}

#[inline]
fn sat_u16(v: u64) -> u16 {
    v.min(u16::MAX as u64) as u16
}

#[inline]
fn sat_u8(v: u64) -> u8 {
    v.min(u8::MAX as u64) as u8
}

/// Stores an address. A field repeated in a template (outer and inner header
/// of a tunnel) is read last-wins, as nfacctd does; but an unspecified address
/// (0.0.0.0, ::) never replaces a specified one, since templates with both
/// IPv4 and IPv6 fields zero the family a record does not use.
#[inline(always)]
fn set_addr(slot: &mut Option<IpAddr>, raw: &[u8], a: impl FnOnce(&[u8]) -> IpAddr) {
    // Test the wire bytes for zero rather than the built address: cheaper,
    // and the common case (a specified address) then stores unconditionally.
    if raw.iter().any(|&b| b != 0) || slot.is_none_or(|old| old.is_unspecified()) {
        *slot = Some(a(raw));
    }
}

/// Fills the fields a record lacks from a sampled frame or IP header (IE 315
/// or 313). Fields the record carries itself always win, whichever order
/// they come in: this runs fill-if-absent, and the typed IEs overwrite.
#[cold]
fn fill_from_packet(p: &crate::packet::PacketInfo, r: &mut FlowRecord) {
    fn fill<T: Copy>(slot: &mut Option<T>, v: Option<T>) {
        if slot.is_none() {
            *slot = v;
        }
    }
    fill(&mut r.src_mac, p.src_mac);
    fill(&mut r.dst_mac, p.dst_mac);
    fill(&mut r.src_vlan, p.vlan);
    fill(&mut r.mpls_label, p.mpls_label);
    fill(&mut r.ip_version, p.ip_version);
    fill(&mut r.src_addr, p.src_addr);
    fill(&mut r.dst_addr, p.dst_addr);
    fill(&mut r.proto, p.proto);
    fill(&mut r.tos, p.tos);
    fill(&mut r.ttl, p.ttl);
    if p.ip_version == Some(6) {
        fill(&mut r.flow_label, p.flow_label);
    }
    fill(&mut r.src_port, p.src_port);
    fill(&mut r.dst_port, p.dst_port);
    fill(&mut r.tcp_flags, p.tcp_flags);
    fill(&mut r.icmp_type, p.icmp_type);
    fill(&mut r.icmp_code, p.icmp_code);
    // One sampled packet: its IP length and a count of one, unless the
    // record has counters of its own.
    fill(&mut r.bytes, p.ip_len.map(u64::from));
    if p.ip_len.is_some() {
        fill(&mut r.packets, Some(1));
    }
}

/// Stores one field value. `v` has the length the slot was compiled for.
#[inline(always)]
pub(crate) fn apply(slot: Slot, v: &[u8], r: &mut FlowRecord, s: &mut Scratch) {
    use Slot::*;
    match slot {
        Bytes => r.bytes = Some(be_uint(v)),
        Packets => r.packets = Some(be_uint(v)),
        Flows => r.flows = Some(be_uint(v)),
        PostBytes => s.post_bytes = Some(be_uint(v)),
        PostPackets => s.post_packets = Some(be_uint(v)),
        TotalBytes => s.total_bytes = Some(be_uint(v)),
        TotalPackets => s.total_packets = Some(be_uint(v)),
        InitiatorBytes => s.initiator_bytes = Some(be_uint(v)),
        InitiatorPackets => s.initiator_packets = Some(be_uint(v)),
        ResponderBytes | RevBytes => r.reverse_bytes = Some(be_uint(v)),
        ResponderPackets | RevPackets => r.reverse_packets = Some(be_uint(v)),
        Proto => r.proto = Some(sat_u8(be_uint(v))),
        Tos => r.tos = Some(sat_u8(be_uint(v))),
        TcpFlags => r.tcp_flags = Some(sat_u16(be_uint(v))),
        SrcPort => r.src_port = Some(sat_u16(be_uint(v))),
        DstPort => r.dst_port = Some(sat_u16(be_uint(v))),
        UdpSrcPort => s.udp_ports.0 = Some(sat_u16(be_uint(v))),
        UdpDstPort => s.udp_ports.1 = Some(sat_u16(be_uint(v))),
        TcpSrcPort => s.tcp_ports.0 = Some(sat_u16(be_uint(v))),
        TcpDstPort => s.tcp_ports.1 = Some(sat_u16(be_uint(v))),
        SrcAddr4 => set_addr(&mut r.src_addr, v, addr4),
        DstAddr4 => set_addr(&mut r.dst_addr, v, addr4),
        SrcAddr6 => set_addr(&mut r.src_addr, v, addr6),
        DstAddr6 => set_addr(&mut r.dst_addr, v, addr6),
        SrcMask => r.src_mask = Some(sat_u8(be_uint(v))),
        DstMask => r.dst_mask = Some(sat_u8(be_uint(v))),
        InIf => r.in_if = Some(sat_u32(be_uint(v))),
        OutIf => r.out_if = Some(sat_u32(be_uint(v))),
        InPhysIf => s.phys_in_if = Some(sat_u32(be_uint(v))),
        OutPhysIf => s.phys_out_if = Some(sat_u32(be_uint(v))),
        NextHop4 => set_addr(&mut r.next_hop, v, addr4),
        NextHop6 => set_addr(&mut r.next_hop, v, addr6),
        BgpNextHop4 => set_addr(&mut r.bgp_next_hop, v, addr4),
        BgpNextHop6 => set_addr(&mut r.bgp_next_hop, v, addr6),
        SrcAs => r.src_as = Some(sat_u32(be_uint(v))),
        DstAs => r.dst_as = Some(sat_u32(be_uint(v))),
        StartUptime => s.start_uptime = Some(sat_u32(be_uint(v))),
        EndUptime => s.end_uptime = Some(sat_u32(be_uint(v))),
        StartSecs => s.set_start(Timestamp::from_secs(be_uint(v) as i64), 0),
        EndSecs => s.set_end(Timestamp::from_secs(be_uint(v) as i64), 0),
        StartMillis => s.set_start(Timestamp::from_millis(be_uint(v) as i64), 1),
        EndMillis => s.set_end(Timestamp::from_millis(be_uint(v) as i64), 1),
        StartNtp => s.set_start(Timestamp::from_ntp(be_uint(v)), 2),
        EndNtp => s.set_end(Timestamp::from_ntp(be_uint(v)), 2),
        StartDeltaMicros => s.start_delta_us = Some(be_uint(v)),
        EndDeltaMicros => s.end_delta_us = Some(be_uint(v)),
        SysInitMillis => s.sys_init = Some(Timestamp::from_millis(be_uint(v) as i64)),
        ObservationMillis => s.observation = Some(Timestamp::from_millis(be_uint(v) as i64)),
        ObservationNtp => s.observation = Some(Timestamp::from_ntp(be_uint(v))),
        FlowLabel => r.flow_label = Some(sat_u32(be_uint(v)) & 0xf_ffff),
        IcmpTypeCode => {
            let tc = be_uint(v);
            r.icmp_type = Some((tc >> 8) as u8);
            r.icmp_code = Some(tc as u8);
        }
        IcmpType => r.icmp_type = Some(sat_u8(be_uint(v))),
        IcmpCode => r.icmp_code = Some(sat_u8(be_uint(v))),
        SamplingInterval => s.sampling_interval = Some(be_uint(v)),
        SamplerId => r.sampler_id = Some(be_uint(v)),
        SamplerRandomInterval => s.random_interval = Some(be_uint(v)),
        SamplingPacketInterval => s.packet_interval = Some(be_uint(v)),
        SamplingPacketSpace => s.packet_space = Some(be_uint(v)),
        SamplingSize => s.sampling_size = Some(be_uint(v)),
        SamplingPopulation => s.sampling_population = Some(be_uint(v)),
        Ttl => r.ttl = Some(sat_u8(be_uint(v))),
        SrcMac => r.src_mac = Some(mac(v)),
        DstMac => r.dst_mac = Some(mac(v)),
        PostSrcMac => s.post_src_mac = Some(mac(v)),
        PostDstMac => s.post_dst_mac = Some(mac(v)),
        SrcVlan => r.src_vlan = Some(sat_u16(be_uint(v)) & 0x0fff),
        DstVlan => r.dst_vlan = Some(sat_u16(be_uint(v)) & 0x0fff),
        IpVersion => r.ip_version = Some(sat_u8(be_uint(v))),
        Direction => {
            r.direction = match be_uint(v) {
                0 => Some(crate::record::Direction::Ingress),
                1 => Some(crate::record::Direction::Egress),
                _ => None,
            }
        }
        MplsTop => r.mpls_label = Some((be_uint(&v[..3]) >> 4) as u32),
        ForwardingStatus => {
            // RFC 7270 reduced-size forms put the status byte first.
            r.forwarding_status = Some(v[0]);
        }
        EndReason => r.end_reason = Some(sat_u8(be_uint(v))),
        NatSrc4 => r.nat_src_addr = Some(addr4(v)),
        NatDst4 => r.nat_dst_addr = Some(addr4(v)),
        NatSrc6 => r.nat_src_addr = Some(addr6(v)),
        NatDst6 => r.nat_dst_addr = Some(addr6(v)),
        NatSrcPort => r.nat_src_port = Some(sat_u16(be_uint(v))),
        NatDstPort => r.nat_dst_port = Some(sat_u16(be_uint(v))),
        DataLinkSection => fill_from_packet(&crate::packet::parse_ethernet(v), r),
        IpHeaderSection => fill_from_packet(&crate::packet::parse_ip(v), r),
        Skip | Raw => {}
    }
}

/// What the datagram header and exporter state contribute to resolving a
/// record's times and sampling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordContext {
    /// Export time from the message header.
    pub export_time: Timestamp,
    /// NetFlow v9 header sysUptime (ms) — uptime fields are relative to it.
    pub sys_uptime_ms: Option<u32>,
    /// IPFIX systemInitTimeMilliseconds learnt from options data.
    pub sys_init: Option<Timestamp>,
    /// Exporter-wide sampling rate learnt from options data without a sampler id.
    pub default_rate: Option<u32>,
}

impl Scratch {
    /// Resolves times, fallback counters and the record-level sampling rate.
    /// `sampler_rate` looks a sampler id up in the exporter's options state.
    #[inline]
    pub fn finish(&self, r: &mut FlowRecord, ctx: &RecordContext, sampler_rate: impl Fn(u64) -> Option<u32>) {
        use crate::record::SamplingSource;
        // Times: absolute forms win; then deltas from export time; then
        // uptime-relative forms.
        let uptime = |ms: u32| -> Option<Timestamp> {
            if let Some(up) = ctx.sys_uptime_ms {
                Some(crate::netflow::legacy::uptime_to_time(ctx.export_time, up, ms))
            } else {
                let init = self.sys_init.or(ctx.sys_init)?;
                // A hostile systemInitTimeMilliseconds can sit at the end of
                // the range: saturate rather than overflow.
                Some(Timestamp(init.0.saturating_add(i64::from(ms) * 1_000_000)))
            }
        };
        let delta = |us: u64| Timestamp(ctx.export_time.0 - (us.min(i64::MAX as u64 / 1000) as i64) * 1000);
        r.time_start = self
            .start
            .or_else(|| self.start_delta_us.map(delta))
            .or_else(|| self.start_uptime.and_then(uptime))
            .or(self.observation);
        r.time_end = self
            .end
            .or_else(|| self.end_delta_us.map(delta))
            .or_else(|| self.end_uptime.and_then(uptime))
            .or(self.observation);

        let (sp, dp) = match r.proto {
            Some(6) => self.tcp_ports,
            Some(17) => self.udp_ports,
            _ => (None, None),
        };
        if r.src_port.is_none() {
            r.src_port = sp;
        }
        if r.dst_port.is_none() {
            r.dst_port = dp;
        }
        r.icmp_from_port(false);
        if r.ip_version.is_none() {
            r.ip_version = r.src_addr.or(r.dst_addr).map(|a| if a.is_ipv4() { 4 } else { 6 });
        }

        // Counters: prefer the delta counts; NSEL and some firewalls only send
        // initiator/responder or total counts, v9 egress-only exporters send
        // OUT_BYTES/OUT_PKTS.
        if r.bytes.is_none() {
            r.bytes = self.initiator_bytes.or(self.post_bytes).or(self.total_bytes);
        }
        if r.packets.is_none() {
            r.packets = self.initiator_packets.or(self.post_packets).or(self.total_packets);
        }
        if r.in_if.is_none() {
            r.in_if = self.phys_in_if;
        }
        if r.out_if.is_none() {
            r.out_if = self.phys_out_if;
        }
        if r.src_mac.is_none() {
            r.src_mac = self.post_src_mac;
        }
        if r.dst_mac.is_none() {
            r.dst_mac = self.post_dst_mac;
        }
        if r.direction == Some(Direction::Egress) {
            // Egress records commonly carry only the post-* MACs.
            if self.post_src_mac.is_some() {
                r.src_mac = self.post_src_mac;
            }
            if self.post_dst_mac.is_some() {
                r.dst_mac = self.post_dst_mac;
            }
        }

        // Sampling: a rate in the record itself, then the sampler it names,
        // then the exporter-wide rate from options.
        if let Some(rate) = self.record_rate() {
            r.sampling_rate = Some(rate);
            r.sampling_source = Some(SamplingSource::Record);
        } else if let Some(rate) = r.sampler_id.and_then(&sampler_rate) {
            r.sampling_rate = Some(rate);
            r.sampling_source = Some(SamplingSource::Options);
        } else if let Some(rate) = ctx.default_rate {
            r.sampling_rate = Some(rate);
            r.sampling_source = Some(SamplingSource::Options);
        }
    }

    /// A 1-in-N rate from sampling fields in the record itself (or in an
    /// options record), following RFC 7012/7014 semantics.
    pub fn record_rate(&self) -> Option<u32> {
        let rate = if let Some(i) = self.sampling_interval.filter(|&i| i > 0) {
            Some(i)
        } else if let Some(i) = self.random_interval.filter(|&i| i > 0) {
            Some(i)
        } else if let (Some(i), Some(sp)) = (self.packet_interval, self.packet_space) {
            // Select `i` packets, then skip `sp`: one in (i+sp)/i.
            (i > 0).then(|| i.saturating_add(sp) / i)
        } else if let (Some(size), Some(pop)) = (self.sampling_size, self.sampling_population) {
            (size > 0).then(|| pop / size)
        } else {
            None
        };
        rate.filter(|&r| r > 0).map(sat_u32)
    }
}
