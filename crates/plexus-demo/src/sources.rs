//! The six source files under `data/`, written row by row from the [`World`].
//!
//! Each writer also appends the ground truth of the records it writes
//! (`ground_truth/records.csv`) and marks which of a person's addresses
//! appeared, for the identity summary.

use std::path::{Path, PathBuf};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::DemoError;
use crate::out::{CsvOut, LinesOut};
use crate::rng::{chance, pareto, pick, stream, weighted};
use crate::text::{
    Messiness, app_full_name, money, push_json_str, push_u64, ticket_name, typed_email,
};
use crate::time::{
    DAY, END, START, TsStyle, between, business_hours, push_ts, ts_string, work_time,
};
use crate::words::{
    EMPLOYEES, FIRST_NAMES, INBOUND_SUBJECTS, LAST_NAMES, SALES_SUBJECTS, TICKET_SUBJECTS, Team,
};
use crate::world::{Addr, FIRST_USER_ID, NONE, Plan, ROLES, World};

/// A written file: relative path and data rows.
pub(crate) type Written = (PathBuf, u64);

/// Keys of the deliberately bad rows of one source.
pub(crate) type BadKeys = Vec<String>;

/// Writes one ground-truth line.
fn truth(
    out: &mut CsvOut,
    world: &World,
    source: &str,
    key: &str,
    p: u32,
) -> Result<(), DemoError> {
    out.row([source, key, world.person_id(p).as_str()])
}

/// `data/workspaces.csv`: `id,name,plan,created_at`.
pub(crate) fn workspaces(root: &Path, world: &World) -> Result<Written, DemoError> {
    let mut out = CsvOut::create(
        root,
        "data/workspaces.csv",
        &["id", "name", "plan", "created_at"],
    )?;
    for (i, ws) in world.workspaces.iter().enumerate() {
        let id = format!("ws_{}", i + 1);
        out.row([
            id.as_str(),
            &ws.name,
            ws.plan.as_str(),
            &ts_string(ws.created, TsStyle::Csv),
        ])?;
    }
    out.finish()
}

/// `data/app_users.csv`: `id,email,full_name,workspace_id,role,created_at`.
pub(crate) fn app_users(
    root: &Path,
    world: &mut World,
    gt: &mut CsvOut,
    seed: u64,
) -> Result<Written, DemoError> {
    let mut rng = stream(seed, 1);
    let mut out = CsvOut::create(
        root,
        "data/app_users.csv",
        &[
            "id",
            "email",
            "full_name",
            "workspace_id",
            "role",
            "created_at",
        ],
    )?;
    let mess = Messiness {
        case: 0.04,
        space: 0.01,
    };
    for i in 0..world.accounts.len() {
        let a = &world.accounts[i];
        let (p, addr) = (a.person, a.addr);
        let person = &world.persons[p as usize];
        let (first, last) = (
            FIRST_NAMES[person.first as usize],
            LAST_NAMES[person.last as usize].0,
        );
        let id = (FIRST_USER_ID + i as u64).to_string();
        let email = typed_email(&mut rng, &world.email(p, addr), mess);
        let name = app_full_name(&mut rng, first.0, first.1, last);
        let ws = format!("ws_{}", a.workspace + 1);
        let created = ts_string(a.created, TsStyle::Csv);
        out.row([
            id.as_str(),
            &email,
            &name,
            &ws,
            ROLES[a.role as usize],
            &created,
        ])?;
        truth(gt, world, "app_users", &id, p)?;
        world.mark(p, addr);
    }
    out.finish()
}

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

