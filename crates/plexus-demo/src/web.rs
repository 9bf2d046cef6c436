//! `data/segment/website.ndjson`: the website's analytics as analytics.js
//! sends them to Segment, one call per line (see [`crate::segment`]): `page`
//! calls for page views, `track` calls for clicks and the login, an
//! `identify` call after each login (`traits.email`, `traits.name`) and, for
//! some users, an `alias` of their cookie to their `userId`.
//!
//! About 85% of people's main accounts come with a browsing history that
//! starts anonymously: a cookie (`anonymousId`) seen on a device
//! (`context.device.id`), that device seen with a new cookie, that cookie on
//! another device, and so on, until a login call ties the last id to the
//! `userId`. Each page and track call carries at most one id of each type and
//! only ids next to each other in that chain, so the shortest path from the
//! first cookie to the `userId` is exactly the chain's length, 3 to 8 hops.
//! Anonymous visitors who never log in (one to three ids each, never shared)
//! are true persons of their own, `V000123` in the ground truth. The truth
//! lists the page and track calls (the events); identify and alias calls are
//! not events and link only ids the calls around them already link.
//!
//! Calls are grouped by visitor and in time order within one; nothing but the
//! current visitor's rows is held in memory. The file is written on its own
//! thread: the truth lines go to a temporary file that the main thread then
//! appends to `ground_truth/records.csv`.

use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::DemoError;
use crate::out::LinesOut;
use crate::rng::{chance, pareto, pick, stream, weighted};
use crate::segment::{MessageIds, SITE, begin, end, field, mix, push_hex, push_uuid, user_id};
use crate::sources::Written;
use crate::text::push_json_str;
use crate::time::{DAY, END, START, between};
use crate::truth::{Who, pairs, truth_line};
use crate::words::{FIRST_NAMES, LAST_NAMES};
use crate::world::{FIRST_USER_ID, World};

/// The website's calls file, relative to the project.
pub(crate) const PATH: &str = "data/segment/website.ndjson";

/// The temporary truth file of the web events, relative to the project.
pub(crate) const TRUTH_PART: &str = "ground_truth/records.web_events.tmp";

/// Chain lengths (hops from the first `anonymous_id` to the `user_id`) with
/// weights.
const HOPS: &[(u8, u32)] = &[(3, 26), (4, 22), (5, 18), (6, 14), (7, 11), (8, 9)];

/// Probability that an account comes with a browsing history.
const CHAIN_P: f64 = 0.85;

/// Anonymous-only visitors per account (on average).
const VISITOR_P: f64 = 0.25;

/// Pages of the marketing site: path and page name.
const SITE_PAGES: &[(&str, &str)] = &[
    ("/", "Home"),
    ("/pricing", "Pricing"),
    ("/features", "Features"),
    ("/customers", "Customers"),
    ("/integrations", "Integrations"),
    ("/blog/self-serve-reporting", "Self-serve reporting"),
    ("/blog/dashboards-that-get-read", "Dashboards that get read"),
    ("/docs/getting-started", "Getting started"),
    ("/docs/connectors", "Connectors"),
    ("/signup", "Sign up"),
];

/// Pages of the product, after login: path and page name.
const APP_PAGES: &[(&str, &str)] = &[
    ("/app", "Home"),
    ("/app/reports", "Reports"),
    ("/app/dashboards", "Dashboards"),
    ("/app/queries", "Queries"),
    ("/app/settings", "Settings"),
    ("/docs/sql-reference", "SQL reference"),
];

/// Anonymous-side event names with weights.
const ANON_EVENTS: &[(&str, u32)] = &[
    ("page_view", 80),
    ("cta_clicked", 8),
    ("video_played", 6),
    ("form_viewed", 6),
];

/// An id of the web chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WebId {
    /// A cookie id (sequence number).
    Anon(u64),
    /// A device id (sequence number).
    Device(u64),
}

/// One row before writing: time, the ids it carries, whether it is the login
/// (or a logged-in row).
#[derive(Clone, Copy, Debug)]
struct Row {
    t: i64,
    anon: Option<u64>,
    device: Option<u64>,
    user: bool,
    login: bool,
}

impl Row {
    /// A row carrying the ids `a` and (optionally) `b`, of different types.
    fn of(t: i64, a: WebId, b: Option<WebId>) -> Row {
        let mut row = Row {
            t,
            anon: None,
            device: None,
            user: false,
            login: false,
        };
        for id in std::iter::once(a).chain(b) {
            match id {
                WebId::Anon(x) => row.anon = Some(x),
                WebId::Device(x) => row.device = Some(x),
            }
        }
        row
    }
}

