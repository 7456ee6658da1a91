//! RFC 3339 timestamps without a date library.

/// Formats nanoseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn rfc3339(ns: i64) -> String {
    Rfc3339::new(ns).as_str().to_string()
}

/// [`rfc3339`] text held on the stack: a report stamps every piece of
/// evidence, and writing it needs no allocation.
#[derive(Clone, Copy)]
pub struct Rfc3339([u8; 27]);

impl Rfc3339 {
    /// Formats `ns` (nanoseconds since the epoch; microseconds are kept).
    pub fn new(ns: i64) -> Self {
        let secs = ns.div_euclid(1_000_000_000);
        let micros = ns.rem_euclid(1_000_000_000) / 1000;
        let days = secs.div_euclid(86_400);
        let tod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        // Written digit by digit. Nanoseconds in an i64 span the years 1677
        // to 2262: four digits.
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: i64| {
            for i in (at..at + width).rev() {
                if let Some(c) = b.get_mut(i) {
                    *c = b'0' + (v % 10) as u8;
                }
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, i64::from(m));
        put(8, 2, i64::from(d));
        put(11, 2, tod / 3600);
        put(14, 2, (tod % 3600) / 60);
        put(17, 2, tod % 60);
        put(20, 6, micros);
        Rfc3339(b)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and separators are ever written.
        std::str::from_utf8(&self.0).unwrap_or("0000-00-00T00:00:00.000000Z")
    }
}

/// Formats whole seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339_secs(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let tod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        tod / 3600,
        (tod % 3600) / 60,
        tod % 60
    )
}

/// Now, as seconds since the epoch.
pub fn now_secs() -> i64 {
    now_ns() / 1_000_000_000
}

/// Now, as nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's
/// days-from-civil; the inverse of the formatting above).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Reads back what [`rfc3339`] and [`rfc3339_secs`] write (a fraction of
/// up to nine digits kept), as ns since the epoch.
pub fn parse_rfc3339_ns(t: &str) -> Option<i64> {
    let n = |a: usize, b: usize| -> Option<i64> { t.get(a..b)?.parse().ok() };
    let days = days_from_civil(n(0, 4)?, n(5, 7)?, n(8, 10)?);
    let secs = days * 86_400 + n(11, 13)? * 3600 + n(14, 16)? * 60 + n(17, 19)?;
    let frac = match t.get(19..).and_then(|r| r.strip_prefix('.')) {
        Some(r) => {
            let digits: String = r.chars().take_while(char::is_ascii_digit).take(9).collect();
            let v: i64 = digits.parse().ok()?;
            v * 10i64.pow(9 - digits.len() as u32)
        }
        None => 0,
    };
    Some(secs * 1_000_000_000 + frac)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        for ns in [
            0i64,
            1_735_689_600_000_000_000,
            951_782_400_000_000_000,
            -86_400_000_000_000,
            1_517_313_377_123_456_000,
        ] {
            assert_eq!(parse_rfc3339_ns(&rfc3339(ns)), Some(ns));
        }
        assert_eq!(
            parse_rfc3339_ns("2018-01-30T11:56:17.5Z"),
            Some(1_517_313_377_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("2018-01-30T11:56:17Z"),
            Some(1_517_313_377_000_000_000)
        );
        assert_eq!(parse_rfc3339_ns("garbage"), None);
    }

    #[test]
    fn known_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339_secs(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            rfc3339(1_517_313_377_123_456_789),
            "2018-01-30T11:56:17.123456Z"
        );
    }
}
