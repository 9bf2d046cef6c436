//! The "true world" behind the demo data: companies, people, workspaces and
//! app accounts, built in memory once (compactly) before any file is written.
//!
//! Sources are then written from this model; everything bulky (events,
//! invoices, tickets, emails, leads, web events) is derived on the fly while
//! writing. The world is read-only once built, so sources can be written
//! from several threads.

use std::collections::HashSet;

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::phone::unique_phone;
use crate::rng::{chance, pareto, pick, stream, weighted};
use crate::time::{DAY, END, START, between, business_hours, growing};
use crate::words::{COMPANY_PREFIXES, COMPANY_SUFFIXES, FIRST_NAMES, FREEMAIL, LAST_NAMES, TLDS};

/// Marker for "no company" / "no person" in `u32` index fields.
pub(crate) const NONE: u32 = u32::MAX;

/// Which of a person's addresses a record uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Addr {
    /// Work address at the company's current domain.
    Work,
    /// Work address at the company's domain before it was renamed.
    WorkOld,
    /// Personal free-mail address.
    Personal,
}

impl Addr {
    /// Bit of this address in the per-person set of addresses seen in records.
    pub(crate) fn bit(self) -> u8 {
        match self {
            Addr::Work => 1,
            Addr::WorkOld => 2,
            Addr::Personal => 4,
        }
    }
}

/// Subscription plan of a workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Plan {
    /// No invoices.
    Free,
    /// Flat monthly price.
    Starter,
    /// Per-seat price.
    Pro,
    /// Base fee plus per-seat price.
    Enterprise,
}

impl Plan {
    /// Value written to `workspaces.plan`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Pro => "pro",
            Plan::Enterprise => "enterprise",
        }
    }
}

/// A customer company.
pub(crate) struct Company {
    /// Display name, e.g. `Bright Labs`.
    pub name: String,
    /// Legal name used on invoices, e.g. `Bright Labs, Inc.`.
    pub legal: String,
    /// Current email domain.
    pub domain: String,
    /// Domain and legal name before a rename, with the moment of the rename.
    pub old: Option<(String, String, i64)>,
    /// Currency of its invoices.
    pub currency: &'static str,
    /// First and one-past-last index into [`World::members`].
    pub members: (u32, u32),
}

/// [`Person::flags`]: the person has two accounts (work and personal). Two
/// `user_id`s can never be one resolved person under `limits: {user_id: 1}`,
/// so nothing ties the personal side to the work side: no phone is ever shown
/// next to the personal address, no merge is written.
pub(crate) const DUAL: u8 = 1;
/// [`Person::flags`]: one of a couple sharing a family phone (a never-merge
/// pair): the phone appears only on the two app accounts.
pub(crate) const FAMILY: u8 = 2;
/// [`Person::flags`]: the person's phone belongs to their family partner (the
/// second of the pair); it never links this person.
pub(crate) const FAMILY_GUEST: u8 = 4;
/// [`Person::flags`]: writes their gmail address in variants (dots, `+tags`,
/// `googlemail.com`).
pub(crate) const GMAIL_VARIANTS: u8 = 8;

/// A true person.
pub(crate) struct Person {
    /// Index into [`FIRST_NAMES`].
    pub first: u16,
    /// Index into [`LAST_NAMES`].
    pub last: u16,
    /// Index of the employer in [`World::companies`], or [`NONE`].
    pub company: u32,
    /// Local part of the work address (empty without a company).
    pub work_local: Box<str>,
    /// Full personal address (empty if the person has none).
    pub personal: Box<str>,
    /// Phone number as E.164 digits (see [`crate::phone`]), 0 if none.
    pub phone: u64,
    /// [`DUAL`], [`FAMILY`], [`FAMILY_GUEST`], [`GMAIL_VARIANTS`].
    pub flags: u8,
    /// Index of the account registered with the work address, or [`NONE`].
    pub work_account: u32,
    /// Index of the account registered with the personal address, or [`NONE`].
    pub personal_account: u32,
}

/// A workspace in the product.
pub(crate) struct Workspace {
    /// Owning company, or [`NONE`] for a personal workspace.
    pub company: u32,
    /// Person who created it.
    pub owner: u32,
    /// Display name.
    pub name: String,
    /// Subscription plan.
    pub plan: Plan,
    /// Creation time.
    pub created: i64,
}