/// What [`web_events`] wrote.
pub(crate) struct WebOutput {
    /// The data file.
    pub file: Written,
    /// Truth lines in [`TRUTH_PART`].
    pub truth_rows: u64,
    /// Per account (index into `World::accounts`), rows of its chain.
    pub account_rows: Vec<u32>,
    /// Pairs of rows of one anonymous visitor, summed.
    pub visitor_pairs: u64,
    /// Counts for `summary.json`.
    pub stats: WebStats,
}

/// What [`web_events`] wrote, for `summary.json`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct WebStats {
    /// Chains ending in a login.
    pub chains: u64,
    /// Chains by hop count (index = hops).
    pub hops: [u64; 9],
    /// Rows of chains (including the logged-in rows).
    pub chain_rows: u64,
    /// Anonymous visitors who never log in.
    pub visitors: u64,
    /// Their rows.
    pub visitor_rows: u64,
}

/// Id generator: cookie ids look like UUIDs, device ids like `dev_` + 16 hex.
struct Ids {
    salt: u64,
    anon: u64,
    device: u64,
}

impl Ids {
    /// A fresh cookie id.
    fn anon(&mut self) -> WebId {
        self.anon += 1;
        WebId::Anon(self.anon)
    }

    /// A fresh device id.
    fn device(&mut self) -> WebId {
        self.device += 1;
        WebId::Device(self.device)
    }

    /// Appends the JSON string of cookie `k`, a UUID as analytics.js makes
    /// them: its last 16 hex digits are a bijection of `k`, so ids never repeat.
    fn push_anon(&self, out: &mut Vec<u8>, k: u64) {
        let hi = mix(self.salt.wrapping_add(k));
        let lo = mix(hi ^ 0x5DEE_CE66_D1CE_4E5B);
        out.push(b'"');
        push_uuid(out, hi, lo);
        out.push(b'"');
    }

    /// Appends the JSON string of device `k`.
    fn push_device(&self, out: &mut Vec<u8>, k: u64) {
        let v = mix(self
            .salt
            .wrapping_add(0x00D0_0000_0000_0000)
            .wrapping_add(k)
            ^ 0xD);
        out.extend_from_slice(b"\"dev_");
        push_hex(out, v, 16);
        out.push(b'"');
    }
}

/// Who logs in at the end of a chain: the `userId` and the traits of the
/// `identify` call.
struct Login {
    user: u64,
    email: String,
    name: String,
}

/// Writes [`PATH`] and the truth of each page and track call (into
/// [`TRUTH_PART`]).
pub(crate) fn web_events(root: &Path, world: &World, seed: u64) -> Result<WebOutput, DemoError> {
    let mut rng = stream(seed, 9);
    let mut out = LinesOut::create(root, PATH)?;
    let mut truth = LinesOut::create(root, TRUTH_PART)?;
    let mut ids = Ids {
        salt: mix(seed ^ 0x5745_4245_5645_4e54),
        anon: 0,
        device: 0,
    };
    let mut stats = WebStats::default();
    let mut account_rows = vec![0u32; world.accounts.len()];
    let mut visitor_pairs = 0;
    let mut rows: Vec<Row> = Vec::new();
    let mut w = Writer {
        line: Vec::with_capacity(384),
        ids: MessageIds::new(b"ajs-next-", mix(seed ^ 0x414a_5343_414c_4c53)),
        truth_row: Vec::with_capacity(64),
    };
    for (i, a) in world.accounts.iter().enumerate() {
        if world.main_account(a.person) == i as u32 && chance(&mut rng, CHAIN_P) {
            let hops = chain(&mut rng, &mut ids, &mut rows, a.created, a.last_active);
            stats.chains += 1;
            stats.hops[hops] += 1;
            stats.chain_rows += rows.len() as u64;
            let person = &world.persons[a.person as usize];
            let login = Login {
                user: FIRST_USER_ID + i as u64,
                email: world.email(a.person, a.addr),
                name: format!(
                    "{} {}",
                    FIRST_NAMES[person.first as usize].0, LAST_NAMES[person.last as usize].0
                ),
            };
            for row in &rows {
                w.write(&mut rng, &ids, &mut out, row, Some(login.user))?;
                w.truth(&mut truth, Who::Person(a.person), world.id_width)?;
                if row.login {
                    w.identify(&ids, &mut out, row, &login)?;
                }
            }
            account_rows[i] = rows.len() as u32;
        }
        if chance(&mut rng, VISITOR_P) {
            visitor(&mut rng, &mut ids, &mut rows);
            let v = stats.visitors as u32;
            stats.visitors += 1;
            stats.visitor_rows += rows.len() as u64;
            visitor_pairs += pairs(rows.len() as u64);
            for row in &rows {
                w.write(&mut rng, &ids, &mut out, row, None)?;
                w.truth(&mut truth, Who::Visitor(v), world.id_width)?;
            }
        }
    }
    let (_, truth_rows) = truth.finish()?;
    Ok(WebOutput {
        file: out.finish()?,
        truth_rows,
        account_rows,
        visitor_pairs,
        stats,
    })
}

