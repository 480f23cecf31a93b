//! UDP receive: sockets (SO_REUSEPORT, receive buffer, optional interface),
//! batched `recvmmsg`, the exporter allow-list, and the hand-off of each
//! exporter's datagrams to its decode worker.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use flowlens_wire::{detect, Detected, Timestamp};
use ipnet::IpNet;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::telemetry::{DatagramDrop, Telemetry};
use crate::config::{ListenProtocol, Listener};

/// Largest datagram received whole (the UDP maximum).
pub const MAX_DATAGRAM: usize = 65_535;
/// Datagrams one `recvmmsg` call may return.
pub const RECV_BATCH: usize = 32;
/// How often a blocked receive looks at the stop flag.
pub const RECV_WAKE: Duration = Duration::from_millis(100);

/// Datagrams from one receive call bound for one decode worker.
#[derive(Debug)]
pub struct Datagrams {
    pub listener: usize,
    pub protocol: ListenProtocol,
    pub received: Timestamp,
    pub data: Vec<u8>,
    /// (sender, end offset in `data`).
    pub items: Vec<(SocketAddr, usize)>,
}

impl Datagrams {
    pub fn iter(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        let mut start = 0;
        self.items.iter().map(move |(from, end)| {
            let d = &self.data[start..*end];
            start = *end;
            (*from, d)
        })
    }
}

/// What binding a listener found.
pub struct Bound {
    pub sockets: Vec<UdpSocket>,
    /// The receive buffer the kernel granted, when less than asked.
    pub capped_buffer: Option<usize>,
}

/// Binds `l.sockets` sockets on the listener's address (SO_REUSEPORT when
/// more than one), IPv6 sockets v6-only so `0.0.0.0` and `[::]` can share
/// a port.
pub fn bind(l: &Listener) -> io::Result<Bound> {
    let addr = l.addr();
    let mut sockets = Vec::new();
    let mut capped_buffer = None;
    for _ in 0..l.sockets {
        let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
        if addr.is_ipv6() {
            s.set_only_v6(true)?;
        }
        if l.sockets > 1 {
            s.set_reuse_port(true)?;
        }
        if let Some(dev) = &l.interface {
            s.bind_device(Some(dev.as_bytes())).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot bind to interface {dev}: {e} (it needs CAP_NET_RAW, and the interface must exist)"),
                )
            })?;
        }
        let want = l.receive_buffer.0 as usize;
        // Best effort: the kernel caps it at net.core.rmem_max.
        let _ = s.set_recv_buffer_size(want);
        // Linux reports twice what it grants (the other half is overhead).
        let got = s.recv_buffer_size().unwrap_or(0) / 2;
        if got < want {
            capped_buffer = Some(got);
        }
        s.set_read_timeout(Some(RECV_WAKE))?;
        s.bind(&SockAddr::from(addr))?;
        sockets.push(s.into());
    }
    Ok(Bound { sockets, capped_buffer })
}

/// Which decode worker an exporter belongs to: by address only, so every
/// port an exporter sends from shares one template state.
pub fn worker_of(ip: IpAddr, workers: usize) -> usize {
    let k: u128 = match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    let h = (k as u64 ^ (k >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((h >> 32) as usize) % workers
}

pub struct Receiver {
    pub socket: UdpSocket,
    pub listener: usize,
    pub protocol: ListenProtocol,
    pub allow: Arc<Vec<IpNet>>,
    pub workers: Vec<SyncSender<Datagrams>>,
    pub telemetry: Arc<Telemetry>,
    pub stop: Arc<AtomicBool>,
}

impl Receiver {
    /// Receives until `stop` is set.
    pub fn run(self) {
        let mut bufs = RecvBufs::new();
        let mut out: Vec<Option<Datagrams>> = (0..self.workers.len()).map(|_| None).collect();
        let stats = &self.telemetry.listeners[self.listener];
        while !self.stop.load(Ordering::Relaxed) {
            let n = match bufs.recv(&self.socket) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => {
                    tracing::warn!(listener = self.listener, error = %e, "receive failed");
                    std::thread::sleep(RECV_WAKE);
                    continue;
                }
            };
            let received = super::now();
            let mut bytes = 0u64;
            for i in 0..n {
                let (from, data) = bufs.get(i);
                bytes += data.len() as u64;
                let ip = from.ip().to_canonical();
                let from = SocketAddr::new(ip, from.port());
                if !self.allow.is_empty() && !self.allow.iter().any(|net| net.contains(&ip)) {
                    self.telemetry.drop_datagrams(DatagramDrop::NotAllowed, 1);
                    continue;
                }
                if !takes(self.protocol, data) {
                    self.telemetry.drop_datagrams(DatagramDrop::WrongProtocol, 1);
                    continue;
                }
                let w = worker_of(ip, self.workers.len());
                let d = out[w].get_or_insert_with(|| Datagrams {
                    listener: self.listener,
                    protocol: self.protocol,
                    received,
                    data: Vec::with_capacity(data.len() * (n - i)),
                    items: Vec::with_capacity(n - i),
                });
                d.data.extend_from_slice(data);
                d.items.push((from, d.data.len()));
            }
            stats.datagrams.fetch_add(n as u64, Ordering::Relaxed);
            stats.bytes.fetch_add(bytes, Ordering::Relaxed);
            self.telemetry.datagrams.fetch_add(n as u64, Ordering::Relaxed);
            for (w, slot) in out.iter_mut().enumerate() {
                if let Some(d) = slot.take() {
                    let count = d.items.len() as u64;
                    let depth = &self.telemetry.decode_queues[w];
                    depth.fetch_add(1, Ordering::Relaxed);
                    match self.workers[w].try_send(d) {
                        Ok(()) => {}
                        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                            depth.fetch_sub(1, Ordering::Relaxed);
                            self.telemetry.drop_datagrams(DatagramDrop::DecodeQueueFull, count);
                        }
                    }
                }
            }
        }
    }
}

