//! Times and durations as people type them: `now`, RFC 3339
//! (`2026-11-22T10:00:00Z`), unix seconds (`1763800000`), or relative to
//! now (`-1h`, `1h` — both mean an hour ago —, `15m`, `7d`, `30s`, `2w`).

use flowlens_wire::Timestamp;

/// Latest unix second accepted (9999-12-31T23:59:59Z), and the longest
/// duration (100 years): beyond them nanosecond timestamps would overflow.
pub const MAX_UNIX_SECS: i64 = 253_402_300_799;
pub const MAX_DURATION_SECS: u64 = 100 * 366 * 86_400;

/// Parses a duration such as `90s`, `15m`, `1h`, `7d`, `2w` (a bare number
/// is seconds).
pub fn duration_secs(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("\"{s}\" is not a duration (use e.g. 30s, 15m, 1h, 7d)"))?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(format!("\"{s}\": unknown unit \"{unit}\" (use s, m, h, d or w)")),
    };
    n.checked_mul(mult)
        .filter(|&d| d <= MAX_DURATION_SECS)
        .ok_or_else(|| format!("\"{s}\" is too long a duration (at most 100 years)"))
}

/// Parses a point in time relative to `now`.
pub fn time(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    let s = s.trim();
    if s == "now" {
        return Ok(now);
    }
    if let Ok(secs) = s.parse::<i64>() {
        if !(0..=MAX_UNIX_SECS).contains(&secs) {
            return Err(format!(
                "{secs} is outside the unix seconds accepted (0 to {MAX_UNIX_SECS})"
            ));
        }
        return Ok(Timestamp::from_secs(secs));
    }
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Ok(Timestamp(t.as_nanosecond() as i64));
    }
    let rel = s.strip_prefix('-').unwrap_or(s);
    match duration_secs(rel) {
        Ok(d) => Ok(Timestamp(now.0.saturating_sub(d as i64 * 1_000_000_000))),
        Err(_) => Err(format!(
            "\"{s}\" is not a time: use now, a relative time (-1h, 15m, 7d), unix seconds or RFC 3339 \
             (2026-11-22T10:00:00Z)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_people_type() {
        let now = Timestamp::from_secs(1_800_000_000);
        assert_eq!(time("now", now), Ok(now));
        assert_eq!(time("-1h", now), Ok(Timestamp::from_secs(1_799_996_400)));
        assert_eq!(time("1h", now), Ok(Timestamp::from_secs(1_799_996_400)));
        assert_eq!(time("15m", now), Ok(Timestamp::from_secs(1_799_999_100)));
        assert_eq!(time("1700000000", now), Ok(Timestamp::from_secs(1_700_000_000)));
        assert_eq!(
            time("2023-11-14T22:13:20Z", now),
            Ok(Timestamp::from_secs(1_700_000_000))
        );
        assert!(time("yesterday", now).unwrap_err().contains("not a time"));
        assert_eq!(duration_secs("7d"), Ok(604_800));
        assert_eq!(duration_secs("90"), Ok(90));
        assert!(duration_secs("5y").unwrap_err().contains("unknown unit"));
        // Hostile sizes are refused, not overflowed.
        assert!(time("99999999999999999", now).unwrap_err().contains("outside"));
        assert!(time("-1", now).is_err());
        assert!(duration_secs("99999999999999999w").unwrap_err().contains("too long"));
        assert!(time("99999999999d", now).is_err());
    }
}
