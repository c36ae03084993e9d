//! The signing clock: a UTC second, formatted the ways the four clouds write it.
//!
//! Twenty lines of calendar arithmetic instead of a date-time crate: signing needs only
//! formatting of a UTC instant, never time zones or parsing of arbitrary dates.

use std::fmt::Write as _;

/// Days from 1970-01-01 to a proleptic Gregorian date, negative before it (Howard Hinnant's
/// `days_from_civil`, the inverse of [`Timestamp::civil`]). The month (1–12) and day (1–31)
/// are the caller's to check; an impossible day such as February 30 counts on into March.
/// `None` only for a year too far out to count in days.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    // Years start on March 1, so that the leap day falls at the end of each year.
    let year = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era.checked_mul(146_097)?
        .checked_add(day_of_era)?
        .checked_sub(719_468)
}

/// A UTC instant with one-second resolution, the only precision any of the signatures use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_seconds: u64,
}

/// A calendar date and time of day in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CivilTime {
    pub year: u64,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
}

impl Timestamp {
    pub const fn from_unix_seconds(unix_seconds: u64) -> Self {
        Self { unix_seconds }
    }

    /// The current time, from [`crate::clock`].
    pub fn now() -> Self {
        Self::from_unix_seconds(crate::clock::unix_seconds())
    }

    pub const fn unix_seconds(self) -> u64 {
        self.unix_seconds
    }

    /// Breaks the instant into a UTC calendar date and time (proleptic Gregorian calendar).
    pub fn civil(self) -> CivilTime {
        let days = self.unix_seconds / 86_400;
        let second_of_day = self.unix_seconds % 86_400;
        // Days since 0000-03-01, so that the leap day falls at the end of each year.
        let days = days + 719_468;
        let era = days / 146_097;
        let day_of_era = days % 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
        let month = if shifted_month < 10 {
            shifted_month + 3
        } else {
            shifted_month - 9
        };
        let year = year_of_era + era * 400 + u64::from(month <= 2);
        CivilTime {
            year,
            month: month as u8,
            day: day as u8,
            hour: (second_of_day / 3_600) as u8,
            minute: (second_of_day / 60 % 60) as u8,
            second: (second_of_day % 60) as u8,
        }
    }

    /// The instant of a UTC calendar date and time; `None` for an impossible one (month 13,
    /// February 30) or one before 1970.
    pub fn from_civil(
        year: u64,
        month: u64,
        day: u64,
        hour: u64,
        minute: u64,
        second: u64,
    ) -> Option<Self> {
        if !(1..=12).contains(&month)
            || !(1..=31).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
            || year < 1970
        {
            return None;
        }
        let days = days_from_civil(
            i64::try_from(year).ok()?,
            i64::try_from(month).ok()?,
            i64::try_from(day).ok()?,
        )?;
        // Never negative: the year is 1970 or later.
        let days = u64::try_from(days).ok()?;
        let seconds = days
            .checked_mul(86_400)?
            .checked_add(hour * 3_600 + minute * 60 + second)?;
        let parsed = Self::from_unix_seconds(seconds);
        (u64::from(parsed.civil().day) == day).then_some(parsed)
    }

    /// `Tue, 24 Nov 2026 09:00:00 GMT`: HTTP's date format (`Last-Modified`).
    pub fn http_date(self) -> String {
        let t = self.civil();
        let weekday = WEEKDAYS[((self.unix_seconds / 86_400 + 4) % 7) as usize];
        let month = MONTHS[usize::from(t.month - 1)];
        format!(
            "{weekday}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
            t.day, t.year, t.hour, t.minute, t.second
        )
    }

    /// Parses HTTP's date format (`Tue, 24 Nov 2026 09:00:00 GMT`).
    pub fn parse_http_date(text: &str) -> Option<Self> {
        let mut parts = text.split_whitespace().skip(1);
        let day = parts.next()?.parse().ok()?;
        let month_name = parts.next()?;
        let month = MONTHS.iter().position(|m| *m == month_name)? as u64 + 1;
        let year = parts.next()?.parse().ok()?;
        let mut clock = parts.next()?.split(':').map(|n| n.parse::<u64>().ok());
        let (hour, minute, second) = (clock.next()??, clock.next()??, clock.next()??);
        if parts.next()? != "GMT" {
            return None;
        }
        Self::from_civil(year, month, day, hour, minute, second)
    }