/// An account in the product database (a row of `app_users`).
pub(crate) struct Account {
    /// The true person behind it.
    pub person: u32,
    /// Which address it was registered with.
    pub addr: Addr,
    /// Index into [`World::workspaces`] (sorted: index + 1 is the id).
    pub workspace: u32,
    /// 0 owner, 1 admin, 2 member, 3 viewer.
    pub role: u8,
    /// Sign-up time.
    pub created: i64,
    /// Last moment of activity.
    pub last_active: i64,
    /// Whether the `app_users` row shows the person's phone.
    pub shows_phone: bool,
}

/// Role names by [`Account::role`].
pub(crate) const ROLES: [&str; 4] = ["owner", "admin", "member", "viewer"];

/// First `app_users.id`.
pub(crate) const FIRST_USER_ID: u64 = 1001;

/// The whole generated world.
pub(crate) struct World {
    /// Number of true persons.
    pub n: usize,
    /// Customer companies.
    pub companies: Vec<Company>,
    /// True persons; index i is person `P{i+1}`.
    pub persons: Vec<Person>,
    /// Person indices grouped by company (see [`Company::members`]).
    pub members: Vec<u32>,
    /// Workspaces sorted by creation; index i has id `ws_{i+1}`.
    pub workspaces: Vec<Workspace>,
    /// Accounts sorted by creation; index i has id `FIRST_USER_ID + i`.
    pub accounts: Vec<Account>,
    /// Persons with two accounts (work and personal).
    pub dual_persons: usize,
    /// Couples sharing a family phone: `(first, second)` person; the phone is
    /// the first one's.
    pub family: Vec<(u32, u32)>,
    /// Addresses of resellers' staff who register leads for several client
    /// accounts (an identifier shared by many `user_id`s).
    pub partners: Vec<String>,
    /// Width of the zero-padded number in person ids.
    pub id_width: usize,
}

impl World {
    /// Builds the world for `n` persons from the seed.
    pub(crate) fn build(n: usize, seed: u64) -> World {
        let mut rng = stream(seed, 0);
        let work_n = (n * 3 + 2) / 4;
        let personal_n = n - work_n;
        let company_n = if work_n == 0 {
            0
        } else {
            n.div_ceil(8).clamp(1, work_n)
        };
        let sizes = company_sizes(&mut rng, company_n, work_n);

        let mut domains: HashSet<u64> = HashSet::with_capacity(company_n + company_n / 32);
        let mut companies: Vec<Company> = Vec::with_capacity(company_n);
        for _ in 0..company_n {
            let (name, domain, legal) = company_identity(&mut rng, &mut domains);
            let currency =
                if domain.ends_with(".de") || domain.ends_with(".fr") || chance(&mut rng, 0.12) {
                    "EUR"
                } else {
                    "USD"
                };
            companies.push(Company {
                name,
                legal,
                domain,
                old: None,
                currency,
                members: (0, 0),
            });
        }
        // A few companies changed their domain: ~1 in 60, at least one when there are 4+.
        let renamed_n = if company_n >= 4 {
            (company_n / 60).max(1)
        } else {
            0
        };
        let mut order: Vec<u32> = (0..company_n as u32).collect();
        order.shuffle(&mut rng);
        // Prefer companies with several people so the rename shows up in the data.
        let mut picked = 0;
        for pass in 0..2 {
            for &c in &order {
                if picked == renamed_n {
                    break;
                }
                let c = c as usize;
                if companies[c].old.is_some() || (pass == 0 && sizes[c] < 3) {
                    continue;
                }
                let (_, old_domain, old_legal) = company_identity(&mut rng, &mut domains);
                // The moment of the rename is set once the company's first sign-up is known.
                companies[c].old = Some((old_domain, old_legal, END));
                picked += 1;
            }
        }

        // Assign persons to companies (or none) in random order.
        let mut slots: Vec<u32> = Vec::with_capacity(n);
        for (c, &s) in sizes.iter().enumerate() {
            slots.extend(std::iter::repeat_n(c as u32, s as usize));
        }
        slots.extend(std::iter::repeat_n(NONE, personal_n));
        slots.shuffle(&mut rng);

        // Company member lists (CSR layout).
        let mut start = 0u32;
        for (c, &s) in sizes.iter().enumerate() {
            companies[c].members = (start, start + s);
            start += s;
        }
        let mut fill: Vec<u32> = companies.iter().map(|c| c.members.0).collect();
        let mut members = vec![0u32; work_n];
        for (p, &c) in slots.iter().enumerate() {
            if c != NONE {
                members[fill[c as usize] as usize] = p as u32;
                fill[c as usize] += 1;
            }
        }

        // Company email conventions.
        let styles: Vec<u8> = (0..company_n)
            .map(|_| {
                weighted(
                    &mut rng,
                    &[(0u8, 45), (1, 18), (2, 15), (3, 5), (4, 7), (5, 10)],
                )
            })
            .collect();

        let mut emails: HashSet<u64> = HashSet::with_capacity(n + n / 2);
        let mut persons = Vec::with_capacity(n);
        for &c in &slots {
            let first = rng.random_range(0..FIRST_NAMES.len() as u32) as u16;
            let last = rng.random_range(0..LAST_NAMES.len() as u32) as u16;
            let (f, l) = (FIRST_NAMES[first as usize].1, LAST_NAMES[last as usize].1);
            let (work_local, personal) = if c == NONE {
                (String::new(), personal_address(&mut rng, &mut emails, f, l))
            } else {
                let domain = &companies[c as usize].domain;
                let local = work_local(&mut emails, styles[c as usize], f, l, domain);
                let personal = if chance(&mut rng, 0.3) {
                    personal_address(&mut rng, &mut emails, f, l)
                } else {
                    String::new()
                };
                (local, personal)
            };
            persons.push(Person {
                first,
                last,
                company: c,
                work_local: work_local.into(),
                personal: personal.into(),
                phone: 0,
                flags: 0,
                work_account: NONE,
                personal_account: NONE,
            });
        }

        let mut world = World {
            n,
            companies,
            persons,
            members,
            workspaces: Vec::new(),
            accounts: Vec::new(),
            dual_persons: 0,
            family: Vec::new(),
            partners: Vec::new(),
            id_width: n.to_string().len().max(6),
        };
        world.build_product(&mut rng);
        world.build_contacts(seed, &mut domains);
        world
    }

