//! `data/leads.csv`: the CRM's marketing leads, where people type whatever a
//! form accepts.
//!
//! Columns: `lead_id,email,phone,full_name,company,lead_source,user_id,created_at`.
//! About 45% of company people and 25% of private users fill in 1-6 forms,
//! mostly with their work address, often with a phone in any of its
//! renderings; sales links some leads to the product account (`user_id`).
//! The traps:
//! - junk: about 4% of leads carry a placeholder address (`test@test.com`,
//!   `none@none.com`, `noemail@example.com`) next to the person's real phone,
//!   or a placeholder phone (`0000000000`, `(000) 000-0000`) next to their
//!   real address; never as the row's only identifier;
//! - resellers: a partner's address registers leads for 5-8 client accounts
//!   (one address seen with more than 3 `user_id`s: quarantined);
//! - mistyped `user_id`: a few leads carry another person's `user_id` next to
//!   the lead's own address and phone; `identity/never_merge.csv` lists
//!   `user_id` against both, and when the lead's person has an account of
//!   their own the `user_id` limit refuses the link too.

use std::collections::HashSet;
use std::path::Path;

use rand::Rng;

use crate::DemoError;
use crate::out::CsvOut;
use crate::phone::{JUNK_PHONES, typed_phone};
use crate::rng::{chance, pick, stream, weighted};
use crate::sources::{Traps, Written, written_email};
use crate::text::{JUNK_EMAILS, Messiness, ticket_name, typed_email};
use crate::time::{DAY, END, START, TsStyle, between, business_hours, ts_string, work_time};
use crate::truth::{Id, Truth};
use crate::words::{FIRST_NAMES, LAST_NAMES};
use crate::world::{Addr, DUAL, FAMILY, FIRST_USER_ID, NONE, World};

/// Where a lead came from, with weights (percent).
const LEAD_SOURCES: &[(&str, u32)] = &[
    ("webinar", 22),
    ("ebook_download", 20),
    ("demo_request", 18),
    ("pricing_page", 15),
    ("contact_form", 15),
    ("trade_show", 10),
];

/// What the lead's email column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Email {
    /// The person's own address of the lead's kind.
    Own,
    /// A placeholder (index into [`JUNK_EMAILS`]).
    Junk(u8),
    /// Nothing (a phone-only lead).
    Empty,
    /// A reseller's address (index into `World::partners`).
    Partner(u16),
}

/// What the lead's phone column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phone {
    /// Nothing.
    Empty,
    /// The person's own phone.
    Own,
    /// A placeholder (index into [`JUNK_PHONES`]).
    Junk(u8),
}

/// One lead before numbering.
struct Lead {
    t: i64,
    person: u32,
    addr: Addr,
    email: Email,
    phone: Phone,
    /// Account whose `user_id` is filled in, or [`NONE`].
    user: u32,
    /// The `user_id` is someone else's (a typo).
    typo: bool,
    /// The `lead_source` column.
    source: &'static str,
}

