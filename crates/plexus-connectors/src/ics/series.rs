//! Turns the events of one UID (masters and overridden instances) into
//! meetings: recurrence expansion, `EXDATE` and `RDATE`, overrides
//! replacing generated instances, cancellations removing them.

use std::collections::{BTreeSet, HashSet};

use chrono::NaiveDate;

use super::Meeting;
use super::event::Event;
use super::recur::{Window, add_secs, expand, local_date};
use super::value::IcsTime;
use crate::Reject;
use crate::time::rfc3339_utc;

/// All events sharing one UID, in file order.
#[derive(Debug, Default)]
pub(crate) struct Series {
    /// Events without `RECURRENCE-ID` (normally one).
    pub masters: Vec<Event>,
    /// Events with `RECURRENCE-ID`: modified or cancelled instances.
    pub overrides: Vec<Event>,
}

/// Seconds from an event's start to its end: `DTEND`, else `DURATION`,
/// else one day for all-day events; `None` for a timed event with neither.
fn length_secs(e: &Event) -> Option<i64> {
    if let (Some(end), Some(start)) = (e.end.and_then(IcsTime::micros), e.start.micros()) {
        return Some((end - start) / 1_000_000);
    }
    e.duration.or(e.start.date_only.then_some(86_400))
}

/// Builds one meeting of `e` starting at `start`; `fallback` fills text
/// and people an override leaves out.
fn meeting(
    e: &Event,
    start: i64,
    length: Option<i64>,
    recurring: bool,
    fallback: Option<&Event>,
) -> Meeting {
    let pick = |own: &Option<String>, get: fn(&Event) -> &Option<String>| {
        own.clone()
            .or_else(|| fallback.and_then(|f| get(f).clone()))
    };
    let attendees = if e.attendees.is_empty() {
        fallback.map(|f| f.attendees.clone()).unwrap_or_default()
    } else {
        e.attendees.clone()
    };
    Meeting {
        line: e.line,
        uid: e.uid.clone(),
        key: format!("{}/{}", e.uid, rfc3339_utc(start)),
        start,
        end: length.and_then(|l| add_secs(start, l)),
        all_day: e.start.date_only,
        summary: pick(&e.summary, |f| &f.summary),
        description: pick(&e.description, |f| &f.description),
        location: pick(&e.location, |f| &f.location),
        status: e.status.clone(),
        recurring,
        organizer: e
            .organizer
            .clone()
            .or_else(|| fallback.and_then(|f| f.organizer.clone())),
        attendees,
    }
}

/// Start instants of one master's occurrences inside the window, with
/// `EXDATE`s and overridden instances removed.
fn master_starts(
    master: &Event,
    overridden: &HashSet<i64>,
    window: Window,
) -> Result<BTreeSet<i64>, Reject> {
    let zone = master.start.zone;
    let first = master
        .start
        .micros()
        .ok_or_else(|| Reject::new(master.line, "DTSTART cannot be converted to UTC"))?;
    let mut starts: BTreeSet<i64> = BTreeSet::new();
    let mut dates: Vec<(i64, Option<NaiveDate>)> = vec![(first, local_date(first, zone))];
    // Exclusions must not eat the cap: generate that many more.
    let generous = Window {
        max: window
            .max
            .saturating_add(master.exdates.len())
            .saturating_add(overridden.len()),
        ..window
    };
    for rule in &master.rrules {
        let occ =
            expand(rule, master.start, generous).map_err(|why| Reject::new(master.line, why))?;
        dates.extend(occ.into_iter().map(|o| (o.micros, Some(o.local_date))));
    }
    for rdate in &master.rdates {
        if let Some(m) = rdate.micros() {
            dates.push((m, local_date(m, zone)));
        }
    }
    let ex_instants: HashSet<i64> = master.exdates.iter().filter_map(|t| t.micros()).collect();
    // A DATE-valued EXDATE on a timed series removes that whole local day.
    let ex_days: HashSet<NaiveDate> = if master.start.date_only {
        HashSet::new()
    } else {
        master
            .exdates
            .iter()
            .filter(|t| t.date_only)
            .map(|t| t.naive.date())
            .collect()
    };
    for (m, day) in dates {
        let in_window = m >= window.start && m < window.end;
        let excluded = ex_instants.contains(&m)
            || day.is_some_and(|d| ex_days.contains(&d))
            || overridden.contains(&m);
        if in_window && !excluded {
            starts.insert(m);
        }
    }
    Ok(starts)
}

impl Series {
    /// The series' meetings inside `window`, and rejects for masters whose
    /// rules cannot be expanded.
    pub(crate) fn meetings(
        &self,
        window: Window,
        out: &mut Vec<Meeting>,
        rejects: &mut Vec<Reject>,
    ) {
        let overridden: HashSet<i64> = self
            .overrides
            .iter()
            .filter_map(|o| o.recurrence_id.and_then(IcsTime::micros))
            .collect();
        let live_master = self.masters.iter().find(|m| !m.cancelled());
        for master in self.masters.iter().filter(|m| !m.cancelled()) {
            let recurring = !master.rrules.is_empty() || !master.rdates.is_empty();
            let length = length_secs(master);
            match master_starts(master, &overridden, window) {
                Ok(starts) => out.extend(
                    starts
                        .into_iter()
                        .take(window.max)
                        .map(|s| meeting(master, s, length, recurring, None)),
                ),
                Err(r) => rejects.push(r),
            }
        }
        // Overrides stand for their instance; when every master is
        // cancelled the whole series is gone.
        if !self.masters.is_empty() && live_master.is_none() {
            return;
        }
        for o in self.overrides.iter().filter(|o| !o.cancelled()) {
            let Some(start) = o.start.micros() else {
                continue;
            };
            if start < window.start || start >= window.end {
                continue;
            }
            let length = if o.end.is_some() || o.duration.is_some() {
                length_secs(o)
            } else {
                live_master.and_then(length_secs).or_else(|| length_secs(o))
            };
            out.push(meeting(o, start, length, true, live_master));
        }
    }
}