    /// Phones, gmail habits, family couples and resellers, drawn from their
    /// own random stream after the product exists.
    fn build_contacts(&mut self, seed: u64, domains: &mut HashSet<u64>) {
        let mut rng = stream(seed, 6);
        let mut used: HashSet<u64> = HashSet::with_capacity(self.n);
        for (a, acc) in self.accounts.iter().enumerate() {
            let person = &mut self.persons[acc.person as usize];
            if acc.addr == Addr::Personal {
                person.personal_account = a as u32;
            } else {
                person.work_account = a as u32;
            }
        }
        for p in 0..self.n {
            let person = &mut self.persons[p];
            if person.personal_account != NONE && person.work_account != NONE {
                person.flags |= DUAL;
            }
            // Work persons with a personal address nearly always give a phone:
            // it is what ties their personal address to the work one.
            let bridge = person.company != NONE && !person.personal.is_empty();
            if chance(&mut rng, if bridge { 0.97 } else { 0.85 }) {
                person.phone = unique_phone(&mut rng, &mut used, 0.07);
            }
            if person.personal.ends_with("@gmail.com") && chance(&mut rng, 0.35) {
                person.flags |= GMAIL_VARIANTS;
            }
        }
        // Couples sharing a family phone: two personal-only persons with one
        // account each; both accounts show the first one's phone.
        let want = self.n / 1000;
        let mut single: Vec<u32> = Vec::new();
        for p in 0..self.n as u32 {
            let person = &self.persons[p as usize];
            if person.company == NONE && person.personal_account != NONE && person.phone != 0 {
                single.push(p);
            }
        }
        if want > 0 && single.len() >= 2 * want + 2 {
            single.shuffle(&mut rng);
            for pair in single.chunks_exact(2).take(want) {
                let (a, b) = (pair[0].min(pair[1]), pair[0].max(pair[1]));
                let phone = self.persons[a as usize].phone;
                self.persons[a as usize].flags |= FAMILY;
                let guest = &mut self.persons[b as usize];
                guest.flags |= FAMILY | FAMILY_GUEST;
                guest.phone = phone;
                self.family.push((a, b));
            }
            self.family.sort_unstable();
        }
        for acc in &mut self.accounts {
            let person = &self.persons[acc.person as usize];
            acc.shows_phone = if person.phone == 0 {
                false
            } else if person.flags & FAMILY != 0 {
                true
            } else if acc.addr == Addr::Personal && person.flags & DUAL != 0 {
                false
            } else if person.company != NONE && !person.personal.is_empty() {
                true
            } else {
                chance(&mut rng, 0.7)
            };
        }
        // Resellers: one address each, registering leads for 5-8 clients.
        let work_accounts = self
            .persons
            .iter()
            .filter(|p| p.work_account != NONE)
            .count();
        let partner_n = if work_accounts >= 40 {
            (work_accounts / 3000).max(1)
        } else {
            0
        };
        for _ in 0..partner_n {
            let (_, domain, _) = company_identity(&mut rng, domains);
            let dot = domain.find('.').unwrap_or(domain.len());
            let firm = format!("{}partners.com", &domain[..dot]);
            let f = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len() as u32) as usize].1;
            let l = LAST_NAMES[rng.random_range(0..LAST_NAMES.len() as u32) as usize].1;
            if domains.insert(fnv(&[&firm])) {
                self.partners.push(format!("{f}.{l}@{firm}"));
            }
        }
    }

    /// The account a person's records under `addr` belong to: the work
    /// account for work addresses, the personal one for the personal address.
    pub(crate) fn account_for(&self, p: u32, addr: Addr) -> u32 {
        let person = &self.persons[p as usize];
        match addr {
            Addr::Personal => person.personal_account,
            Addr::Work | Addr::WorkOld => person.work_account,
        }
    }

    /// The person's main account: the work one if any, else the personal one.
    pub(crate) fn main_account(&self, p: u32) -> u32 {
        let person = &self.persons[p as usize];
        if person.work_account != NONE {
            person.work_account
        } else {
            person.personal_account
        }
    }

    /// Whether the person's phone is theirs to link with (not a family
    /// partner's): records may carry it as an identifier of this person.
    pub(crate) fn own_phone(&self, p: u32) -> bool {
        let person = &self.persons[p as usize];
        person.phone != 0 && person.flags & FAMILY_GUEST == 0
    }

    /// Whether the person's phone is tied to their main account (shown on its
    /// `app_users` row): a record carrying only that phone still resolves.
    pub(crate) fn phone_anchored(&self, p: u32) -> bool {
        let a = self.main_account(p);
        a != NONE && self.accounts[a as usize].shows_phone && self.own_phone(p)
    }

    /// Creates workspaces and accounts, then sorts both by creation time.
    fn build_product(&mut self, rng: &mut ChaCha8Rng) {
        let mut workspaces: Vec<Workspace> = Vec::new();
        let mut accounts: Vec<Account> = Vec::new();
        let mut users: Vec<u32> = Vec::new();
        for c in 0..self.companies.len() {
            let (a, b) = self.companies[c].members;
            users.clear();
            for &p in &self.members[a as usize..b as usize] {
                if chance(rng, 0.85) {
                    users.push(p);
                }
            }
            let renamed = self.companies[c].old.is_some();
            if users.is_empty() && renamed {
                users.push(self.members[a as usize]); // renamed companies are customers
            }
            if users.is_empty() {
                continue; // a prospect: known from emails and perhaps billing only
            }
            let t0 = growing(rng, START, END - 30 * DAY);
            let t0 = business_hours(rng, t0);
            if let Some(old) = &mut self.companies[c].old {
                // Renamed some time after signing up: the first user keeps the old address.
                old.2 = between(rng, t0 + 30 * DAY, END - 30 * DAY);
            }
            let extra = ((users.len() as f64).sqrt() * rng.random::<f64>() * 0.6) as usize;
            let k = (1 + extra).min(users.len()).min(9);
            let first_plan = if users.len() >= 40 && chance(rng, 0.7) {
                Plan::Enterprise
            } else {
                weighted(
                    rng,
                    &[
                        (Plan::Free, 40),
                        (Plan::Starter, 25),
                        (Plan::Pro, 32),
                        (Plan::Enterprise, 3),
                    ],
                )
            };
            let base = workspaces.len() as u32;
            let name = &self.companies[c].name;
            for (j, &owner) in users.iter().enumerate().take(k) {
                let (wname, created, plan) = if j == 0 {
                    (name.clone(), t0 + rng.random_range(30..600), first_plan)
                } else {
                    let team = pick(rng, crate::words::WORKSPACE_TEAMS);
                    let plan = if chance(rng, 0.7) {
                        first_plan
                    } else {
                        Plan::Free
                    };
                    (
                        format!("{name} {team}"),
                        between(rng, t0 + DAY, t0 + (END - t0) * 6 / 10),
                        plan,
                    )
                };
                workspaces.push(Workspace {
                    company: c as u32,
                    owner,
                    name: wname,
                    plan,
                    created,
                });
            }
            let old = self.companies[c].old.as_ref().map(|o| o.2);
            for (j, &p) in users.iter().enumerate() {
                let (ws, role, created) = if j < k {
                    let w = &workspaces[base as usize + j];
                    (
                        base + j as u32,
                        0u8,
                        if j == 0 {
                            t0
                        } else {
                            w.created - rng.random_range(60..900)
                        },
                    )
                } else {
                    let ws = if chance(rng, 0.5) {
                        base
                    } else {
                        base + rng.random_range(0..k as u32)
                    };
                    let wc = workspaces[ws as usize].created;
                    let delay = (-(1.0 - rng.random::<f64>()).ln() * 45.0 * DAY as f64) as i64;
                    let t = if wc + delay < END - DAY {
                        wc + delay
                    } else {
                        between(rng, wc, END - DAY)
                    };
                    let role = weighted(rng, &[(1u8, 10), (2, 70), (3, 20)]);
                    (ws, role, business_hours(rng, t).max(wc + 60))
                };
                let addr = match old {
                    Some(at) if created < at && (j == 0 || chance(rng, 0.6)) => Addr::WorkOld,
                    _ => Addr::Work,
                };
                let active = last_active(rng, created);
                accounts.push(Account {
                    person: p,
                    addr,
                    workspace: ws,
                    role,
                    created,
                    last_active: active,
                    shows_phone: false,
                });
                // A few people with a personal address also sign up privately.
                if !self.persons[p as usize].personal.is_empty() && chance(rng, 0.03) {
                    let pc = between(rng, START, END - 7 * DAY);
                    let pc = business_hours(rng, pc);
                    let ws = self.personal_workspace(rng, &mut workspaces, p, pc, 0.1);
                    accounts.push(Account {
                        person: p,
                        addr: Addr::Personal,
                        workspace: ws,
                        role: 0,
                        created: pc,
                        last_active: last_active(rng, pc),
                        shows_phone: false,
                    });
                    self.dual_persons += 1;
                }
            }
        }
        for p in 0..self.n {
            if self.persons[p].company == NONE && chance(rng, 0.95) {
                let created = growing(rng, START, END - 7 * DAY);
                let created = business_hours(rng, created);
                let ws = self.personal_workspace(rng, &mut workspaces, p as u32, created, 0.2);
                accounts.push(Account {
                    person: p as u32,
                    addr: Addr::Personal,
                    workspace: ws,
                    role: 0,
                    created,
                    last_active: last_active(rng, created),
                    shows_phone: false,
                });
            }
        }

        // Sort workspaces by creation and renumber the accounts' references.
        let mut ws_order: Vec<u32> = (0..workspaces.len() as u32).collect();
        ws_order.sort_by_key(|&i| (workspaces[i as usize].created, i));
        let mut ws_rank = vec![0u32; workspaces.len()];
        for (rank, &i) in ws_order.iter().enumerate() {
            ws_rank[i as usize] = rank as u32;
        }
        let mut slots: Vec<Option<Workspace>> = workspaces.into_iter().map(Some).collect();
        self.workspaces = ws_order
            .iter()
            .filter_map(|&i| slots[i as usize].take())
            .collect();
        for a in &mut accounts {
            a.workspace = ws_rank[a.workspace as usize];
        }

        // Sort accounts by creation.
        let mut acc_order: Vec<u32> = (0..accounts.len() as u32).collect();
        acc_order.sort_by_key(|&i| (accounts[i as usize].created, i));
        let mut slots: Vec<Option<Account>> = accounts.into_iter().map(Some).collect();
        self.accounts = acc_order
            .iter()
            .filter_map(|&i| slots[i as usize].take())
            .collect();
    }

    /// Adds a personal workspace for person `p` and returns its index.
    fn personal_workspace(
        &self,
        rng: &mut ChaCha8Rng,
        workspaces: &mut Vec<Workspace>,
        p: u32,
        created: i64,
        paid: f64,
    ) -> u32 {
        let person = &self.persons[p as usize];
        let first = FIRST_NAMES[person.first as usize].0;
        let name = match rng.random_range(0..4u32) {
            0 => format!("{first}'s workspace"),
            1 => format!("{first} {}", LAST_NAMES[person.last as usize].0),
            2 => "Personal".to_string(),
            _ => format!("{first}'s sandbox"),
        };
        let plan = if chance(rng, paid) {
            Plan::Pro
        } else {
            Plan::Free
        };
        workspaces.push(Workspace {
            company: NONE,
            owner: p,
            name,
            plan,
            created: created + rng.random_range(20..300),
        });
        workspaces.len() as u32 - 1
    }

    /// Canonical (lower-case) address of person `p` of the given kind.
    pub(crate) fn email(&self, p: u32, addr: Addr) -> String {
        let person = &self.persons[p as usize];
        match addr {
            Addr::Personal => person.personal.to_string(),
            Addr::Work | Addr::WorkOld => {
                let c = &self.companies[person.company as usize];
                let domain = match (&c.old, addr) {
                    (Some((old, _, _)), Addr::WorkOld) => old.as_str(),
                    _ => c.domain.as_str(),
                };
                format!("{}@{domain}", person.work_local)
            }
        }
    }

    /// The work address kind in force at time `t` (old domain before a rename).
    pub(crate) fn work_addr_at(&self, p: u32, t: i64) -> Addr {
        match &self.companies[self.persons[p as usize].company as usize].old {
            Some((_, _, at)) if t < *at => Addr::WorkOld,
            _ => Addr::Work,
        }
    }

    /// The address a person uses at time `t` for something personal-ish:
    /// their personal address with probability `p_personal` if they have one.
    pub(crate) fn addr_for(&self, rng: &mut ChaCha8Rng, p: u32, t: i64, p_personal: f64) -> Addr {
        let person = &self.persons[p as usize];
        if person.company == NONE || (!person.personal.is_empty() && chance(rng, p_personal)) {
            Addr::Personal
        } else {
            self.work_addr_at(p, t)
        }
    }
}

