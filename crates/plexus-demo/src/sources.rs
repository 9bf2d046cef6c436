//! The product database, billing, helpdesk and mailbox sources under
//! `data/`, written row by row from the [`World`] (leads and the Segment
//! calls of the product and the website have their own modules), and the
//! identity files.
//!
//! Each writer also reports every valid record it writes to the [`Truth`]:
//! its true person and the identifiers of that person it carries after
//! normalisation and the guards (see [`crate::truth`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::DemoError;
use crate::ics::Invite;
use crate::mbox::{Mail, MboxOut};
use crate::out::CsvOut;
use crate::phone::typed_phone;
use crate::rng::{chance, pick, stream, weighted};
use crate::text::{
    Messiness, ROLE_MAILBOXES, app_full_name, gmail_variant, ticket_name, typed_email,
};
use crate::time::{DAY, END, START, TsStyle, between, business_hours, ts_string, work_time};
use crate::truth::{Id, Merge, Truth};
use crate::words::{
    EMPLOYEES, FIRST_NAMES, INBOUND_SUBJECTS, LAST_NAMES, SALES_SUBJECTS, TICKET_SUBJECTS, Team,
};
use crate::world::{Addr, DUAL, FAMILY, FIRST_USER_ID, GMAIL_VARIANTS, NONE, ROLES, World};

/// A written file: relative path and data rows.
pub(crate) type Written = (PathBuf, u64);

/// Keys of the deliberately bad rows of one source.
pub(crate) type BadKeys = Vec<String>;

