//! Protocol windows and calendar days.
//!
//! A timepoint is nominally `nominal_day` days after its anchor (ICU admission or hospital
//! discharge) and may be collected `window_before_days` early or `window_after_days` late. Dates
//! are ISO 8601 calendar dates (`YYYY-MM-DD`); we turn them into day numbers with the proleptic
//! Gregorian "days from civil" algorithm, which is all we need from a date library.

pub use crate::io::time::{civil_from_days, days_from_civil};

use super::model::{Anchor, Timepoint};

/// Days since 1970-01-01 for an ISO date `YYYY-MM-DD`, or `None` if it is not a valid date.
pub fn parse_iso_date(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = &text[range];
        if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().ok() } else { None }
    };
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_from_civil(year, month, day))
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

/// How far a collection day lies from a timepoint's nominal day, in days (negative = early).
///
/// `None` when the anchor is discharge and the patient's discharge day is unknown.
pub fn deviation(tp: &Timepoint, days_from_admission: f64, discharge_day: Option<f64>) -> Option<f64> {
    let anchor_day = match tp.anchor {
        Anchor::Admission => 0.0,
        Anchor::Discharge => discharge_day?,
    };
    Some(days_from_admission - anchor_day - tp.nominal_day)
}

/// Whether a deviation falls inside the timepoint's window (bounds inclusive).
pub fn within(tp: &Timepoint, deviation: f64) -> bool {
    deviation >= -tp.window_before_days && deviation <= tp.window_after_days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates_round_trip_and_reject_nonsense() {
        assert_eq!(parse_iso_date("1970-01-01"), Some(0));
        assert_eq!(parse_iso_date("2024-02-29"), Some(19_782));
        assert_eq!(parse_iso_date("2023-02-29"), None);
        assert_eq!(parse_iso_date("2024-13-01"), None);
        assert_eq!(parse_iso_date("2024-1-01"), None);
        assert_eq!(parse_iso_date("01/02/2024"), None);
        assert_eq!(parse_iso_date("2024-00-10"), None);
        for d in [-1000, 0, 19_782, 40_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn discharge_anchor_needs_discharge_day() {
        let tp = Timepoint {
            name: "month3".into(),
            order: 4,
            nominal_day: 90.0,
            window_before_days: 14.0,
            window_after_days: 14.0,
            anchor: Anchor::Discharge,
        };
        assert_eq!(deviation(&tp, 120.0, None), None);
        let dev = deviation(&tp, 120.0, Some(20.0)).expect("deviation");
        assert_eq!(dev, 10.0);
        assert!(within(&tp, dev));
        assert!(!within(&tp, 15.0));
        assert!(within(&tp, -14.0));
    }
}