/// Call writer state.
struct Writer {
    line: Vec<u8>,
    /// Message ids; the key is that of the last call written.
    ids: MessageIds,
    /// The truth line of the last call written.
    truth_row: Vec<u8>,
}

impl Writer {
    /// Writes the ground truth of the last call written: it belongs to `who`.
    fn truth(&mut self, truth: &mut LinesOut, who: Who, width: usize) -> Result<(), DemoError> {
        truth_line(
            &mut self.truth_row,
            "web_events",
            &self.ids.key,
            who,
            "",
            width,
        );
        truth.line(&self.truth_row)
    }

    /// Appends the row's `anonymousId` and `userId` (when logged in).
    fn who(&mut self, ids: &Ids, row: &Row, user: Option<u64>) {
        if let Some(k) = row.anon {
            self.line.extend_from_slice(b",\"anonymousId\":");
            ids.push_anon(&mut self.line, k);
        }
        if let Some(u) = user.filter(|_| row.user) {
            user_id(&mut self.line, u);
        }
    }

    /// Appends `,"context":{...}` with the page of a track call and the device.
    fn context(&mut self, ids: &Ids, row: &Row, page: Option<&str>) {
        if page.is_none() && row.device.is_none() {
            return;
        }
        let line = &mut self.line;
        line.extend_from_slice(b",\"context\":{");
        if let Some(path) = page {
            // Paths are plain ASCII: no JSON escaping needed.
            line.extend_from_slice(b"\"page\":{\"path\":\"");
            line.extend_from_slice(path.as_bytes());
            line.extend_from_slice(b"\",\"url\":\"");
            line.extend_from_slice(SITE.as_bytes());
            line.extend_from_slice(path.as_bytes());
            line.extend_from_slice(b"\"}");
            if row.device.is_some() {
                line.push(b',');
            }
        }
        if let Some(k) = row.device {
            line.extend_from_slice(b"\"device\":{\"id\":");
            ids.push_device(line, k);
            line.push(b'}');
        }
        line.push(b'}');
    }

    /// Writes one row: a `page` call for a page view, else a `track` call.
    fn write(
        &mut self,
        rng: &mut ChaCha8Rng,
        ids: &Ids,
        out: &mut LinesOut,
        row: &Row,
        user: Option<u64>,
    ) -> Result<(), DemoError> {
        debug_assert!(row.anon.is_some() || row.user, "a call needs an id");
        let ms = self.ids.next();
        let (event, (path, name)) = if row.login {
            ("login", ("/login", "Log in"))
        } else if row.user {
            ("page_view", pick(rng, APP_PAGES))
        } else {
            (weighted(rng, ANON_EVENTS), pick(rng, SITE_PAGES))
        };
        if event == "page_view" {
            begin(&mut self.line, "page", &self.ids, row.t, ms);
            self.who(ids, row, user);
            field(&mut self.line, "name", name);
            let line = &mut self.line;
            line.extend_from_slice(b",\"properties\":{\"path\":\"");
            line.extend_from_slice(path.as_bytes());
            line.extend_from_slice(b"\",\"url\":\"");
            line.extend_from_slice(SITE.as_bytes());
            line.extend_from_slice(path.as_bytes());
            line.extend_from_slice(b"\"}");
            self.context(ids, row, None);
        } else {
            begin(&mut self.line, "track", &self.ids, row.t, ms);
            self.who(ids, row, user);
            field(&mut self.line, "event", event);
            self.line.extend_from_slice(b",\"properties\":{\"page\":");
            push_json_str(&mut self.line, name);
            self.line.push(b'}');
            self.context(ids, row, Some(path));
        }
        end(&mut self.line);
        out.line(&self.line)
    }

