//! `data/segment/product.ndjson`: the product's server-side Segment calls.
//!
//! Per account (grouped by user, in time order within a user): a `group`
//! call at sign-up that puts the user in their workspace (`groupId` =
//! `ws_N`, `traits.name` and `traits.plan`), then the product's `track`
//! calls (`userId`, `event`, `properties` with the `client` and the event's
//! own fields, `context.groupId` = the workspace). Users are known only by
//! their `userId`, which `app_users` ties to an email; these calls are not in
//! the ground truth.

use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::DemoError;
use crate::out::LinesOut;
use crate::rng::{chance, pareto, pick, stream, weighted};
use crate::segment::{MessageIds, begin, end, field, mix, user_id};
use crate::sources::Written;
use crate::text::{push_json_str, push_u64};
use crate::time::{END, work_time};
use crate::world::{FIRST_USER_ID, World};

/// The product's calls file, relative to the project.
pub(crate) const PATH: &str = "data/segment/product.ndjson";

/// Product event names with their weights (percent).
const EVENTS: &[(&str, u32)] = &[
    ("login", 33),
    ("report_viewed", 20),
    ("report_created", 11),
    ("dashboard_viewed", 12),
    ("dashboard_shared", 5),
    ("query_run", 10),
    ("invite_sent", 3),
    ("export_downloaded", 6),
];

/// Writes [`PATH`]: each account's `group` call, then its `track` calls.
pub(crate) fn product_events(root: &Path, world: &World, seed: u64) -> Result<Written, DemoError> {
    let mut rng = stream(seed, 2);
    let mut out = LinesOut::create(root, PATH)?;
    let mut ids = MessageIds::new(b"node-next-", mix(seed ^ 0x5052_4f44_5543_5453));
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut times: Vec<i64> = Vec::new();
    let mut ws_id = String::new();
    for (i, a) in world.accounts.iter().enumerate() {
        let count = if chance(&mut rng, 0.1) {
            rng.random_range(0..2u32)
        } else {
            (pareto(&mut rng, 1.6) * 5.0).min(5000.0) as u32
        };
        times.clear();
        for _ in 0..count {
            let t = work_time(&mut rng, a.created, a.last_active);
            times.push(t.clamp(a.created + 1, END));
        }
        times.sort_unstable();
        let user = FIRST_USER_ID + i as u64;
        let ws = &world.workspaces[a.workspace as usize];
        ws_id.clear();
        ws_id.push_str("ws_");
        ws_id.push_str(&(u64::from(a.workspace) + 1).to_string());
        // The sign-up puts the user in their workspace.
        let ms = ids.next();
        begin(&mut line, "group", &ids, a.created.min(END), ms);
        user_id(&mut line, user);
        field(&mut line, "groupId", &ws_id);
        line.extend_from_slice(b",\"traits\":{\"name\":");
        push_json_str(&mut line, &ws.name);
        line.extend_from_slice(b",\"plan\":");
        push_json_str(&mut line, ws.plan.as_str());
        line.push(b'}');
        end(&mut line);
        out.line(&line)?;
        for &t in &times {
            let event = weighted(&mut rng, EVENTS);
            let ms = ids.next();
            begin(&mut line, "track", &ids, t, ms);
            user_id(&mut line, user);
            field(&mut line, "event", event);
            line.extend_from_slice(b",\"properties\":{\"client\":");
            push_json_str(
                &mut line,
                weighted(&mut rng, &[("web", 80), ("desktop", 12), ("api", 8)]),
            );
            line.push(b',');
            event_properties(&mut rng, &mut line, event);
            line.extend_from_slice(b"},\"context\":{\"groupId\":");
            push_json_str(&mut line, &ws_id);
            line.push(b'}');
            end(&mut line);
            out.line(&line)?;
        }
    }
    out.finish()
}

/// The properties object of one product event (types are consistent per
/// property name across event kinds, so schema inference is stable).
fn event_properties(rng: &mut ChaCha8Rng, line: &mut Vec<u8>, event: &str) {
    match event {
        "login" => {
            line.extend_from_slice(b"\"method\":");
            push_json_str(
                line,
                weighted(rng, &[("password", 55), ("sso", 25), ("google", 20)]),
            );
        }
        "report_viewed" | "report_created" => {
            line.extend_from_slice(b"\"report_id\":\"rpt_");
            push_u64(line, rng.random_range(1..100_000u64));
            line.extend_from_slice(b"\",\"charts\":");
            push_u64(line, rng.random_range(1..13u64));
        }
        "dashboard_viewed" => {
            line.extend_from_slice(b"\"dashboard_id\":\"dash_");
            push_u64(line, rng.random_range(1..20_000u64));
            line.push(b'"');
        }
        "dashboard_shared" => {
            line.extend_from_slice(b"\"dashboard_id\":\"dash_");
            push_u64(line, rng.random_range(1..20_000u64));
            line.extend_from_slice(b"\",\"channel\":");
            push_json_str(line, pick(rng, &["slack", "email", "link"]));
        }
        "query_run" => {
            line.extend_from_slice(b"\"rows\":");
            push_u64(line, (pareto(rng, 1.1) * 20.0).min(5.0e7) as u64);
            line.extend_from_slice(b",\"duration_ms\":");
            push_u64(line, (pareto(rng, 1.5) * 40.0).min(6.0e5) as u64);
        }
        "invite_sent" => {
            line.extend_from_slice(b"\"invitee_role\":");
            push_json_str(
                line,
                weighted(rng, &[("member", 70), ("viewer", 20), ("admin", 10)]),
            );
        }
        _ => {
            line.extend_from_slice(b"\"format\":");
            push_json_str(
                line,
                weighted(rng, &[("csv", 60), ("xlsx", 30), ("pdf", 10)]),
            );
            line.extend_from_slice(b",\"rows\":");
            push_u64(line, (pareto(rng, 1.1) * 50.0).min(1.0e6) as u64);
        }
    }
}
