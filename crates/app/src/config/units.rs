//! Durations and sizes as written in the configuration: `500ms`, `1s`,
//! `15m`, `7d`; `4MiB`, `512KiB`, `2GB`, or a bare number of bytes.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest duration a setting takes (100 years).
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 366 * 86_400);

/// `"15m"` → (15, "m"); `"4 MiB"` → (4, "MiB"); no leading number → None.
fn number_and_unit(s: &str) -> Option<(u64, &str)> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    Some((num.parse().ok()?, unit.trim()))
}

/// A duration setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Dur(pub Duration);

impl Dur {
    pub const fn secs(s: u64) -> Dur {
        Dur(Duration::from_secs(s))
    }

    pub fn parse(s: &str) -> Result<Dur, String> {
        let (n, unit) = number_and_unit(s).ok_or_else(|| {
            format!("\"{s}\" is not a duration: use a number and a unit, e.g. 500ms, 30s, 15m, 1h, 7d")
        })?;
        let unit_ms: u64 = match unit {
            "ms" => 1,
            "s" | "" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            u => return Err(format!("\"{s}\": unknown unit \"{u}\" (use ms, s, m, h, d or w)")),
        };
        n.checked_mul(unit_ms)
            .map(Duration::from_millis)
            .filter(|d| *d <= MAX_DURATION)
            .map(Dur)
            .ok_or_else(|| format!("\"{s}\" is too long (at most 100 years)"))
    }
}

impl fmt::Display for Dur {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis() as u64;
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000)] {
            if ms >= size && ms % size == 0 {
                return write!(f, "{}{unit}", ms / size);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match StrOrNum::deserialize(d)? {
            StrOrNum::Num(n) => Dur::parse(&format!("{n}s")),
            StrOrNum::Str(s) => Dur::parse(&s),
        }
        .map_err(serde::de::Error::custom)
    }
}

/// A size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bytes(pub u64);

impl Bytes {
    pub fn parse(s: &str) -> Result<Bytes, String> {
        let (n, unit) = number_and_unit(s)
            .ok_or_else(|| format!("\"{s}\" is not a size: use bytes or a unit, e.g. 4MiB, 512KiB, 10GB"))?;
        let mult: u64 = match unit {
            "" | "B" => 1,
            "KB" | "kB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            "TB" => 1_000_000_000_000,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "TiB" => 1 << 40,
            u => {
                return Err(format!(
                    "\"{s}\": unknown unit \"{u}\" (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
                ))
            }
        };
        n.checked_mul(mult)
            .map(Bytes)
            .ok_or_else(|| format!("\"{s}\" is too large"))
    }
}

impl fmt::Display for Bytes {
    /// The shortest exact form: `4MiB`, `10GB`, or plain bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        let units: [(&str, u64); 8] = [
            ("TiB", 1 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
            ("TB", 1_000_000_000_000),
            ("GB", 1_000_000_000),
            ("MB", 1_000_000),
            ("KB", 1_000),
        ];
        let best = units
            .iter()
            .filter(|(_, size)| n >= *size && n % size == 0)
            .map(|(unit, size)| format!("{}{unit}", n / size))
            .min_by_key(String::len);
        match best {
            Some(s) if s.len() < n.to_string().len() => f.write_str(&s),
            _ => write!(f, "{n}"),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match StrOrNum::deserialize(d)? {
            StrOrNum::Num(n) => Ok(Bytes(n)),
            StrOrNum::Str(s) => Bytes::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

/// A link speed in bits per second: `10G`, `100M`, `400000000`, `25Gbps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BitRate(pub u64);

impl BitRate {
    pub fn parse(s: &str) -> Result<BitRate, String> {
        let (n, unit) = number_and_unit(s)
            .ok_or_else(|| format!("\"{s}\" is not a speed: use bits/s or a unit, e.g. 10G, 100M"))?;
        let unit = unit
            .trim_end_matches("bit/s")
            .trim_end_matches("bps")
            .trim_end_matches("b/s");
        let mult: u64 = match unit {
            "" => 1,
            "k" | "K" => 1_000,
            "M" => 1_000_000,
            "G" => 1_000_000_000,
            "T" => 1_000_000_000_000,
            u => return Err(format!("\"{s}\": unknown unit \"{u}\" (use k, M, G or T, e.g. 10G)")),
        };
        n.checked_mul(mult)
            .map(BitRate)
            .ok_or_else(|| format!("\"{s}\" is too large"))
    }
}

impl fmt::Display for BitRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, size) in [
            ("T", 1_000_000_000_000u64),
            ("G", 1_000_000_000),
            ("M", 1_000_000),
            ("k", 1_000),
        ] {
            if n >= size && n % size == 0 {
                return write!(f, "{}{unit}", n / size);
            }
        }
        write!(f, "{n}")
    }
}

impl Serialize for BitRate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BitRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match StrOrNum::deserialize(d)? {
            StrOrNum::Num(n) => Ok(BitRate(n)),
            StrOrNum::Str(s) => BitRate::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged, expecting = "a number or a string with a unit")]
enum StrOrNum {
    Num(u64),
    Str(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_round_trip() {
        for (s, n) in [
            ("10G", 10_000_000_000u64),
            ("100M", 100_000_000),
            ("25Gbps", 25_000_000_000),
            ("1500", 1_500),
        ] {
            let b = BitRate::parse(s).unwrap();
            assert_eq!(b.0, n, "{s}");
            assert_eq!(BitRate::parse(&b.to_string()).unwrap(), b);
        }
        assert!(BitRate::parse("10X").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn durations_round_trip() {
        for (s, ms) in [
            ("500ms", 500),
            ("1s", 1_000),
            ("90s", 90_000),
            ("15m", 900_000),
            ("7d", 604_800_000),
        ] {
            let d = Dur::parse(s).unwrap();
            assert_eq!(d.0, Duration::from_millis(ms), "{s}");
            assert_eq!(Dur::parse(&d.to_string()).unwrap(), d);
        }
        assert_eq!(Dur::secs(7 * 86_400).to_string(), "7d");
        assert!(Dur::parse("1y").unwrap_err().contains("unknown unit"));
        assert!(Dur::parse("soon").unwrap_err().contains("not a duration"));
        assert!(Dur::parse("99999999999999w").unwrap_err().contains("too long"));
    }

    #[test]
    fn sizes_round_trip() {
        assert_eq!(Bytes::parse("4MiB").unwrap(), Bytes(4 << 20));
        assert_eq!(Bytes::parse("10GB").unwrap(), Bytes(10_000_000_000));
        assert_eq!(Bytes::parse("1234").unwrap(), Bytes(1234));
        assert_eq!(Bytes(4 << 20).to_string(), "4MiB");
        assert_eq!(Bytes(10_000_000_000).to_string(), "10GB");
        assert!(Bytes::parse("4 parsecs").unwrap_err().contains("unknown unit"));
        assert!(Bytes::parse("99999999999TiB").unwrap_err().contains("too large"));
    }
}