/// When an account stops being active: most stay active to the end.
fn last_active(rng: &mut ChaCha8Rng, created: i64) -> i64 {
    if chance(rng, 0.7) {
        END
    } else {
        let life = (-(1.0 - rng.random::<f64>()).ln() * 200.0 * DAY as f64) as i64;
        (created + DAY + life).min(END)
    }
}

/// Heavy-tailed company sizes (at least 1 each) summing to `total`.
fn company_sizes(rng: &mut ChaCha8Rng, count: usize, total: usize) -> Vec<u32> {
    if count == 0 {
        return Vec::new();
    }
    let cap = (count as f64 / 5.0).max(50.0);
    let weights: Vec<f64> = (0..count)
        .map(|_| (pareto(rng, 1.2) - 1.0).min(cap))
        .collect();
    let sum: f64 = weights.iter().sum::<f64>().max(f64::MIN_POSITIVE);
    let extra = (total - count) as f64;
    let mut sizes: Vec<u32> = Vec::with_capacity(count);
    let mut rema: Vec<(f64, u32)> = Vec::with_capacity(count);
    let mut used = 0usize;
    for (i, w) in weights.iter().enumerate() {
        let share = extra * w / sum;
        let whole = share.floor();
        used += whole as usize;
        sizes.push(1 + whole as u32);
        rema.push((share - whole, i as u32));
    }
    // Largest remainders get the leftover people (ties broken by index).
    rema.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in rema.iter().take(total - count - used) {
        sizes[i as usize] += 1;
    }
    sizes
}