/// Whether a listener for `p` takes this datagram (undecodable ones go on,
/// to be counted by the decoder with their error).
fn takes(p: ListenProtocol, data: &[u8]) -> bool {
    match (p, detect(data)) {
        (ListenProtocol::Auto, _) | (_, Err(_)) => true,
        (ListenProtocol::Netflow, Ok(d)) => matches!(d, Detected::Netflow(_)),
        (ListenProtocol::Ipfix, Ok(d)) => d == Detected::Ipfix,
        (ListenProtocol::Sflow, Ok(d)) => d == Detected::Sflow5,
    }
}

/// Buffers for one `recvmmsg` call.
struct RecvBufs {
    data: Vec<u8>,
    addrs: Vec<libc::sockaddr_storage>,
    lens: [usize; RECV_BATCH],
    addr_lens: [libc::socklen_t; RECV_BATCH],
}

impl RecvBufs {
    fn new() -> RecvBufs {
        RecvBufs {
            data: vec![0; RECV_BATCH * MAX_DATAGRAM],
            // SAFETY: sockaddr_storage is plain data; all zeroes is valid.
            addrs: vec![unsafe { std::mem::zeroed() }; RECV_BATCH],
            lens: [0; RECV_BATCH],
            addr_lens: [0; RECV_BATCH],
        }
    }

    /// Waits for at least one datagram (up to [`RECV_WAKE`]) and takes what
    /// else is queued, up to [`RECV_BATCH`].
    fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let mut iovs: Vec<libc::iovec> = self
            .data
            .chunks_mut(MAX_DATAGRAM)
            .map(|c| libc::iovec {
                iov_base: c.as_mut_ptr().cast(),
                iov_len: c.len(),
            })
            .collect();
        // SAFETY: mmsghdr is plain data; every pointer is set below.
        let mut msgs: [libc::mmsghdr; RECV_BATCH] = unsafe { std::mem::zeroed() };
        for (i, m) in msgs.iter_mut().enumerate() {
            m.msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            m.msg_hdr.msg_iov = &mut iovs[i];
            m.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every buffer outlives the call and its length is given.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                msgs.as_mut_ptr(),
                RECV_BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, m) in msgs.iter().enumerate().take(n) {
            self.lens[i] = (m.msg_len as usize).min(MAX_DATAGRAM);
            self.addr_lens[i] = m.msg_hdr.msg_namelen;
        }
        Ok(n)
    }

    fn get(&self, i: usize) -> (SocketAddr, &[u8]) {
        let from =
            to_socket_addr(&self.addrs[i], self.addr_lens[i]).unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let start = i * MAX_DATAGRAM;
        (from, &self.data[start..start + self.lens[i]])
    }
}

/// The sender address the kernel wrote into `s` (`len` bytes).
fn to_socket_addr(s: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match i32::from(s.ss_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family and length say it holds a sockaddr_in;
            // sockaddr_storage is aligned for every socket address type.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::from((
                u32::from_be(a.sin_addr.s_addr).to_be_bytes(),
                u16::from_be(a.sin_port),
            )))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*(s as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::from((a.sin6_addr.s6_addr, u16::from_be(a.sin6_port))))
        }
        _ => None,
    }
}

/// Datagrams the kernel dropped on this socket (receive buffer full), from
/// the `drops` column of /proc/net/udp{,6} for the socket's inode.
pub fn kernel_drops(socket: &UdpSocket) -> Option<u64> {
    // SAFETY: fstat on an open descriptor into a zeroed stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(socket.as_raw_fd(), &mut st) } != 0 {
        return None;
    }
    let inode = st.st_ino.to_string();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            if cols.len() >= 13 && cols[9] == inode {
                return cols[12].parse().ok();
            }
        }
    }
    None
}
