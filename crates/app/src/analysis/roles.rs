//! How a flow is read before it is counted: which end is the client and
//! which the server (a SYN without ACK marks the client; otherwise the port
//! below 1024, then the one outside the ephemeral range, then the lower
//! one), and which services speak an unencrypted or obsolete protocol.

use std::net::IpAddr;

/// Services on which an unencrypted or obsolete protocol runs:
/// (protocol, port, name, what to use instead).
pub const INSECURE: &[(u8, u16, &str, &str)] = &[
    (6, 23, "Telnet", "SSH"),
    (6, 21, "FTP", "SFTP or FTPS"),
    (17, 69, "TFTP", "SFTP, or TFTP only on an isolated management network"),
    (
        17,
        161,
        "SNMP v1/v2c (community strings in clear)",
        "SNMPv3 with authPriv",
    ),
    (6, 139, "SMBv1 over NetBIOS", "SMB 3 over port 445 with SMBv1 disabled"),
    (6, 512, "rexec", "SSH"),
    (6, 513, "rlogin", "SSH"),
    (6, 514, "rsh", "SSH"),
    (6, 110, "POP3 without TLS", "POP3S (995) or IMAPS (993)"),
    (6, 143, "IMAP without TLS", "IMAPS (993)"),
    (6, 389, "LDAP without TLS", "LDAPS (636) or StartTLS with signing"),
    (6, 5900, "VNC", "VNC tunnelled over SSH, or a remote-access gateway"),
];

pub fn insecure_service(proto: u8, port: u16) -> Option<(&'static str, &'static str)> {
    INSECURE
        .iter()
        .find(|s| s.0 == proto && s.1 == port)
        .map(|s| (s.2, s.3))
}

/// A flow from its two ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub client: IpAddr,
    pub server: IpAddr,
    /// The service port (0 without ports).
    pub port: u16,
    /// The flow goes client → server.
    pub request: bool,
}

const EPHEMERAL: u16 = 32_768;
pub(super) const SYN: u16 = 0x02;
pub(super) const ACK: u16 = 0x10;

/// Who is the client of a flow.
pub fn roles(f: &flowlens_wire::FlowRecord) -> Option<Roles> {
    let (src, dst) = (f.src_addr?, f.dst_addr?);
    let req = |port| Roles {
        client: src,
        server: dst,
        port,
        request: true,
    };
    let resp = |port| Roles {
        client: dst,
        server: src,
        port,
        request: false,
    };
    match (f.proto, f.src_port, f.dst_port) {
        (Some(1 | 58), _, _) => Some(match f.icmp_type {
            Some(0 | 129) => resp(0),
            _ => req(0),
        }),
        (Some(6 | 17 | 132), Some(sp), Some(dp)) => {
            let flags = f.tcp_flags.unwrap_or(0);
            if f.proto == Some(6) && flags & SYN != 0 && flags & ACK == 0 {
                return Some(req(dp));
            }
            Some(if (dp < 1_024) != (sp < 1_024) {
                if dp < 1_024 {
                    req(dp)
                } else {
                    resp(sp)
                }
            } else if (dp < EPHEMERAL) != (sp < EPHEMERAL) {
                if dp < EPHEMERAL {
                    req(dp)
                } else {
                    resp(sp)
                }
            } else if dp <= sp {
                req(dp)
            } else {
                resp(sp)
            })
        }
        _ => Some(req(0)),
    }
}