/// `data/product_events.ndjson`: one JSON object per line, grouped by user
/// and in time order within a user.
pub(crate) fn product_events(root: &Path, world: &World, seed: u64) -> Result<Written, DemoError> {
    let mut rng = stream(seed, 2);
    let mut out = LinesOut::create(root, "data/product_events.ndjson")?;
    let mut line: Vec<u8> = Vec::with_capacity(256);
    let mut times: Vec<i64> = Vec::new();
    let mut seq: u64 = 0;
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
        let user_id = FIRST_USER_ID + i as u64;
        for &t in &times {
            seq += 1;
            let event = weighted(&mut rng, EVENTS);
            line.clear();
            line.extend_from_slice(b"{\"event_id\":\"evt_");
            let digits = seq.to_string();
            line.extend(std::iter::repeat_n(
                b'0',
                9usize.saturating_sub(digits.len()),
            ));
            line.extend_from_slice(digits.as_bytes());
            line.extend_from_slice(b"\",\"user_id\":");
            push_u64(&mut line, user_id);
            line.extend_from_slice(b",\"event\":");
            push_json_str(&mut line, event);
            line.extend_from_slice(b",\"timestamp\":\"");
            push_ts(&mut line, t, TsStyle::Iso);
            line.extend_from_slice(b"\",\"workspace_id\":\"ws_");
            push_u64(&mut line, u64::from(a.workspace) + 1);
            line.extend_from_slice(b"\",\"client\":");
            push_json_str(
                &mut line,
                weighted(&mut rng, &[("web", 80), ("desktop", 12), ("api", 8)]),
            );
            line.extend_from_slice(b",\"properties\":{");
            event_properties(&mut rng, &mut line, event);
            line.extend_from_slice(b"}}\n");
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

/// One invoice before numbering.
struct Invoice {
    t: i64,
    person: u32,
    addr: Addr,
    company: u32,
    cents: u64,
    eur: bool,
    failed: bool,
}

/// A paying company's billing contact, for the success team's emails.
pub(crate) struct Subscription {
    /// Company index.
    pub company: u32,
    /// Billing contact (person index).
    pub contact: u32,
    /// First invoice.
    pub start: i64,
}

/// `data/billing.csv`: `invoice_id,customer_email,company,amount,currency,status,paid_at`.
///
/// Companies on paid plans get monthly (or yearly) invoices addressed to a
/// billing contact; private Pro workspaces get small monthly invoices to the
/// personal address. 5% of charges fail and are retried a few days later.
/// Three extra rows carry an unparseable `paid_at`.
pub(crate) fn billing(
    root: &Path,
    world: &mut World,
    gt: &mut CsvOut,
    seed: u64,
) -> Result<(Written, BadKeys, Vec<Subscription>), DemoError> {
    let mut rng = stream(seed, 3);
    // Per company: best plan, first paid workspace, seats, first workspace owner.
    let nc = world.companies.len();
    let mut plan = vec![Plan::Free; nc];
    let mut paid_since = vec![i64::MAX; nc];
    let mut owner = vec![NONE; nc];
    let mut seats = vec![0u64; nc];
    let mut personal: Vec<(u32, i64)> = Vec::new();
    for ws in &world.workspaces {
        if ws.company == NONE {
            if ws.plan != Plan::Free {
                personal.push((ws.owner, ws.created));
            }
            continue;
        }
        let c = ws.company as usize;
        if owner[c] == NONE {
            owner[c] = ws.owner;
        }
        if ws.plan != Plan::Free {
            plan[c] = plan[c].max(ws.plan);
            paid_since[c] = paid_since[c].min(ws.created);
        }
    }
    for a in &world.accounts {
        if a.addr != Addr::Personal {
            seats[world.persons[a.person as usize].company as usize] += 1;
        }
    }

    let mut invoices: Vec<Invoice> = Vec::new();
    let mut subs: Vec<Subscription> = Vec::new();
    for c in 0..nc {
        if plan[c] == Plan::Free {
            continue;
        }
        let (a, b) = world.companies[c].members;
        let contact = if chance(&mut rng, 0.7) {
            owner[c]
        } else {
            world.members[rng.random_range(a..b) as usize]
        };
        let monthly = match plan[c] {
            Plan::Starter => 4_900,
            Plan::Pro => 1_500 * seats[c].max(5),
            _ => 120_000 + 1_250 * seats[c],
        };
        let annual = chance(&mut rng, 0.15);
        let start = paid_since[c] + 14 * DAY;
        let eur = world.companies[c].currency == "EUR";
        let stop = if chance(&mut rng, 0.08) {
            between(&mut rng, start + 60 * DAY, END)
        } else {
            END
        };
        if start <= END {
            subs.push(Subscription {
                company: c as u32,
                contact,
                start,
            });
        }
        let (period, cents) = if annual {
            (365 * DAY, monthly * 10)
        } else {
            (30 * DAY, monthly)
        };
        charges(
            &mut rng,
            world,
            &mut invoices,
            (contact, c as u32, None),
            (start, stop, period),
            (cents, eur),
        );
    }
    for &(p, created) in &personal {
        let start = created + 14 * DAY;
        let stop = if chance(&mut rng, 0.25) {
            between(&mut rng, start + 30 * DAY, END)
        } else {
            END
        };
        let eur = chance(&mut rng, 0.2);
        charges(
            &mut rng,
            world,
            &mut invoices,
            (p, NONE, Some(Addr::Personal)),
            (start, stop, 30 * DAY),
            (1_200, eur),
        );
    }
    invoices.sort_by_key(|i| (i.t, i.person));

    // Three extra rows with an unparseable paid_at, at random positions.
    let mut bad_at: Vec<(usize, u32, Addr, u32)> = Vec::new();
    if world.n > 0 {
        for _ in 0..3 {
            let pos = rng.random_range(0..=invoices.len() as u64) as usize;
            let (p, addr, company) = if invoices.is_empty() {
                let p = rng.random_range(0..world.n as u32);
                (p, world.addr_for(&mut rng, p, END, 0.0), NONE)
            } else {
                let inv = &invoices[rng.random_range(0..invoices.len() as u64) as usize];
                (inv.person, inv.addr, inv.company)
            };
            bad_at.push((pos, p, addr, company));
        }
        bad_at.sort_by_key(|b| b.0);
    }
    const BAD_DATES: [&str; 3] = ["not-a-date", "2026-13-45 25:61:00", "yesterday"];

    let mut out = CsvOut::create(
        root,
        "data/billing.csv",
        &[
            "invoice_id",
            "customer_email",
            "company",
            "amount",
            "currency",
            "status",
            "paid_at",
        ],
    )?;
    let mess = Messiness {
        case: 0.55,
        space: 0.15,
    };
    let mut bad_keys = Vec::new();
    let mut next_bad = 0;
    let mut seq = 0u64;
    for idx in 0..=invoices.len() {
        while next_bad < bad_at.len() && bad_at[next_bad].0 == idx {
            let (_, p, addr, company) = bad_at[next_bad];
            seq += 1;
            let key = format!("INV-{seq:06}");
            let email = typed_email(&mut rng, &world.email(p, addr), mess);
            let company = company_name(world, company, END);
            out.row([
                key.as_str(),
                &email,
                &company,
                "49.00",
                "USD",
                "paid",
                BAD_DATES[next_bad % 3],
            ])?;
            bad_keys.push(key);
            next_bad += 1;
        }
        let Some(inv) = invoices.get(idx) else { break };
        seq += 1;
        let key = format!("INV-{seq:06}");
        let email = typed_email(&mut rng, &world.email(inv.person, inv.addr), mess);
        let company = company_name(world, inv.company, inv.t);
        let currency = if inv.eur { "EUR" } else { "USD" };
        let status = if inv.failed { "failed" } else { "paid" };
        out.row([
            key.as_str(),
            &email,
            &company,
            &money(inv.cents),
            currency,
            status,
            &ts_string(inv.t, TsStyle::Csv),
        ])?;
        truth(gt, world, "billing", &key, inv.person)?;
        world.mark(inv.person, inv.addr);
    }
    Ok((out.finish()?, bad_keys, subs))
}

/// The invoice's company column at time `t` (the old legal name before a rename).
fn company_name(world: &World, company: u32, t: i64) -> String {
    if company == NONE {
        return String::new();
    }
    let c = &world.companies[company as usize];
    match &c.old {
        Some((_, legal, at)) if t < *at => legal.clone(),
        _ => c.legal.clone(),
    }
}

/// Appends the invoices of one subscription: `who` = (contact, company, fixed
/// address), `when` = (start, stop, period), `price` = (cents, in euros).
fn charges(
    rng: &mut ChaCha8Rng,
    world: &World,
    invoices: &mut Vec<Invoice>,
    who: (u32, u32, Option<Addr>),
    when: (i64, i64, i64),
    price: (u64, bool),
) {
    let (person, company, fixed) = who;
    let (start, stop, period) = when;
    let (cents, eur) = price;
    let mut t = start;
    while t <= stop {
        let at = business_hours(rng, t).min(END);
        let addr = fixed.unwrap_or_else(|| world.work_addr_at(person, at));
        let failed = chance(rng, 0.05);
        invoices.push(Invoice {
            t: at,
            person,
            addr,
            company,
            cents,
            eur,
            failed,
        });
        if failed {
            let retry = at + rng.random_range(DAY..4 * DAY);
            if retry <= END {
                let addr = fixed.unwrap_or_else(|| world.work_addr_at(person, retry));
                invoices.push(Invoice {
                    t: retry,
                    person,
                    addr,
                    company,
                    cents,
                    eur,
                    failed: false,
                });
            }
        }
        t += period;
    }
}

/// One support ticket before numbering; `bad` marks the injected bad row.
pub(crate) struct Ticket {
    /// Creation time.
    pub t: i64,
    /// Requester (person index).
    pub person: u32,
    /// Address used.
    pub addr: Addr,
    /// Index into [`TICKET_SUBJECTS`].
    pub subject: u8,
    /// True for the deliberately bad row (empty requester email).
    pub bad: bool,
}

/// `data/support_tickets.csv`: `ticket_id,requester_email,requester_name,subject,priority,created_at`.
///
/// Returns the tickets in id order (id = `T-{10001 + index}`) for the email log.
pub(crate) fn support_tickets(
    root: &Path,
    world: &mut World,
    gt: &mut CsvOut,
    seed: u64,
) -> Result<(Written, BadKeys, Vec<Ticket>), DemoError> {
    let mut rng = stream(seed, 4);
    let mut tickets: Vec<Ticket> = Vec::new();
    for a in &world.accounts {
        if !chance(&mut rng, 0.18) {
            continue;
        }
        let mut count = 1;
        while count < 12 && chance(&mut rng, 0.45) {
            count += 1;
        }
        for _ in 0..count {
            let t =
                work_time(&mut rng, a.created + 3600, a.last_active).clamp(a.created + 3600, END);
            let addr = if a.addr == Addr::Personal {
                Addr::Personal
            } else {
                world.addr_for(&mut rng, a.person, t, 0.25)
            };
            let subject = rng.random_range(0..TICKET_SUBJECTS.len() as u32) as u8;
            tickets.push(Ticket {
                t,
                person: a.person,
                addr,
                subject,
                bad: false,
            });
        }
    }
    tickets.sort_by_key(|t| (t.t, t.person));
    if world.n > 0 {
        let p = rng.random_range(0..world.n as u32);
        let t = work_time(&mut rng, START, END);
        let bad = Ticket {
            t,
            person: p,
            addr: Addr::Personal,
            subject: 1,
            bad: true,
        };
        let pos = tickets.partition_point(|x| x.t <= t);
        tickets.insert(pos, bad);
    }

    let mut out = CsvOut::create(
        root,
        "data/support_tickets.csv",
        &[
            "ticket_id",
            "requester_email",
            "requester_name",
            "subject",
            "priority",
            "created_at",
        ],
    )?;
    let mess = Messiness {
        case: 0.2,
        space: 0.1,
    };
    let mut bad_keys = Vec::new();
    for (i, tk) in tickets.iter().enumerate() {
        let key = format!("T-{}", 10_001 + i);
        let person = &world.persons[tk.person as usize];
        let name = ticket_name(
            &mut rng,
            FIRST_NAMES[person.first as usize].0,
            LAST_NAMES[person.last as usize].0,
        );
        let email = if tk.bad {
            String::new()
        } else {
            typed_email(&mut rng, &world.email(tk.person, tk.addr), mess)
        };
        let priority = weighted(
            &mut rng,
            &[("low", 30), ("normal", 50), ("high", 15), ("urgent", 5)],
        );
        let created = ts_string(tk.t, TsStyle::Csv);
        out.row([
            key.as_str(),
            &email,
            &name,
            TICKET_SUBJECTS[tk.subject as usize],
            priority,
            &created,
        ])?;
        if tk.bad {
            bad_keys.push(key);
        } else {
            truth(gt, world, "support_tickets", &key, tk.person)?;
            world.mark(tk.person, tk.addr);
        }
    }
    Ok((out.finish()?, bad_keys, tickets))
}

/// What an email is about.
#[derive(Clone, Copy)]
enum Subject {
    /// A sales or success subject (index into [`SALES_SUBJECTS`]).
    Sales(u8),
    /// A reply to a support ticket (ticket index).
    Ticket(u32),
    /// An unprompted inbound message (index into [`INBOUND_SUBJECTS`]).
    Inbound(u8),
}

/// One email before numbering.
struct Message {
    t: i64,
    person: u32,
    addr: Addr,
    employee: u8,
    subject: Subject,
    inbound: bool,
    reply: bool,
}

/// Pushes a first message and, with probability `reply_p`, the reply to it.
fn thread(
    rng: &mut ChaCha8Rng,
    msgs: &mut Vec<Message>,
    planned: &mut [bool],
    first: Message,
    reply_p: f64,
) {
    planned[first.person as usize] = true;
    let reply = chance(rng, reply_p);
    let (t, person, addr, employee, subject, inbound) = (
        first.t,
        first.person,
        first.addr,
        first.employee,
        first.subject,
        first.inbound,
    );
    msgs.push(first);
    if reply {
        let rt = t + rng.random_range(3600..5 * DAY);
        let rt = business_hours(rng, rt).max(t + 600);
        if rt <= END {
            msgs.push(Message {
                t: rt,
                person,
                addr,
                employee,
                subject,
                inbound: !inbound,
                reply: true,
            });
        }
    }
}

/// Indices into [`EMPLOYEES`] of one team.
fn team(team: Team) -> Vec<u8> {
    EMPLOYEES
        .iter()
        .enumerate()
        .filter(|e| e.1.2 == team)
        .map(|e| e.0 as u8)
        .collect()
}

/// `data/emails.csv`: `message_id,from,to,subject,sent_at,direction`.
///
/// Sales outreach to companies (with replies), onboarding and renewal mails
/// to billing contacts, support replies to tickets, and inbound questions
/// from everyone not seen in any other source, so every person appears
/// somewhere. Returns the file and the employees that appear.
pub(crate) fn emails(
    root: &Path,
    world: &mut World,
    gt: &mut CsvOut,
    seed: u64,
    tickets: &[Ticket],
    subs: &[Subscription],
) -> Result<(Written, Vec<&'static str>), DemoError> {
    let mut rng = stream(seed, 5);
    let (sales, success, support) = (team(Team::Sales), team(Team::Success), team(Team::Support));
    let mut msgs: Vec<Message> = Vec::new();
    let mut planned = vec![false; world.n];
    // Support replies to tickets.
    for (i, tk) in tickets.iter().enumerate() {
        if tk.bad || !chance(&mut rng, 0.5) {
            continue;
        }
        let t = (tk.t + rng.random_range(600..DAY)).min(END);
        let m = Message {
            t,
            person: tk.person,
            addr: tk.addr,
            employee: pick(&mut rng, &support),
            subject: Subject::Ticket(i as u32),
            inbound: false,
            reply: true,
        };
        thread(&mut rng, &mut msgs, &mut planned, m, 0.4);
    }
    // Sales outreach, before a company's first sign-up when there is one.
    let mut first_ws = vec![i64::MAX; world.companies.len()];
    for ws in &world.workspaces {
        if ws.company != NONE {
            let c = ws.company as usize;
            first_ws[c] = first_ws[c].min(ws.created);
        }
    }
    for c in 0..world.companies.len() {
        let (a, b) = world.companies[c].members;
        let contacts = 1 + ((b - a) / 5).min(3);
        let rep = sales[c % sales.len()];
        for _ in 0..contacts {
            let p = world.members[rng.random_range(a..b) as usize];
            let t = if first_ws[c] == i64::MAX {
                between(&mut rng, START, END - 3 * DAY)
            } else {
                between(
                    &mut rng,
                    (first_ws[c] - 90 * DAY).max(START),
                    first_ws[c].max(START + DAY),
                )
            };
            let t = business_hours(&mut rng, t);
            let addr = world.work_addr_at(p, t);
            let subject = Subject::Sales(pick(&mut rng, &[0u8, 1, 3, 4]));
            let m = Message {
                t,
                person: p,
                addr,
                employee: rep,
                subject,
                inbound: false,
                reply: false,
            };
            thread(&mut rng, &mut msgs, &mut planned, m, 0.5);
        }
    }
    // Success: onboarding and renewals for paying companies.
    for s in subs {
        let csm = success[s.company as usize % success.len()];
        let first = s.start + rng.random_range(DAY..7 * DAY);
        let mut t = business_hours(&mut rng, first);
        let mut subject = 5u8; // "Onboarding call, agenda"
        while t <= END {
            let addr = world.work_addr_at(s.contact, t);
            let m = Message {
                t,
                person: s.contact,
                addr,
                employee: csm,
                subject: Subject::Sales(subject),
                inbound: false,
                reply: false,
            };
            thread(&mut rng, &mut msgs, &mut planned, m, 0.6);
            t += 330 * DAY;
            subject = if chance(&mut rng, 0.5) { 6 } else { 7 };
        }
    }
    // Everyone not seen yet writes in (or is written to) at least once.
    for p in 0..world.n as u32 {
        if world.seen[p as usize] != 0 || planned[p as usize] {
            continue;
        }
        let t = work_time(&mut rng, START, END - DAY);
        let addr = world.addr_for(&mut rng, p, t, 0.3);
        let subject = Subject::Inbound(rng.random_range(0..INBOUND_SUBJECTS.len() as u32) as u8);
        let m = Message {
            t,
            person: p,
            addr,
            employee: pick(&mut rng, &sales),
            subject,
            inbound: true,
            reply: false,
        };
        thread(&mut rng, &mut msgs, &mut planned, m, 0.5);
    }
    msgs.sort_by_key(|m| (m.t, m.person, m.reply));

    let mut out = CsvOut::create(
        root,
        "data/emails.csv",
        &[
            "message_id",
            "from",
            "to",
            "subject",
            "sent_at",
            "direction",
        ],
    )?;
    let mess = Messiness {
        case: 0.15,
        space: 0.05,
    };
    let mut used = [false; EMPLOYEES.len()];
    for (i, m) in msgs.iter().enumerate() {
        let key = format!("msg-{:08}", i + 1);
        let customer = typed_email(&mut rng, &world.email(m.person, m.addr), mess);
        let employee = EMPLOYEES[m.employee as usize].1;
        used[m.employee as usize] = true;
        let base = match m.subject {
            Subject::Sales(s) => SALES_SUBJECTS[s as usize].to_string(),
            Subject::Ticket(t) => format!(
                "[T-{}] {}",
                10_001 + t,
                TICKET_SUBJECTS[tickets[t as usize].subject as usize]
            ),
            Subject::Inbound(s) => INBOUND_SUBJECTS[s as usize].to_string(),
        };
        let subject = if m.reply { format!("Re: {base}") } else { base };
        let (from, to, direction) = if m.inbound {
            (customer.as_str(), employee, "inbound")
        } else {
            (employee, customer.as_str(), "outbound")
        };
        out.row([
            key.as_str(),
            from,
            to,
            &subject,
            &ts_string(m.t, TsStyle::Csv),
            direction,
        ])?;
        truth(gt, world, "emails", &key, m.person)?;
        world.mark(m.person, m.addr);
    }
    let employees = EMPLOYEES
        .iter()
        .zip(used)
        .filter(|(_, u)| *u)
        .map(|(e, _)| e.1)
        .collect();
    Ok((out.finish()?, employees))
}

/// `identity/merges.csv` (`old_email,new_email`): the personal account's
/// address folded into the work account's, as in the product database.
pub(crate) fn merges(root: &Path, world: &World) -> Result<Written, DemoError> {
    let mut out = CsvOut::create(root, "identity/merges.csv", &["old_email", "new_email"])?;
    for &(personal, work) in &world.merges {
        let (a, b) = (
            &world.accounts[personal as usize],
            &world.accounts[work as usize],
        );
        out.row([world.email(a.person, a.addr), world.email(b.person, b.addr)])?;
    }
    out.finish()
}

/// `identity/domain_aliases.csv` (`old_domain,new_domain`): companies that
/// changed their domain.
pub(crate) fn domain_aliases(root: &Path, world: &World) -> Result<Written, DemoError> {
    let mut out = CsvOut::create(
        root,
        "identity/domain_aliases.csv",
        &["old_domain", "new_domain"],
    )?;
    let mut pairs: Vec<(&str, &str)> = world
        .companies
        .iter()
        .filter_map(|c| c.old.as_ref().map(|o| (o.0.as_str(), c.domain.as_str())))
        .collect();
    pairs.sort_unstable();
    for (old, new) in pairs {
        out.row([old, new])?;
    }
    out.finish()
}
