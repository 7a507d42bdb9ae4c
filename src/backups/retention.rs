//! Retention for scheduled backups, with restic's `forget` semantics:
//! snapshots newest first; `--keep-last N` keeps the N newest; each of
//! `--keep-hourly/daily/weekly/monthly/yearly N` keeps the newest snapshot
//! of each of the last N hours/days/ISO weeks/months/years that have one;
//! `--keep-within D` keeps every snapshot within D of the newest; a snapshot
//! kept by any rule stays. Times are UTC.

use std::time::Duration;

/// How many to keep per rule (0: the rule is off).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub last: usize,
    pub hourly: usize,
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
    pub yearly: usize,
    pub within: Option<Duration>,
}

impl Policy {
    pub fn is_empty(&self) -> bool {
        self.last + self.hourly + self.daily + self.weekly + self.monthly + self.yearly == 0
            && self.within.is_none()
    }
}

/// A civil date and hour, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
}

/// Seconds since the Unix epoch to a UTC civil date (Howard Hinnant's
/// `civil_from_days`).
pub fn civil(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let hour = (secs.rem_euclid(86_400) / 3600) as u32;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    Civil {
        year: if month <= 2 { y + 1 } else { y },
        month,
        day,
        hour,
    }
}

/// ISO 8601 week-numbering year and week of a day since the epoch.
fn iso_week(secs: i64) -> (i64, i64) {
    let days = secs.div_euclid(86_400);
    // 1970-01-01 was a Thursday; ISO weekday 1 = Monday.
    let weekday = (days + 3).rem_euclid(7) + 1;
    let thursday = days - weekday + 4;
    let year = civil(thursday * 86_400).year;
    let jan1 = days_from_civil(year, 1, 1);
    (year, (thursday - jan1) / 7 + 1)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Decide, for snapshots given by their times (microseconds since the epoch),
/// which to keep and why. Returns, in the input's order, the reasons each is
/// kept (empty: remove it).
pub fn apply(policy: &Policy, micros: &[i64]) -> Vec<Vec<String>> {
    let times: Vec<i64> = micros.iter().map(|m| m.div_euclid(1_000_000)).collect();
    let mut order: Vec<usize> = (0..times.len()).collect();
    // Newest first; within one second, by the microseconds.
    order.sort_by_key(|&i| std::cmp::Reverse(micros[i]));
    let order = order;
    let mut reasons = vec![Vec::new(); times.len()];
    type Bucket = fn(i64) -> (i64, i64, i64);
    let rules: [(&str, usize, Bucket); 6] = [
        ("last", policy.last, |_| (0, 0, 0)),
        ("hourly", policy.hourly, |s| {
            let c = civil(s);
            (
                c.year * 10_000 + c.month as i64 * 100 + c.day as i64,
                c.hour as i64,
                0,
            )
        }),
        ("daily", policy.daily, |s| {
            let c = civil(s);
            (c.year, c.month as i64, c.day as i64)
        }),
        ("weekly", policy.weekly, |s| {
            let (y, w) = iso_week(s);
            (y, w, 0)
        }),
        ("monthly", policy.monthly, |s| {
            let c = civil(s);
            (c.year, c.month as i64, 0)
        }),
        ("yearly", policy.yearly, |s| (civil(s).year, 0, 0)),
    ];
    for (name, n, bucket) in rules {
        if n == 0 {
            continue;
        }
        let mut kept = 0;
        let mut last: Option<(i64, i64, i64)> = None;
        for (k, &i) in order.iter().enumerate() {
            if kept >= n {
                break;
            }
            // keep-last: every snapshot is its own bucket.
            let b = if name == "last" {
                (k as i64, 0, 0)
            } else {
                bucket(times[i])
            };
            if last != Some(b) {
                last = Some(b);
                kept += 1;
                reasons[i].push(format!("{name} {kept}"));
            }
        }
    }
    if let (Some(within), Some(&newest)) = (policy.within, order.first()) {
        let limit = micros[newest] - within.as_micros() as i64;
        for &i in &order {
            if micros[i] >= limit {
                reasons[i].push(format!("within {}", humantime::format_duration(within)));
            }
        }
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(y: i64, m: u32, d: u32, h: i64) -> i64 {
        days_from_civil(y, m, d) * 86_400 + h * 3600
    }

    /// Microseconds, as `apply` takes them.
    fn at(y: i64, m: u32, d: u32, h: i64) -> i64 {
        secs(y, m, d, h) * 1_000_000
    }

    #[test]
    fn calendar() {
        assert_eq!(
            civil(0),
            Civil {
                year: 1970,
                month: 1,
                day: 1,
                hour: 0
            }
        );
        let t = secs(2026, 11, 22, 16);
        assert_eq!(
            civil(t),
            Civil {
                year: 2026,
                month: 11,
                day: 22,
                hour: 16
            }
        );
        assert_eq!(civil(secs(2024, 2, 29, 23)).day, 29);
        // ISO weeks: 2021-01-03 is in 2020-W53; 2021-01-04 starts 2021-W01.
        assert_eq!(iso_week(secs(2021, 1, 3, 12)), (2020, 53));
        assert_eq!(iso_week(secs(2021, 1, 4, 0)), (2021, 1));
        assert_eq!(iso_week(secs(2026, 11, 22, 0)), (2026, 47));
    }

    #[test]
    fn keep_last_and_daily() {
        // Four snapshots a day, six hours apart, for ten days.
        let times: Vec<i64> = (0..40)
            .map(|k| at(2026, 11, 1, 0) + k * 6 * 3600 * 1_000_000)
            .collect();
        let p = Policy {
            last: 2,
            daily: 3,
            ..Policy::default()
        };
        let r = apply(&p, &times);
        let kept: Vec<usize> = (0..40).filter(|&i| !r[i].is_empty()).collect();
        // The two newest, and the newest of each of the last three days (one
        // of which is the newest overall).
        assert_eq!(kept, vec![31, 35, 38, 39]);
        assert_eq!(r[39], vec!["last 1", "daily 1"]);
        assert_eq!(r[35], vec!["daily 2"]);
    }

    #[test]
    fn buckets_skip_empty_periods() {
        // Snapshots in January, March and June: keep-monthly 2 keeps June and
        // March (months without a snapshot do not count).
        let times = vec![at(2026, 1, 5, 0), at(2026, 3, 5, 0), at(2026, 6, 5, 0)];
        let r = apply(
            &Policy {
                monthly: 2,
                ..Policy::default()
            },
            &times,
        );
        assert!(r[0].is_empty());
        assert_eq!(r[1], vec!["monthly 2"]);
        assert_eq!(r[2], vec!["monthly 1"]);
    }

    #[test]
    fn weekly_yearly_hourly_within() {
        let times = vec![
            at(2024, 12, 30, 1), // ISO 2025-W01
            at(2025, 1, 3, 1),   // ISO 2025-W01, newer
            at(2025, 1, 6, 1),   // 2025-W02
            at(2025, 1, 6, 2),
            at(2025, 1, 6, 2) + 1800 * 1_000_000,
        ];
        let r = apply(
            &Policy {
                weekly: 2,
                ..Policy::default()
            },
            &times,
        );
        let kept: Vec<usize> = (0..5).filter(|&i| !r[i].is_empty()).collect();
        assert_eq!(kept, vec![1, 4]);
        let r = apply(
            &Policy {
                yearly: 5,
                ..Policy::default()
            },
            &times,
        );
        assert_eq!(
            (0..5).filter(|&i| !r[i].is_empty()).collect::<Vec<_>>(),
            vec![0, 4]
        );
        let r = apply(
            &Policy {
                hourly: 2,
                ..Policy::default()
            },
            &times,
        );
        assert_eq!(
            (0..5).filter(|&i| !r[i].is_empty()).collect::<Vec<_>>(),
            vec![2, 4]
        );
        let r = apply(
            &Policy {
                within: Some(Duration::from_secs(3600 * 2)),
                ..Policy::default()
            },
            &times,
        );
        assert_eq!(
            (0..5).filter(|&i| !r[i].is_empty()).collect::<Vec<_>>(),
            vec![2, 3, 4]
        );
    }

    #[test]
    fn same_second_orders_by_microseconds() {
        let t = at(2026, 11, 22, 16);
        let r = apply(
            &Policy {
                last: 1,
                ..Policy::default()
            },
            &[t + 5, t + 9, t + 1],
        );
        assert_eq!(r[1], vec!["last 1"]);
        assert!(r[0].is_empty() && r[2].is_empty());
    }

    #[test]
    fn nothing_kept_without_rules() {
        let r = apply(&Policy::default(), &[1, 2, 3]);
        assert!(r.iter().all(|x| x.is_empty()));
    }
}