    /// Writes the `identify` call that follows a login (the user's email and
    /// name as traits) and, for a quarter of the users who log in under a
    /// cookie, an `alias` call of that cookie to the `userId`.
    fn identify(
        &mut self,
        ids: &Ids,
        out: &mut LinesOut,
        row: &Row,
        login: &Login,
    ) -> Result<(), DemoError> {
        let ms = self.ids.next();
        begin(&mut self.line, "identify", &self.ids, row.t, ms);
        self.who(ids, row, Some(login.user));
        self.line.extend_from_slice(b",\"traits\":{\"email\":");
        push_json_str(&mut self.line, &login.email);
        self.line.extend_from_slice(b",\"name\":");
        push_json_str(&mut self.line, &login.name);
        self.line.push(b'}');
        self.context(ids, row, None);
        end(&mut self.line);
        out.line(&self.line)?;
        if let Some(k) = row.anon.filter(|_| mix(login.user).is_multiple_of(4)) {
            let ms = self.ids.next();
            begin(&mut self.line, "alias", &self.ids, row.t, ms);
            self.line.extend_from_slice(b",\"previousId\":");
            ids.push_anon(&mut self.line, k);
            user_id(&mut self.line, login.user);
            end(&mut self.line);
            out.line(&self.line)?;
        }
        Ok(())
    }
}

/// Random moments in `[lo, hi]`, sorted.
fn moments(rng: &mut ChaCha8Rng, k: usize, lo: i64, hi: i64, into: &mut Vec<i64>) {
    into.clear();
    for _ in 0..k {
        into.push(between(rng, lo, hi));
    }
    into.sort_unstable();
}

/// Fills `rows` with one account's chain (in time order) and returns its hop
/// count: cookie and device ids alternate, starting with a cookie; only
/// neighbours share a row; the last id logs in at sign-up and stays logged in.
fn chain(
    rng: &mut ChaCha8Rng,
    ids: &mut Ids,
    rows: &mut Vec<Row>,
    created: i64,
    last_active: i64,
) -> usize {
    rows.clear();
    let hops = weighted(rng, HOPS) as usize;
    let mut nodes: Vec<WebId> = Vec::with_capacity(hops);
    for k in 0..hops {
        nodes.push(if k % 2 == 0 { ids.anon() } else { ids.device() });
    }
    let login = (created + rng.random_range(0..600)).min(END);
    let back = (-(1.0 - rng.random::<f64>()).ln() * 20.0 * DAY as f64) as i64;
    let t0 = (login - DAY - back).clamp(START, login);
    let span = login - t0;
    let mut times = Vec::new();
    for (k, &node) in nodes.iter().enumerate() {
        let lo = t0 + span * k as i64 / hops as i64;
        let hi = t0 + span * (k as i64 + 1) / hops as i64;
        let singles = if matches!(node, WebId::Anon(_)) {
            rng.random_range(0..=3usize)
        } else {
            0
        };
        let next = nodes.get(k + 1).copied();
        let links = if next.is_some() {
            1 + usize::from(chance(rng, 0.5))
        } else {
            0
        };
        moments(rng, singles + links, lo, hi, &mut times);
        // Singles and links interleave at random within the segment.
        let mut left_single = singles;
        for &t in &times {
            let single = left_single > 0 && (next.is_none() || chance(rng, 0.5));
            if single {
                left_single -= 1;
                rows.push(Row::of(t, node, None));
            } else {
                rows.push(Row::of(t, node, next));
            }
        }
    }
    let last = nodes[hops - 1];
    let mut login_row = Row::of(login, last, None);
    login_row.user = true;
    login_row.login = true;
    rows.push(login_row);
    let after = (pareto(rng, 1.6) * 3.5).min(300.0) as usize;
    moments(rng, after, login, last_active.max(login), &mut times);
    for &t in &times {
        let mut row = Row::of(t, last, None);
        row.user = true;
        rows.push(row);
    }
    hops
}