/// Counts of the identity traps written, for `summary.json`.
#[derive(Debug, Default)]
pub(crate) struct Traps {
    /// Persons written at least once with a gmail variant of their address.
    pub gmail_persons: HashSet<u32>,
    /// Records with a gmail variant (`jane.doe+news@gmail.com`, ...).
    pub gmail_rows: u64,
    /// Records with a real phone, per source.
    pub phone_rows: Vec<(&'static str, u64)>,
    /// Records with a placeholder email next to a real phone.
    pub junk_email_rows: u64,
    /// Records with a placeholder phone next to a real email.
    pub junk_phone_rows: u64,
    /// Stripe invoices addressed to a shared `billing@` mailbox (whose
    /// customer names a `user_id` in its metadata).
    pub role_billing_rows: u64,
    /// Tickets sent from a shared `info@`/`support@` mailbox (with a phone).
    pub role_ticket_rows: u64,
    /// Distinct role mailboxes written.
    pub role_mailboxes: HashSet<String>,
    /// Lead rows registered by a reseller's address for a client `user_id`.
    pub partner_rows: u64,
    /// Never-merge pairs written: `(a, b, comment)` as `type:value`.
    pub never_merge: Vec<(String, String, &'static str)>,
    /// Keys of the CRM rows with another person's `user_id` typed in.
    pub typo_keys: Vec<String>,
    /// ... of which the person already has a `user_id` (the limit refuses).
    pub typo_rows_with_account: u64,
}

impl Traps {
    /// Adds `rows` phone-carrying records of `source`.
    pub(crate) fn phones(&mut self, source: &'static str, rows: u64) {
        match self.phone_rows.iter_mut().find(|r| r.0 == source) {
            Some(r) => r.1 += rows,
            None => self.phone_rows.push((source, rows)),
        }
    }
}

/// Person `p`'s address of kind `addr` as typed into a source: a gmail
/// variant half of the time for people who use them, then case and spaces.
pub(crate) fn written_email(
    rng: &mut ChaCha8Rng,
    world: &World,
    traps: &mut Traps,
    (p, addr): (u32, Addr),
    mess: Messiness,
) -> String {
    let canonical = world.email(p, addr);
    let base = if addr == Addr::Personal
        && world.persons[p as usize].flags & GMAIL_VARIANTS != 0
        && chance(rng, 0.5)
    {
        traps.gmail_rows += 1;
        traps.gmail_persons.insert(p);
        gmail_variant(rng, &canonical)
    } else {
        canonical
    };
    typed_email(rng, &base, mess)
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

/// `data/app_users.csv`: `id,email,phone,full_name,workspace_id,role,created_at`.
pub(crate) fn app_users(
    root: &Path,
    world: &World,
    truth: &mut Truth,
    traps: &mut Traps,
    seed: u64,
) -> Result<Written, DemoError> {
    let mut rng = stream(seed, 1);
    let mut out = CsvOut::create(
        root,
        "data/app_users.csv",
        &[
            "id",
            "email",
            "phone",
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
    let mut ids: Vec<Id> = Vec::with_capacity(3);
    let mut phones = 0;
    for (i, a) in world.accounts.iter().enumerate() {
        let (p, addr) = (a.person, a.addr);
        let person = &world.persons[p as usize];
        let (first, last) = (
            FIRST_NAMES[person.first as usize],
            LAST_NAMES[person.last as usize].0,
        );
        let id = (FIRST_USER_ID + i as u64).to_string();
        let email = written_email(&mut rng, world, traps, (p, addr), mess);
        let phone = if a.shows_phone {
            phones += 1;
            typed_phone(&mut rng, person.phone)
        } else {
            String::new()
        };
        let name = app_full_name(&mut rng, first.0, first.1, last);
        let ws = format!("ws_{}", a.workspace + 1);
        let created = ts_string(a.created, TsStyle::Csv);
        out.row([
            id.as_str(),
            &email,
            &phone,
            &name,
            &ws,
            ROLES[a.role as usize],
            &created,
        ])?;
        ids.clear();
        ids.extend([Id::Email(p, addr), Id::User(i as u32)]);
        // A family partner's phone is refused (never-merge pair, user_id limit).
        if a.shows_phone && world.own_phone(p) {
            ids.push(Id::Phone(p));
        }
        truth.record("app_users", &id, p, &ids)?;
    }
    traps.phones("app_users", phones);
    out.finish()
}

/// The company's email domain at time `t` (the old one before a rename).
pub(crate) fn company_domain(world: &World, company: u32, t: i64) -> &str {
    let c = &world.companies[company as usize];
    match &c.old {
        Some((old, _, at)) if t < *at => old,
        _ => &c.domain,
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
    /// Sent from a shared mailbox: 1 + index into [`ROLE_MAILBOXES`], or 0.
    pub role: u8,
    /// Whether the requester's phone is filled in.
    pub phone: bool,
    /// True for the deliberately bad row (empty requester email and phone).
    pub bad: bool,
}

/// `data/support_tickets.csv`: `ticket_id,requester_email,requester_phone,requester_name,subject,priority,created_at`.
///
/// Requesters write from their work or personal address; most tickets from
/// a personal address carry the phone that ties them to the person's account.
/// About 1.5% of work tickets come from the company's shared `info@` or
/// `support@` mailbox, always with the requester's phone. Returns the tickets
/// in id order (id = `T-{10001 + index}`) for the email log.
pub(crate) fn support_tickets(
    root: &Path,
    world: &World,
    truth: &mut Truth,
    traps: &mut Traps,
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
        let p = a.person;
        let flags = world.persons[p as usize].flags;
        for _ in 0..count {
            let t =
                work_time(&mut rng, a.created + 3600, a.last_active).clamp(a.created + 3600, END);
            let addr = if a.addr == Addr::Personal {
                Addr::Personal
            } else {
                world.addr_for(&mut rng, p, t, 0.25)
            };
            let subject = rng.random_range(0..TICKET_SUBJECTS.len() as u32) as u8;
            let role =
                if addr != Addr::Personal && world.phone_anchored(p) && chance(&mut rng, 0.015) {
                    1 + rng.random_range(1..3u32) as u8 // info or support
                } else {
                    0
                };
            // Never a phone next to a dual person's personal address (it would
            // tie two user_ids) nor from a family phone (shown on accounts only).
            let phone = role != 0
                || (world.own_phone(p)
                    && flags & FAMILY == 0
                    && !(flags & DUAL != 0 && addr == Addr::Personal)
                    && chance(&mut rng, if addr == Addr::Personal { 0.95 } else { 0.35 }));
            tickets.push(Ticket {
                t,
                person: p,
                addr,
                subject,
                role,
                phone,
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
            role: 0,
            phone: false,
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
            "requester_phone",
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
    let mut ids: Vec<Id> = Vec::with_capacity(2);
    let mut phones = 0;
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
        } else if tk.role != 0 {
            let c = person.company;
            let mailbox = format!(
                "{}@{}",
                ROLE_MAILBOXES[tk.role as usize - 1],
                company_domain(world, c, tk.t)
            );
            traps.role_ticket_rows += 1;
            traps.role_mailboxes.insert(mailbox.clone());
            typed_email(&mut rng, &mailbox, mess)
        } else {
            written_email(&mut rng, world, traps, (tk.person, tk.addr), mess)
        };
        let phone = if tk.phone {
            phones += 1;
            typed_phone(&mut rng, person.phone)
        } else {
            String::new()
        };
        let priority = weighted(
            &mut rng,
            &[("low", 30), ("normal", 50), ("high", 15), ("urgent", 5)],
        );
        let created = ts_string(tk.t, TsStyle::Csv);
        out.row([
            key.as_str(),
            &email,
            &phone,
            &name,
            TICKET_SUBJECTS[tk.subject as usize],
            priority,
            &created,
        ])?;
        if tk.bad {
            bad_keys.push(key);
        } else {
            ids.clear();
            if tk.role == 0 {
                ids.push(Id::Email(tk.person, tk.addr));
            }
            if tk.phone {
                ids.push(Id::Phone(tk.person));
            }
            truth.record("support_tickets", &key, tk.person, &ids)?;
        }
    }
    traps.phones("support_tickets", phones);
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
    /// Conversation number (set by [`thread`]).
    thread: u32,
    /// The answer to the thread's first message (set by [`thread`]).
    follow_up: bool,
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
    let mut first = first;
    first.thread = msgs.len() as u32;
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
                thread: msgs[msgs.len() - 1].thread,
                follow_up: true,
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

/// `data/gmail.mbox` (see [`crate::mbox`]): the vendor's mail with customers.
///
/// Sales outreach to companies (with replies), onboarding and renewal mails
/// to billing contacts, support replies to tickets, inbound questions from
/// everyone not seen in any other source (so every person appears
/// somewhere), and a few questions from company people's personal
/// addresses. Returns the file, the employees that appear, and the calls
/// the conversations lead to (for the calendar).
pub(crate) fn emails(
    root: &Path,
    world: &World,
    (truth, traps): (&mut Truth, &mut Traps),
    seed: u64,
    tickets: &[Ticket],
    subs: &[crate::stripe::Subscription],
) -> Result<(Written, Vec<&'static str>, Vec<Invite>), DemoError> {
    let mut rng = stream(seed, 5);
    let (sales, success, support) = (team(Team::Sales), team(Team::Success), team(Team::Support));
    let mut msgs: Vec<Message> = Vec::new();
    let mut planned = vec![false; world.n];
    // Support replies to tickets.
    for (i, tk) in tickets.iter().enumerate() {
        // (Replies to a shared mailbox would name only the mailbox: none.)
        if tk.bad || tk.role != 0 || !chance(&mut rng, 0.5) {
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
            thread: 0,
            follow_up: false,
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
                thread: 0,
                follow_up: false,
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
                thread: 0,
                follow_up: false,
            };
            thread(&mut rng, &mut msgs, &mut planned, m, 0.6);
            t += 330 * DAY;
            subject = if chance(&mut rng, 0.5) { 6 } else { 7 };
        }
    }
    // Everyone not seen yet writes in (or is written to) at least once.
    for p in 0..world.n as u32 {
        if truth.seen(p) != 0 || planned[p as usize] {
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
            thread: 0,
            follow_up: false,
        };
        thread(&mut rng, &mut msgs, &mut planned, m, 0.5);
    }
    // A few company people also write in from their personal address, which
    // nothing else ties to their work address (support may merge them).
    for p in 0..world.n as u32 {
        let person = &world.persons[p as usize];
        let work = Addr::Work.bit() | Addr::WorkOld.bit();
        if person.company == NONE
            || person.personal.is_empty()
            || person.flags & DUAL != 0
            || truth.seen(p) & work == 0
            || !chance(&mut rng, 0.03)
        {
            continue;
        }
        let t = work_time(&mut rng, START, END - DAY);
        let subject = Subject::Inbound(rng.random_range(0..INBOUND_SUBJECTS.len() as u32) as u8);
        let m = Message {
            t,
            person: p,
            addr: Addr::Personal,
            employee: pick(&mut rng, &sales),
            subject,
            inbound: true,
            reply: false,
            thread: 0,
            follow_up: false,
        };
        thread(&mut rng, &mut msgs, &mut planned, m, 0.5);
    }
    msgs.sort_by_key(|m| (m.t, m.person, m.reply));

    let mut out = MboxOut::create(root, seed)?;
    let mess = Messiness {
        case: 0.15,
        space: 0.05,
    };
    let mut used = [false; EMPLOYEES.len()];
    let mut invites = Vec::new();
    for m in &msgs {
        // A demo call after a sales conversation the customer answered; a
        // series of check-ins after the onboarding mail.
        let call = match m.subject {
            Subject::Sales(5) if !m.reply => Some(true),
            Subject::Sales(0 | 1 | 3 | 4) if m.follow_up && m.inbound => Some(false),
            _ => None,
        };
        if let Some(onboarding) = call {
            invites.push(Invite {
                after: m.t,
                person: m.person,
                addr: m.addr,
                employee: m.employee,
                onboarding,
            });
        }
        let customer = written_email(&mut rng, world, traps, (m.person, m.addr), mess);
        let person = &world.persons[m.person as usize];
        let name = format!(
            "{} {}",
            FIRST_NAMES[person.first as usize].0, LAST_NAMES[person.last as usize].0
        );
        let employee = &EMPLOYEES[m.employee as usize];
        used[m.employee as usize] = true;
        // A colleague copied on some outbound mail.
        let cc = if !m.inbound && chance(&mut rng, 0.1) {
            let k = rng.random_range(0..EMPLOYEES.len() as u32) as usize;
            (k != m.employee as usize).then(|| {
                used[k] = true;
                (EMPLOYEES[k].0, EMPLOYEES[k].1)
            })
        } else {
            None
        };
        let subject = match m.subject {
            Subject::Sales(s) => SALES_SUBJECTS[s as usize].to_string(),
            Subject::Ticket(t) => format!(
                "[T-{}] {}",
                10_001 + t,
                TICKET_SUBJECTS[tickets[t as usize].subject as usize]
            ),
            Subject::Inbound(s) => INBOUND_SUBJECTS[s as usize].to_string(),
        };
        let key = out.write(
            &mut rng,
            &Mail {
                t: m.t,
                thread: m.thread,
                follow_up: m.follow_up,
                reply: m.reply,
                inbound: m.inbound,
                customer: (&name, customer.trim()),
                employee: (employee.0, employee.1),
                cc,
                subject: &subject,
            },
        )?;
        // The customer is the sender of an inbound message, the recipient of an outbound one.
        let role = if m.inbound { "from" } else { "to" };
        truth.record_as(
            "gmail",
            &key,
            m.person,
            role,
            &[Id::Email(m.person, m.addr)],
        )?;
    }
    let employees = EMPLOYEES
        .iter()
        .zip(used)
        .filter(|(_, u)| *u)
        .map(|(e, _)| e.1)
        .collect();
    Ok((out.finish()?, employees, invites))
}

/// `identity/merges.csv` (`old_email,new_email`): a person's personal
/// address folded into their work address by a support agent, for people
/// whose personal records nothing else ties to the work ones.
pub(crate) fn merges(root: &Path, world: &World, merges: &[Merge]) -> Result<Written, DemoError> {
    let mut out = CsvOut::create(root, "identity/merges.csv", &["old_email", "new_email"])?;
    for &(p, work) in merges {
        out.row([world.email(p, Addr::Personal), world.email(p, work)])?;
    }
    out.finish()
}

/// `identity/never_merge.csv` (`a,b,comment`, values `type:value`): pairs of
/// identifiers a human says belong to different persons.
pub(crate) fn never_merge(root: &Path, traps: &Traps) -> Result<Written, DemoError> {
    let mut out = CsvOut::create(root, "identity/never_merge.csv", &["a", "b", "comment"])?;
    for (a, b, comment) in &traps.never_merge {
        out.row([a.as_str(), b.as_str(), comment])?;
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
