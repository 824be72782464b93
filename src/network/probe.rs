//! Probing a node: one cheap MessageApi call that proves the node answers, and what its
//! answer says about the node's clock.
//!
//! MessageApi has no call that returns the node's time, and an envelope's timestamp is
//! its sender's clock, not the node's. What a node does send with every answer is the
//! HTTP `Date` header (hyper adds it over HTTP/2 as over HTTP/1.1). It has whole seconds
//! only, so the clock offset it gives is an interval, reported with its uncertainty.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::NetworkError;
use super::client::Client;
use super::query::Query;

/// A topic nobody publishes to: querying it costs the node one index lookup.
pub const PROBE_TOPIC: &str = "/xmtp/0/xmtp-ledger-probe/proto";

/// What one probe of a node saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeProbe {
    /// This machine's clock when the query was sent.
    pub sent: SystemTime,
    /// This machine's clock when the answer arrived.
    pub received: SystemTime,
    /// The node's clock as its answer's `Date` header says (whole seconds), if it sent one
    /// that parses.
    pub date: Option<SystemTime>,
}

/// How far the node's clock is from this machine's: `offset_ms` is node minus local
/// (positive: the node is ahead), give or take `uncertainty_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockOffset {
    /// The middle of the interval the offset is known to lie in.
    pub offset_ms: i64,
    /// Half the width of that interval: the `Date` header's second plus the round trip.
    pub uncertainty_ms: u64,
}

impl ClockOffset {
    /// The smallest offset the measurement allows.
    pub fn min_ms(&self) -> i64 {
        self.offset_ms
            .saturating_sub(i64::try_from(self.uncertainty_ms).unwrap_or(i64::MAX))
    }

    /// The largest offset the measurement allows.
    pub fn max_ms(&self) -> i64 {
        self.offset_ms
            .saturating_add(i64::try_from(self.uncertainty_ms).unwrap_or(i64::MAX))
    }
}

impl NodeProbe {
    /// How long the answer took.
    pub fn round_trip(&self) -> Duration {
        self.received.duration_since(self.sent).unwrap_or_default()
    }

    /// The node's clock against this machine's, when the node sent a `Date` header.
    ///
    /// The node wrote the header at some instant between `sent` and `received` (local
    /// time), when its own clock read somewhere in `[date, date + 1 s)`. So the offset
    /// lies in `(date - received, date + 1 s - sent)`; the middle and half-width of that
    /// interval are returned.
    pub fn clock_offset(&self) -> Option<ClockOffset> {
        let date = millis_since_epoch(self.date?);
        let sent = millis_since_epoch(self.sent);
        let received = millis_since_epoch(self.received).max(sent);
        let low = date - received;
        let high = date + 1000 - sent;
        Some(ClockOffset {
            offset_ms: i64::try_from((low + high) / 2).ok()?,
            uncertainty_ms: u64::try_from((high - low + 1) / 2).ok()?,
        })
    }
}

fn millis_since_epoch(time: SystemTime) -> i128 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_millis() as i128,
        Err(before) => -(before.duration().as_millis() as i128),
    }
}

impl Client {
    /// Queries [`PROBE_TOPIC`] (one page of at most one envelope) and notes the times
    /// around the answer and its `Date` header. Success means a MessageApi node answered;
    /// retried and bounded like any other unary call of this client.
    pub async fn probe(&self) -> Result<NodeProbe, NetworkError> {
        let request = Query::topic(PROBE_TOPIC).limit(1).to_request();
        self.unary("query", request, None, |mut api, req| async move {
            let sent = SystemTime::now();
            let response = api.query(req).await?;
            let received = SystemTime::now();
            let date = response
                .metadata()
                .get("date")
                .and_then(|value| value.to_str().ok())
                .and_then(parse_http_date);
            Ok(tonic::Response::new(NodeProbe {
                sent,
                received,
                date,
            }))
        })
        .await
    }
}

/// Parses an HTTP date in the IMF-fixdate form every current server sends (RFC 9110
/// §5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`. The obsolete forms are not accepted:
/// a clock reading we are not sure of is worse than none.
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    let mut parts = text.split(' ');
    let weekday = parts.next()?;
    let day: u32 = parts.next().filter(|d| d.len() == 2)?.parse().ok()?;
    let month = parts.next()?;
    let year: i64 = parts.next().filter(|y| y.len() == 4)?.parse().ok()?;
    let time = parts.next()?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    const WEEKDAYS: [&str; 7] = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let weekday = WEEKDAYS.iter().position(|w| *w == weekday)?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let mut clock = time.split(':');
    let mut field = |max: u32| -> Option<u32> {
        clock
            .next()
            .filter(|f| f.len() == 2)?
            .parse()
            .ok()
            .filter(|v| *v <= max)
    };
    let (hour, minute, second) = (field(23)?, field(59)?, field(60)?);
    if clock.next().is_some() || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // 1970-01-01 was a Thursday (index 3 from Monday).
    if (days + 3).rem_euclid(7) != weekday as i64 {
        return None;
    }
    let seconds = days * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    let seconds = u64::try_from(seconds).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64, millis: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_millis(millis)
    }

    #[test]
    fn parses_imf_fixdate() {
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(at(784_111_777, 0))
        );
        assert_eq!(
            parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Feb 2028 23:59:59 GMT"),
            Some(at(1_835_481_599, 0))
        );
    }

    #[test]
    fn refuses_anything_else() {
        for bad in [
            "",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
            "Fri, 29 Feb 2030 00:00:00 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn the_offset_is_an_honest_interval() {
        // The node's clock read 100.000–100.999 s while ours went from 99.8 to 100.0 s.
        let probe = NodeProbe {
            sent: at(99, 800),
            received: at(100, 0),
            date: Some(at(100, 0)),
        };
        let offset = probe.clock_offset().unwrap();
        // Node minus local lies in (100.0 - 100.0, 101.0 - 99.8) = (0, 1200) ms.
        assert_eq!((offset.min_ms(), offset.max_ms()), (0, 1200));
        assert_eq!(offset.uncertainty_ms, 600);
        assert_eq!(probe.round_trip(), Duration::from_millis(200));

        // A node ten minutes behind us.
        let behind = NodeProbe {
            sent: at(1000, 0),
            received: at(1000, 10),
            date: Some(at(400, 0)),
        };
        let offset = behind.clock_offset().unwrap();
        assert!(offset.max_ms() < -598_000, "{offset:?}");
        assert!(offset.min_ms() > -601_000, "{offset:?}");

        let no_date = NodeProbe {
            date: None,
            ..probe
        };
        assert_eq!(no_date.clock_offset(), None);
    }
}
