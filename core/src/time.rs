//! Timestamps as the collectors want them: RFC 3339, UTC, millisecond precision
//! (`2012-12-02T00:30:08.276Z`).
//!
//! Written by hand rather than pulling a date crate: we need exactly one format out and a
//! strict subset of RFC 3339 in, and `track()` formats one on every call, so it must be cheap.

use std::cell::Cell;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Earliest and latest instants we accept (years 1000 to 9999): four-digit years only,
/// so every formatted timestamp is valid RFC 3339.
const MIN_MILLIS: i64 = -30_610_224_000_000;
const MAX_MILLIS: i64 = 253_402_300_799_999;

impl Timestamp {
    pub fn now() -> Timestamp {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(since.as_millis() as i64)
    }

    /// [`Timestamp::now`] as of the last clock tick (a few milliseconds behind at most), for
    /// what needs no finer time: the dedupe window on every `track`. On Linux it is read
    /// from `CLOCK_REALTIME_COARSE`, at a third of the cost of the precise clock.
    pub fn now_coarse() -> Timestamp {
        #[cfg(target_os = "linux")]
        {
            let mut now = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: writes the current time into `now`, a valid timespec.
            #[allow(clippy::useless_conversion)] // `time_t` and `long` are 32-bit on some targets.
            if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut now) } == 0 {
                return Timestamp(
                    i64::from(now.tv_sec) * 1000 + i64::from(now.tv_nsec) / 1_000_000,
                );
            }
        }
        Timestamp::now()
    }

    /// From milliseconds since the epoch; `None` outside years 1000..=9999.
    pub fn from_millis(millis: i64) -> Option<Timestamp> {
        (MIN_MILLIS..=MAX_MILLIS)
            .contains(&millis)
            .then_some(Timestamp(millis))
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 (`2024-01-31T12:00:00Z`, `...T12:00:00.123+02:00`, a space instead
    /// of `T`, any number of fraction digits, truncated to milliseconds). A bare date
    /// (`2024-01-31`) is midnight UTC. Returns `None` for anything else.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let b = text.trim().as_bytes();
        let date_len = 10;
        if b.len() < date_len || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = digits(&b[0..4])?;
        let month = digits(&b[5..7])?;
        let day = digits(&b[8..10])?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        let days = days_from_civil(year, month, day);
        if b.len() == date_len {
            return Timestamp::from_millis(days * 86_400_000);
        }
        let rest = &b[date_len..];
        if rest.len() < 9 || !(rest[0] == b'T' || rest[0] == b't' || rest[0] == b' ') {
            return None;
        }
        if rest[3] != b':' || rest[6] != b':' {
            return None;
        }
        let (h, m, s) = (
            digits(&rest[1..3])?,
            digits(&rest[4..6])?,
            digits(&rest[7..9])?,
        );
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        let mut i = 9;
        let mut millis = 0i64;
        if rest.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < rest.len() && rest[i].is_ascii_digit() {
                if i - start < 3 {
                    millis = millis * 10 + i64::from(rest[i] - b'0');
                }
                i += 1;
            }
            if i == start {
                return None;
            }
            for _ in (i - start)..3 {
                millis *= 10;
            }
        }
        let offset_minutes = parse_offset(&rest[i..])?;
        let secs = days * 86_400 + h * 3600 + m * 60 + s.min(59) - offset_minutes * 60;
        Timestamp::from_millis(secs * 1000 + millis)
    }
}