    /// `YYYY-MM-DD` (Tencent's credential scope).
    pub fn date_dashed(self) -> String {
        let t = self.civil();
        format!("{:04}-{:02}-{:02}", t.year, t.month, t.day)
    }

    /// `YYYYMMDD` (Volcengine's credential scope).
    pub fn date_compact(self) -> String {
        let t = self.civil();
        format!("{:04}{:02}{:02}", t.year, t.month, t.day)
    }

    /// `YYYYMMDDTHHMMSSZ` (Volcengine's `X-Date`, Huawei's `X-Sdk-Date`).
    pub fn basic_iso8601(self) -> String {
        let t = self.civil();
        let mut out = String::with_capacity(16);
        let _ = write!(
            out,
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        );
        out
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` (Alibaba's `x-acs-date`).
    pub fn extended_iso8601(self) -> String {
        let t = self.civil();
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            t.year, t.month, t.day, t.hour, t.minute, t.second
        )
    }
}

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(unix: u64) -> (u64, u8, u8, u8, u8, u8) {
        let t = Timestamp::from_unix_seconds(unix).civil();
        (t.year, t.month, t.day, t.hour, t.minute, t.second)
    }

    #[test]
    fn known_instants_break_into_the_right_calendar_fields() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(1_551_113_065), (2019, 2, 25, 16, 44, 25));
        assert_eq!(civil(1_767_225_599), (2025, 12, 31, 23, 59, 59));
        assert_eq!(civil(1_767_225_600), (2026, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(4_107_542_400), (2100, 3, 1, 0, 0, 0));
    }

    #[test]
    fn days_count_from_the_epoch_both_ways() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(1969, 12, 31), Some(-1));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_civil(0, 3, 1), Some(-719_468));
        assert_eq!(days_from_civil(i64::MAX, 1, 1), None);
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_previous_one() {
        let mut previous = Timestamp::from_unix_seconds(0).civil();
        for day in 1..(400 * 366) {
            let next = Timestamp::from_unix_seconds(day * 86_400).civil();
            let same_month = next.year == previous.year && next.month == previous.month;
            if same_month {
                assert_eq!(next.day, previous.day + 1, "{next:?} after {previous:?}");
            } else {
                assert_eq!(next.day, 1, "{next:?} after {previous:?}");
                assert!(previous.day >= 28, "{previous:?} ends a month too early");
            }
            previous = next;
        }
    }

    #[test]
    fn civil_dates_and_http_dates_round_trip() {
        for unix in [0, 951_782_400, 1_767_225_599, 1_795_510_800, 4_107_542_400] {
            let t = Timestamp::from_unix_seconds(unix);
            let c = t.civil();
            let back = Timestamp::from_civil(
                c.year,
                c.month.into(),
                c.day.into(),
                c.hour.into(),
                c.minute.into(),
                c.second.into(),
            );
            assert_eq!(back, Some(t));
            assert_eq!(
                Timestamp::parse_http_date(&t.http_date()),
                Some(t),
                "{}",
                t.http_date()
            );
        }
        assert_eq!(
            Timestamp::from_unix_seconds(1_795_510_800).http_date(),
            "Tue, 24 Nov 2026 09:00:00 GMT"
        );
        assert_eq!(Timestamp::from_civil(2025, 2, 29, 0, 0, 0), None);
        assert_eq!(
            Timestamp::parse_http_date("Tue, 24 Nov 2026 09:00:00 UTC"),
            None
        );
    }

    #[test]
    fn formats_match_each_cloud_spelling() {
        let t = Timestamp::from_unix_seconds(1_767_225_599);
        assert_eq!(t.date_dashed(), "2025-12-31");
        assert_eq!(t.date_compact(), "20251231");
        assert_eq!(t.basic_iso8601(), "20251231T235959Z");
        assert_eq!(t.extended_iso8601(), "2025-12-31T23:59:59Z");
    }
}