/// FNV-1a hash, used for the uniqueness sets (stable across Rust versions).
fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.as_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A fresh company: `(display name, unique domain, legal name)`.
fn company_identity(rng: &mut ChaCha8Rng, used: &mut HashSet<u64>) -> (String, String, String) {
    for attempt in 0u32.. {
        let p = pick(rng, COMPANY_PREFIXES);
        let s = pick(rng, COMPANY_SUFFIXES);
        // Two-word names run out in huge runs: then add a middle word.
        let mid = if attempt >= 5 {
            Some(pick(rng, COMPANY_PREFIXES)).filter(|m| *m != p)
        } else {
            None
        };
        let tld = weighted(rng, TLDS);
        let lp = match mid {
            Some(m) => format!("{}{}", p.to_ascii_lowercase(), m.to_ascii_lowercase()),
            None => p.to_ascii_lowercase(),
        };
        let ls = s.to_ascii_lowercase();
        let mut domain = match weighted(rng, &[(0u8, 70), (1, 10), (2, 8), (3, 8), (4, 4)]) {
            0 => format!("{lp}{ls}.{tld}"),
            1 => format!("{lp}-{ls}.{tld}"),
            2 => format!("{lp}{ls}hq.com"),
            3 => format!("get{lp}{ls}.com"),
            _ => format!("{lp}{ls}.{tld}"),
        };
        if attempt >= 20 {
            // Still crowded: add a number.
            let dot = domain.find('.').unwrap_or(domain.len());
            domain.insert_str(dot, &attempt.to_string());
        }
        if used.insert(fnv(&[&domain])) {
            let name = match mid {
                Some(m) => format!("{p} {m} {s}"),
                None => format!("{p} {s}"),
            };
            let legal = if domain.ends_with(".de") {
                format!("{name} GmbH")
            } else if domain.ends_with(".fr") {
                format!("{name} SAS")
            } else {
                match weighted(rng, &[(0u8, 40), (1, 15), (2, 10), (3, 35)]) {
                    0 => format!("{name}, Inc."),
                    1 => format!("{name} Ltd"),
                    2 => format!("{name} LLC"),
                    _ => name.clone(),
                }
            };
            return (name, domain, legal);
        }
    }
    unreachable!("the attempt counter is unbounded")
}