fn parse_offset(b: &[u8]) -> Option<i64> {
    match b {
        [b'Z'] | [b'z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = digits(&[*h1, *h2])?;
            let m = digits(&[*m1, *m2])?;
            if h > 23 || m > 59 {
                return None;
            }
            let total = h * 60 + m;
            Some(if *sign == b'-' { -total } else { total })
        }
        _ => None,
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`: 24 bytes.
const RFC3339_LEN: usize = 24;

impl Timestamp {
    /// The RFC 3339 text in a stack buffer, for years 0 to 9999 (what every wire format takes);
    /// `None` outside them. Serializing runs on every `track`, so it skips `fmt` machinery.
    fn rfc3339(self) -> Option<[u8; RFC3339_LEN]> {
        let millis = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        if !(0..=9999).contains(&y) {
            return None;
        }
        let sod = secs.rem_euclid(86_400);
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut n: i64| {
            for i in (at..at + width).rev() {
                out[i] = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, mo);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, (sod / 60) % 60);
        put(17, 2, sod % 60);
        put(20, 3, millis);
        Some(out)
    }

    /// Appends the RFC 3339 text (no quotes; see [`crate::json::push_timestamp`]) to a buffer. Events come in runs within
    /// one second, so each thread keeps the text of the last second it wrote and only puts
    /// in the milliseconds when the second is the same.
    pub fn write_rfc3339(self, out: &mut Vec<u8>) {
        thread_local! {
            static LAST: Cell<(i64, [u8; RFC3339_LEN])> = const { Cell::new((i64::MIN, [0; RFC3339_LEN])) };
        }
        let second = self.0.div_euclid(1000);
        let (last, mut text) = LAST.get();
        if last != second {
            match self.rfc3339() {
                Some(fresh) => {
                    LAST.set((second, fresh));
                    text = fresh;
                }
                None => return out.extend_from_slice(self.to_string().as_bytes()),
            }
        }
        let millis = self.0.rem_euclid(1000) as u32;
        text[20] = b'0' + (millis / 100) as u8;
        text[21] = b'0' + (millis / 10 % 10) as u8;
        text[22] = b'0' + (millis % 10) as u8;
        out.extend_from_slice(&text);
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(text) = self.rfc3339() {
            // The buffer holds ASCII digits and separators only.
            return f.write_str(std::str::from_utf8(&text).unwrap_or_default());
        }
        let millis = self.0.rem_euclid(1000);
        let secs = self.0.div_euclid(1000);
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let sod = secs.rem_euclid(86_400);
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.rfc3339() {
            Some(text) => s.serialize_str(std::str::from_utf8(&text).unwrap_or_default()),
            None => s.collect_str(self),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_is_at_most_a_few_ticks_behind() {
        for _ in 0..1000 {
            let before = Timestamp::now();
            let coarse = Timestamp::now_coarse();
            let after = Timestamp::now();
            // A tick is 1 to 10 ms (HZ 1000 to 100); allow two.
            assert!(
                coarse.0 <= after.0 && coarse.0 >= before.0 - 20,
                "{before:?} {coarse:?} {after:?}"
            );
        }
    }

    #[test]
    fn the_cached_second_gives_the_same_text_as_fmt() {
        // Runs within one second, across seconds, back in time, and out of the fast range.
        let base = 1_354_408_208_000;
        let times = [
            base,
            base + 7,
            base + 999,
            base + 1_000,
            base + 1_042,
            base - 1,
            base + 7,
            -1,
            0,
            253_402_300_800_000,
            base + 5,
        ];
        for ms in times {
            let mut out = Vec::new();
            Timestamp(ms).write_rfc3339(&mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                Timestamp(ms).to_string(),
                "{ms}"
            );
        }
    }

    #[test]
    fn the_fast_path_agrees_with_fmt_and_serde_across_the_years() {
        for ms in [
            -62_167_219_200_000, // 0000-01-01
            -62_167_219_200_001, // year -1: the slow path
            -1,
            0,
            951_782_400_000,
            1_354_408_208_276,
            4_102_444_800_123,
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            253_402_300_800_000, // year 10000: the slow path
        ] {
            let t = Timestamp(ms);
            let shown = t.to_string();
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("{shown:?}"));
            if let Some(text) = t.rfc3339() {
                assert_eq!(std::str::from_utf8(&text).unwrap(), shown);
            }
        }
        assert_eq!(
            Timestamp(253_402_300_799_999).to_string(),
            "9999-12-31T23:59:59.999Z"
        );
        assert_eq!(
            Timestamp(-62_167_219_200_000).to_string(),
            "0000-01-01T00:00:00.000Z"
        );
        assert!(Timestamp(253_402_300_800_000)
            .to_string()
            .starts_with("10000-"));
    }

    #[test]
    fn formats_rfc3339_utc_with_milliseconds() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            Timestamp(1_354_408_208_276).to_string(),
            "2012-12-02T00:30:08.276Z"
        );
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_what_it_formats_and_common_variants() {
        for ms in [
            0,
            1_354_408_208_276,
            951_782_400_000,
            -86_400_001,
            4_102_444_800_123,
        ] {
            let t = Timestamp(ms);
            assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        }
        let t = Timestamp::parse("2012-12-02T00:30:08.276Z").unwrap();
        assert_eq!(
            Timestamp::parse("2012-12-02 02:30:08.276123+02:00"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse("2012-12-02").unwrap().to_string(),
            "2012-12-02T00:00:00.000Z"
        );
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for bad in [
            "",
            "2012-13-01",
            "2012-02-30",
            "2012-12-02T25:00:00Z",
            "2012-12-02T00:00:00",
            "2012-12-02T00:00:00.Z",
            "yesterday",
            "2012-12-02T00:00:00+0200",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