/// Writes `data/leads.csv`; adds the mistyped-`user_id` pairs to
/// `traps.never_merge`.
pub(crate) fn leads(
    root: &Path,
    world: &World,
    truth: &mut Truth,
    traps: &mut Traps,
    seed: u64,
) -> Result<Written, DemoError> {
    let mut rng = stream(seed, 8);
    let mut leads: Vec<Lead> = Vec::new();
    for p in 0..world.n as u32 {
        let person = &world.persons[p as usize];
        let at_company = person.company != NONE;
        if !chance(&mut rng, if at_company { 0.45 } else { 0.25 }) {
            continue;
        }
        let mut count = 1;
        while count < 6 && chance(&mut rng, 0.35) {
            count += 1;
        }
        let main = world.main_account(p);
        let anchored = world.phone_anchored(p);
        let own_phone = world.own_phone(p) && person.flags & FAMILY == 0;
        for _ in 0..count {
            let t = if main != NONE && chance(&mut rng, 0.6) {
                // Before signing up: marketing at work.
                let created = world.accounts[main as usize].created;
                between(&mut rng, (created - 120 * DAY).max(START), created)
            } else {
                work_time(&mut rng, START, END)
            };
            // Private persons use their personal address; company people
            // mostly the work one.
            let personal = !at_company
                || (!person.personal.is_empty()
                    && person.flags & DUAL == 0
                    && anchored
                    && chance(&mut rng, 0.12));
            let addr = if personal {
                Addr::Personal
            } else {
                world.work_addr_at(p, t)
            };
            // A work person's personal address always comes with the phone
            // that ties it to their account.
            let mut phone = if own_phone
                && (addr == Addr::Personal && at_company
                    || chance(&mut rng, if addr == Addr::Personal { 0.9 } else { 0.55 }))
            {
                Phone::Own
            } else {
                Phone::Empty
            };
            let account = world.account_for(p, addr);
            let user = if account != NONE
                && t > world.accounts[account as usize].created
                && chance(&mut rng, 0.3)
            {
                account
            } else {
                NONE
            };
            let mut email = Email::Own;
            if chance(&mut rng, 0.04) {
                if phone == Phone::Own && anchored && chance(&mut rng, 0.5) {
                    email = Email::Junk(rng.random_range(0..JUNK_EMAILS.len() as u32) as u8);
                } else {
                    phone = Phone::Junk(rng.random_range(0..JUNK_PHONES.len() as u32) as u8);
                }
            } else if phone == Phone::Own && anchored && chance(&mut rng, 0.02) {
                email = Email::Empty;
            }
            let source = weighted(&mut rng, LEAD_SOURCES);
            leads.push(Lead {
                t,
                person: p,
                addr,
                email,
                phone,
                user,
                typo: false,
                source,
            });
        }
    }
    partner_leads(&mut rng, world, &mut leads);
    typo_leads(&mut rng, world, &mut leads);
    leads.sort_by_key(|l| (l.t, l.person));

    let mut out = CsvOut::create(
        root,
        "data/leads.csv",
        &[
            "lead_id",
            "email",
            "phone",
            "full_name",
            "company",
            "lead_source",
            "user_id",
            "created_at",
        ],
    )?;
    let mess = Messiness {
        case: 0.3,
        space: 0.08,
    };
    let mut ids: Vec<Id> = Vec::with_capacity(3);
    let mut phones = 0;
    for (i, lead) in leads.iter().enumerate() {
        let key = format!("L-{:07}", i + 1);
        let p = lead.person;
        let person = &world.persons[p as usize];
        let email = match lead.email {
            Email::Own => written_email(&mut rng, world, traps, (p, lead.addr), mess),
            Email::Junk(j) => {
                traps.junk_email_rows += 1;
                typed_email(&mut rng, JUNK_EMAILS[j as usize], mess)
            }
            Email::Empty => String::new(),
            Email::Partner(k) => {
                traps.partner_rows += 1;
                typed_email(&mut rng, &world.partners[k as usize], mess)
            }
        };
        let phone = match lead.phone {
            Phone::Empty => String::new(),
            Phone::Own => {
                phones += 1;
                typed_phone(&mut rng, person.phone)
            }
            Phone::Junk(j) => {
                traps.junk_phone_rows += 1;
                JUNK_PHONES[j as usize].to_string()
            }
        };
        let name = ticket_name(
            &mut rng,
            FIRST_NAMES[person.first as usize].0,
            LAST_NAMES[person.last as usize].0,
        );
        let company = if person.company == NONE {
            pick(&mut rng, &["", "", "Freelance", "Self-employed", "n/a"]).to_string()
        } else {
            let name = &world.companies[person.company as usize].name;
            if chance(&mut rng, 0.15) {
                name.to_lowercase()
            } else {
                name.clone()
            }
        };
        let user = if lead.user == NONE {
            String::new()
        } else {
            (FIRST_USER_ID + u64::from(lead.user)).to_string()
        };
        out.row([
            key.as_str(),
            &email,
            &phone,
            &name,
            &company,
            lead.source,
            &user,
            &ts_string(lead.t, TsStyle::Csv),
        ])?;
        ids.clear();
        if lead.email == Email::Own {
            ids.push(Id::Email(p, lead.addr));
        }
        if lead.user != NONE && !lead.typo {
            ids.push(Id::User(lead.user));
        }
        if lead.phone == Phone::Own {
            ids.push(Id::Phone(p));
        }
        if lead.typo {
            let uid = format!("user_id:{}", FIRST_USER_ID + u64::from(lead.user));
            let email = format!("email:{}", world.email(p, lead.addr));
            let comment = "wrong user id typed in a CRM lead";
            traps.never_merge.push((uid, email, comment));
            traps.typo_keys.push(key.clone());
            if world.main_account(p) != NONE {
                traps.typo_rows_with_account += 1;
            }
        }
        truth.record("leads", &key, p, &ids)?;
    }
    traps.phones("leads", phones);
    out.finish()
}

/// Each reseller registers one lead for each of 5-8 client accounts (company
/// people with a work account), after the account exists.
fn partner_leads(rng: &mut impl Rng, world: &World, leads: &mut Vec<Lead>) {
    let mut taken: HashSet<u32> = HashSet::new();
    let mut chosen: Vec<(u32, u32, i64)> = Vec::new();
    for k in 0..world.partners.len() {
        let want = rng.random_range(5..=8usize);
        chosen.clear();
        for _ in 0..200 {
            if chosen.len() == want || world.n == 0 {
                break;
            }
            let p = rng.random_range(0..world.n as u32);
            let a = world.persons[p as usize].work_account;
            if a == NONE || taken.contains(&p) {
                continue;
            }
            let created = world.accounts[a as usize].created;
            if created + 2 * DAY >= END {
                continue;
            }
            taken.insert(p);
            let t = between(rng, created + DAY, END - DAY);
            let t = business_hours(rng, t).clamp(created + DAY, END);
            chosen.push((p, a, t));
        }
        if chosen.len() < 5 {
            continue; // too few clients to be a shared address: no rows at all
        }
        for &(p, a, t) in &chosen {
            leads.push(Lead {
                t,
                person: p,
                addr: Addr::Work,
                email: Email::Partner(k as u16),
                phone: Phone::Empty,
                user: a,
                typo: false,
                source: "partner_referral",
            });
        }
    }
}