/// Fills `rows` with an anonymous visitor's visits: one to three ids
/// (cookie, device, cookie), each with its own rows and the links between
/// neighbours, within a month.
fn visitor(rng: &mut ChaCha8Rng, ids: &mut Ids, rows: &mut Vec<Row>) {
    rows.clear();
    let n = weighted(rng, &[(1usize, 50), (2, 30), (3, 20)]);
    let nodes: Vec<WebId> = (0..n)
        .map(|k| if k % 2 == 0 { ids.anon() } else { ids.device() })
        .collect();
    let t0 = between(rng, START, END - 31 * DAY);
    let mut times = Vec::new();
    for (k, &node) in nodes.iter().enumerate() {
        let lo = t0 + 10 * DAY * k as i64;
        let singles = if matches!(node, WebId::Anon(_)) {
            rng.random_range(1..=4usize)
        } else {
            0
        };
        moments(rng, singles, lo, lo + 10 * DAY, &mut times);
        for &t in &times {
            rows.push(Row::of(t, node, None));
        }
        if let Some(&next) = nodes.get(k + 1) {
            let links = 1 + usize::from(chance(rng, 0.5));
            moments(rng, links, lo + 10 * DAY, lo + 10 * DAY + 3600, &mut times);
            for &t in &times {
                rows.push(Row::of(t, node, Some(next)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet, VecDeque};

    /// Shortest path (in rows) from the chain's first cookie to the user.
    fn hops_to_user(rows: &[Row]) -> Option<usize> {
        let key = |id: WebId| match id {
            WebId::Anon(x) => (0u8, x),
            WebId::Device(x) => (1u8, x),
        };
        let user = (2u8, 0u64);
        let mut adj: HashMap<(u8, u64), HashSet<(u8, u64)>> = HashMap::new();
        let mut first = None;
        for r in rows {
            let mut here: Vec<(u8, u64)> = Vec::new();
            if let Some(a) = r.anon {
                here.push(key(WebId::Anon(a)));
                if first.is_none() {
                    first = Some(key(WebId::Anon(a)));
                }
            }
            if let Some(d) = r.device {
                here.push(key(WebId::Device(d)));
            }
            if r.user {
                here.push(user);
            }
            assert!(here.len() <= 2, "a row carries at most two ids");
            for &x in &here {
                for &y in &here {
                    if x != y {
                        adj.entry(x).or_default().insert(y);
                    }
                }
            }
        }
        let start = first?;
        let mut dist: HashMap<(u8, u64), usize> = HashMap::from([(start, 0)]);
        let mut queue = VecDeque::from([start]);
        while let Some(x) = queue.pop_front() {
            if x == user {
                return dist.get(&x).copied();
            }
            for &y in adj.get(&x).into_iter().flatten() {
                if !dist.contains_key(&y) {
                    dist.insert(y, dist[&x] + 1);
                    queue.push_back(y);
                }
            }
        }
        None
    }

    #[test]
    fn chains_have_the_drawn_hop_count_and_time_order() {
        let mut rng = stream(11, 0);
        let mut ids = Ids {
            salt: 3,
            anon: 0,
            device: 0,
        };
        let mut rows = Vec::new();
        let mut seen = [0u32; 9];
        for _ in 0..500 {
            let created = between(&mut rng, START + 40 * DAY, END - 40 * DAY);
            let hops = chain(&mut rng, &mut ids, &mut rows, created, END);
            assert!((3..=8).contains(&hops));
            seen[hops] += 1;
            assert_eq!(hops_to_user(&rows), Some(hops));
            assert!(rows.windows(2).all(|w| w[0].t <= w[1].t), "time order");
            assert!(rows.iter().all(|r| (START..=END).contains(&r.t)));
            assert_eq!(rows.iter().filter(|r| r.login).count(), 1);
        }
        assert!(seen[3..=8].iter().all(|&k| k > 0), "{seen:?}");
    }

    #[test]
    fn visitors_never_log_in() {
        let mut rng = stream(12, 0);
        let mut ids = Ids {
            salt: 3,
            anon: 0,
            device: 0,
        };
        let mut rows = Vec::new();
        for _ in 0..200 {
            visitor(&mut rng, &mut ids, &mut rows);
            assert!(!rows.is_empty());
            assert!(
                rows.iter()
                    .all(|r| !r.user && r.anon.or(r.device).is_some())
            );
            assert_eq!(hops_to_user(&rows), None);
        }
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let ids = Ids {
            salt: mix(42),
            anon: 0,
            device: 0,
        };
        let mut all = HashSet::new();
        for k in 0..20_000u64 {
            let mut a = Vec::new();
            ids.push_anon(&mut a, k);
            assert_eq!(a.len(), 38, "{}", String::from_utf8_lossy(&a));
            assert!(all.insert(a));
            let mut d = Vec::new();
            ids.push_device(&mut d, k);
            assert_eq!(d.len(), 22);
            assert!(all.insert(d));
        }
    }
}