/// A unique work local part following the company's convention.
fn work_local(used: &mut HashSet<u64>, style: u8, f: &str, l: &str, domain: &str) -> String {
    let fi = &f[..1];
    let li = &l[..1];
    let candidates = [
        match style {
            0 => format!("{f}.{l}"),
            1 => f.to_string(),
            2 => format!("{fi}{l}"),
            3 => format!("{f}{li}"),
            4 => format!("{f}_{l}"),
            _ => format!("{fi}.{l}"),
        },
        format!("{f}.{l}"),
    ];
    for c in &candidates {
        if used.insert(fnv(&[c, "@", domain])) {
            return c.clone();
        }
    }
    for k in 2u32.. {
        let c = format!("{f}.{l}{k}");
        if used.insert(fnv(&[&c, "@", domain])) {
            return c;
        }
    }
    unreachable!("the suffix counter is unbounded")
}

/// A unique personal free-mail address.
fn personal_address(rng: &mut ChaCha8Rng, used: &mut HashSet<u64>, f: &str, l: &str) -> String {
    let domain = weighted(rng, FREEMAIL);
    let base = match rng.random_range(0..8u32) {
        0 | 1 => format!("{f}.{l}"),
        2 => format!("{f}{l}"),
        3 => format!("{f}_{l}"),
        4 => format!("{}{l}", &f[..1]),
        5 => format!("{f}.{l}{}", rng.random_range(10..100u32)),
        6 => format!("{f}{l}{}", rng.random_range(1960..2006u32)),
        _ => format!("{l}.{f}"),
    };
    // Gmail ignores dots: `jane.doe` and `janedoe` are one mailbox there, so
    // uniqueness is checked on the dot-free form.
    let key = |local: &str| {
        if domain == "gmail.com" {
            fnv(&[&local.replace('.', ""), "@", domain])
        } else {
            fnv(&[local, "@", domain])
        }
    };
    if used.insert(key(&base)) {
        return format!("{base}@{domain}");
    }
    for k in 2u32.. {
        let c = format!("{base}{k}");
        if used.insert(key(&c)) {
            return format!("{c}@{domain}");
        }
    }
    unreachable!("the suffix counter is unbounded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_sum_and_are_positive() {
        let mut rng = stream(1, 0);
        let s = company_sizes(&mut rng, 250, 1500);
        assert_eq!(s.iter().map(|&x| x as usize).sum::<usize>(), 1500);
        assert!(s.iter().all(|&x| x >= 1));
        assert!(
            *s.iter().max().unwrap_or(&0) >= 15,
            "heavy tail expected: {s:?}"
        );
    }

    /// The address as a correct engine keys it (gmail dots dropped).
    fn canonical(email: &str) -> String {
        match email.split_once('@') {
            Some((l, "gmail.com")) => format!("{}@gmail.com", l.replace('.', "")),
            _ => email.to_string(),
        }
    }

    #[test]
    fn emails_are_unique() {
        let w = World::build(3000, 7);
        let mut all = HashSet::new();
        for p in 0..w.n as u32 {
            let person = &w.persons[p as usize];
            if person.company != NONE {
                assert!(all.insert(w.email(p, Addr::Work)));
                if w.companies[person.company as usize].old.is_some() {
                    assert!(all.insert(w.email(p, Addr::WorkOld)));
                }
            }
            if !person.personal.is_empty() {
                assert!(all.insert(canonical(&w.email(p, Addr::Personal))));
            }
        }
        for e in &w.partners {
            assert!(all.insert(e.clone()), "{e}");
        }
    }

    /// Role mailboxes and placeholder mailboxes an engine is likely to know.
    const ROLE_LIKE: &str = "info hello contact contactus enquiries enquiry inquiries inquiry \
        mail email office reception team all everyone staff feedback newsletter news events \
        partners media press pr sales support help helpdesk service services customerservice \
        customercare care orders order bookings reservations shop store billing accounts \
        accounting finance invoices invoice ap ar payments payroll purchasing procurement hr \
        jobs careers recruiting recruitment legal privacy compliance marketing admin \
        administrator it ops operations security webmaster postmaster hostmaster abuse root \
        sysadmin devops tech techsupport alerts notifications noreply no-reply donotreply \
        do-not-reply mailer-daemon bounce bounces noemail no-email nomail none null unknown \
        test fake";

    #[test]
    fn no_address_looks_like_a_role_or_junk() {
        let w = World::build(5000, 11);
        let roles: HashSet<&str> = ROLE_LIKE.split_whitespace().collect();
        let mut emails = w.partners.clone();
        for p in 0..w.n as u32 {
            let person = &w.persons[p as usize];
            if person.company != NONE {
                emails.push(w.email(p, Addr::Work));
            }
            if !person.personal.is_empty() {
                emails.push(w.email(p, Addr::Personal));
            }
        }
        for e in emails {
            let (local, domain) = e.split_once('@').expect("@");
            assert!(!roles.contains(local), "{e}");
            assert!(
                !["example.com", "test.com", "none.com"].contains(&domain),
                "{e}"
            );
            for tld in [".example", ".test", ".invalid", ".localhost"] {
                assert!(!domain.ends_with(tld), "{e}");
            }
        }
    }

    #[test]
    fn phones_families_and_accounts() {
        let w = World::build(5000, 5);
        let mut owner: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        for (p, person) in w.persons.iter().enumerate() {
            if person.phone != 0 && person.flags & FAMILY_GUEST == 0 {
                assert!(
                    owner.insert(person.phone, p as u32).is_none(),
                    "shared phone"
                );
            }
            let dual = person.work_account != NONE && person.personal_account != NONE;
            assert_eq!(dual, person.flags & DUAL != 0);
        }
        assert_eq!(w.family.len(), 5);
        for &(a, b) in &w.family {
            let (pa, pb) = (&w.persons[a as usize], &w.persons[b as usize]);
            assert_eq!(pa.phone, pb.phone);
            assert_eq!(owner.get(&pa.phone), Some(&a));
            assert!(pb.flags & FAMILY_GUEST != 0 && pa.flags & FAMILY != 0);
            assert!(!w.own_phone(b) && w.own_phone(a));
            for p in [a, b] {
                let acc = &w.accounts[w.main_account(p) as usize];
                assert!(acc.shows_phone);
            }
        }
        for (i, acc) in w.accounts.iter().enumerate() {
            let person = &w.persons[acc.person as usize];
            if acc.addr == Addr::Personal && person.flags & DUAL != 0 {
                assert!(
                    !acc.shows_phone,
                    "a dual person's personal account shows the phone"
                );
            }
            assert_eq!(w.account_for(acc.person, acc.addr), i as u32);
        }
        assert!(!w.partners.is_empty());
    }

    #[test]
    fn tiny_worlds() {
        for n in 0..12 {
            let w = World::build(n, 3);
            assert_eq!(w.persons.len(), n);
        }
    }
}