/// About one lead in 400 persons carries another person's `user_id` next to
/// the lead's own address, after both accounts exist. The address is the one
/// of the person's own account (already tied to its `user_id`), else their
/// usual one.
fn typo_leads(rng: &mut impl Rng, world: &World, leads: &mut Vec<Lead>) {
    let want = world.n / 400;
    let mut done = 0;
    let mut used: HashSet<u32> = HashSet::new();
    for _ in 0..want * 50 {
        if done == want || world.accounts.is_empty() {
            break;
        }
        let b = rng.random_range(0..world.n as u32);
        let person = &world.persons[b as usize];
        if person.flags & (FAMILY | DUAL) != 0 || used.contains(&b) {
            continue;
        }
        let a = rng.random_range(0..world.accounts.len() as u32);
        let other = world.accounts[a as usize].person;
        if other == b || used.contains(&other) {
            continue;
        }
        let mut lo = world.accounts[a as usize].created + DAY;
        let main = world.main_account(b);
        if main != NONE {
            lo = lo.max(world.accounts[main as usize].created + DAY);
        }
        if lo >= END - DAY {
            continue;
        }
        let t = between(rng, lo, END - DAY);
        let addr = if main != NONE {
            world.accounts[main as usize].addr
        } else if person.company == NONE {
            Addr::Personal
        } else {
            world.work_addr_at(b, t)
        };
        used.insert(b);
        used.insert(other);
        leads.push(Lead {
            t,
            person: b,
            addr,
            email: Email::Own,
            phone: Phone::Empty,
            user: a,
            typo: true,
            source: "sales_call",
        });
        done += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn leads_traps() {
        let world = World::build(4000, 21);
        let dir = tempfile::tempdir().expect("tempdir");
        let mut truth = Truth::create(dir.path(), &world).expect("truth");
        let mut traps = Traps::default();
        let (_, rows) = leads(dir.path(), &world, &mut truth, &mut traps, 21).expect("leads");
        let (_, _) = truth.finish().expect("finish");
        let mut r = csv::Reader::from_path(dir.path().join("data/leads.csv")).expect("csv");
        let leads: Vec<csv::StringRecord> = r.records().map(|x| x.expect("row")).collect();
        assert_eq!(leads.len() as u64, rows);
        let text =
            std::fs::read_to_string(dir.path().join("ground_truth/records.csv")).expect("records");
        let person: HashMap<&str, &str> = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut f = l.split(',');
                f.next()?;
                Some((f.next()?, f.next()?))
            })
            .collect();
        let owner_of = |user: &str| {
            let a = user.parse::<u64>().expect("user id") - FIRST_USER_ID;
            let p = world.accounts[a as usize].person;
            format!("P{:06}", p + 1)
        };
        let mut partner_users: HashMap<String, Vec<&str>> = HashMap::new();
        let mut typos = 0;
        for l in &leads {
            let (key, email, phone, source, user) = (&l[0], &l[1], &l[2], &l[5], &l[6]);
            assert!(!email.is_empty() || !phone.is_empty(), "{l:?}");
            let junk_email = JUNK_EMAILS.contains(&email.trim().to_lowercase().as_str());
            let junk_phone = JUNK_PHONES.contains(&phone);
            assert!(!(junk_email && junk_phone), "{l:?}");
            if junk_email {
                assert!(!phone.is_empty(), "junk alone: {l:?}");
            }
            if junk_phone {
                assert!(!email.is_empty() && !junk_email, "junk alone: {l:?}");
            }
            match source {
                "partner_referral" => {
                    partner_users
                        .entry(email.trim().to_lowercase())
                        .or_default()
                        .push(user);
                    assert_eq!(owner_of(user), person[key]);
                }
                "sales_call" => {
                    typos += 1;
                    assert_ne!(owner_of(user), person[key], "the typo is someone else's id");
                    assert!(phone.is_empty() && !email.is_empty());
                    assert!(traps.typo_keys.contains(&key.to_string()));
                }
                _ if !user.is_empty() => assert_eq!(owner_of(user), person[key]),
                _ => {}
            }
        }
        assert_eq!(typos, 10);
        assert_eq!(traps.typo_keys.len(), 10);
        assert_eq!(traps.never_merge.len(), 10);
        assert!(traps.junk_email_rows > 0 && traps.junk_phone_rows > 0);
        assert!(!partner_users.is_empty());
        for users in partner_users.values() {
            let distinct: HashSet<&&str> = users.iter().collect();
            assert!((5..=8).contains(&distinct.len()), "{users:?}");
        }
    }
}
