//! The billing plan behind the Stripe export: which companies and private
//! workspaces subscribe, who their customer is (one person each), and every
//! invoice with how its payment went. Planned in memory (at most one invoice
//! per company and month), written by [`super`].

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::rng::chance;
use crate::time::{DAY, END, between, business_hours};
use crate::world::{Addr, NONE, Plan, World};

/// A paying company's billing contact, for the success team's emails.
pub(crate) struct Subscription {
    /// Company index.
    pub company: u32,
    /// Billing contact (person index).
    pub contact: u32,
    /// First invoice.
    pub start: i64,
}

/// What a subscription charges per period.
#[derive(Clone, Copy)]
pub(super) struct Price {
    /// The plan, `None` for a private (personal) Pro workspace.
    pub(super) plan: Option<Plan>,
    /// Seats billed (product accounts at the company).
    pub(super) seats: u64,
    /// Billed yearly (else monthly).
    pub(super) annual: bool,
    /// Billed in euros (else US dollars).
    pub(super) eur: bool,
}

/// One subscription item: product name, unit amount (minor units), quantity.
pub(super) type Item = (&'static str, u64, u64);

impl Price {
    /// The subscription's items (at most two).
    pub(super) fn items(&self) -> ([Item; 2], usize) {
        // A year costs twelve months (whole numbers, so the MRR of a yearly
        // plan, a twelfth, is exact in floating point, and sums are too).
        let k = if self.annual { 12 } else { 1 };
        let none = ("", 0, 0);
        match self.plan {
            None => ([("Personal Pro", 1_200 * k, 1), none], 1),
            Some(Plan::Free | Plan::Starter) => ([("Starter", 4_900 * k, 1), none], 1),
            Some(Plan::Pro) => ([("Pro", 1_500 * k, self.seats.max(5)), none], 1),
            Some(Plan::Enterprise) => (
                [
                    ("Enterprise platform", 120_000 * k, 1),
                    ("Enterprise seat", 1_250 * k, self.seats),
                ],
                2,
            ),
        }
    }

    /// Amount of one invoice, in minor units.
    pub(super) fn amount(&self) -> u64 {
        let (items, n) = self.items();
        items[..n].iter().map(|i| i.1 * i.2).sum()
    }

    /// Lower-case currency code.
    pub(super) fn currency(&self) -> &'static str {
        if self.eur { "eur" } else { "usd" }
    }
}

/// A Stripe customer: one person's.
pub(super) struct Customer {
    /// The contact (person index).
    pub(super) person: u32,
    /// Company index, or [`NONE`] for a private subscription.
    pub(super) company: u32,
    /// Billed at the company's shared `billing@` mailbox.
    pub(super) role: bool,
    /// The contact's product account (`metadata.user_id`), or [`NONE`].
    pub(super) account: u32,
    /// Creation time (an hour before the first invoice).
    pub(super) created: i64,
    /// Time of the customer's latest invoice (its email and name are those
    /// of then).
    pub(super) last: i64,
    /// The email as typed, per [`Addr`] index (work, old work, personal),
    /// typed when first used.
    pub(super) typed: [Option<String>; 3],
    /// The currency of its subscriptions.
    pub(super) eur: bool,
}

/// A Stripe subscription.
pub(super) struct Sub {
    /// Index into [`Billing::customers`].
    pub(super) customer: u32,
    /// What it charges per period.
    pub(super) price: Price,
    /// Start (the first invoice).
    pub(super) start: i64,
    /// Latest invoice.
    pub(super) last: i64,
    pub(super) period: i64,
    /// Cancellation time, if cancelled.
    pub(super) canceled: Option<i64>,
    /// A plan change (an upgrade, more seats), if any: `price` is in force from then on.
    pub(super) change: Option<Change>,
}

/// A subscription's plan change.
#[derive(Clone, Copy)]
pub(super) struct Change {
    /// When it took effect.
    pub(super) at: i64,
    /// The price before it.
    pub(super) before: Price,
}

impl Sub {
    /// The price in force at `t`.
    pub(super) fn price_at(&self, t: i64) -> Price {
        match self.change {
            Some(c) if t < c.at => c.before,
            _ => self.price,
        }
    }
}

/// One invoice: its time, subscription, the address of its customer then,
/// and how its payment went.
pub(super) struct Invoice {
    /// Issue time (and first payment attempt).
    pub(super) t: i64,
    /// Index into [`Billing::subs`].
    pub(super) sub: u32,
    /// The customer's address kind at the time.
    pub(super) addr: Addr,
    /// The first charge failed; paid by a retry at this time (`None`: the
    /// retry falls after the data ends and the invoice is still open).
    pub(super) failed: Option<Option<i64>>,
    /// First invoice of its subscription.
    pub(super) first: bool,
}

/// Everything planned before writing.
pub(super) struct Billing {
    /// The Stripe customers.
    pub(super) customers: Vec<Customer>,
    /// Their subscriptions.
    pub(super) subs: Vec<Sub>,
    /// Every invoice (in planning order until sorted).
    pub(super) invoices: Vec<Invoice>,
    /// Paying companies' billing contacts, for the mail.
    pub(super) contacts: Vec<Subscription>,
}

/// Who pays a subscription and how.
pub(super) struct Payer {
    /// The billing contact (person index).
    person: u32,
    /// Company index, or [`NONE`] for a private workspace.
    company: u32,
    /// The address kind always used (else the work address in force).
    fixed: Option<Addr>,
    /// Billed at the company's shared `billing@` mailbox.
    role: bool,
}

/// Index of an address kind in [`Customer::typed`].
pub(super) fn addr_index(a: Addr) -> usize {
    match a {
        Addr::Work => 0,
        Addr::WorkOld => 1,
        Addr::Personal => 2,
    }
}

/// Adds a customer and its subscription, then the subscription's invoices
/// over `(start, stop, period)`; returns the due date after the last one.
pub(super) fn subscribe(
    rng: &mut ChaCha8Rng,
    world: &World,
    plan: &mut Billing,
    who: Payer,
    when: (i64, i64, i64),
    price: Price,
) -> i64 {
    let (start, stop, period) = when;
    // A planned end after the data ends is no end.
    let stop = stop.min(END);
    if start > stop {
        return start;
    }
    let first_at = business_hours(rng, start).min(END);
    let addr0 = who
        .fixed
        .unwrap_or_else(|| world.work_addr_at(who.person, first_at));
    let customer = plan.customers.len() as u32;
    plan.customers.push(Customer {
        person: who.person,
        company: who.company,
        role: who.role,
        account: world.account_for(who.person, addr0),
        created: (first_at - 3600).max(0),
        last: first_at,
        typed: [None, None, None],
        eur: price.eur,
    });
    let sub = plan.subs.len() as u32;
    plan.subs.push(Sub {
        customer,
        price,
        start: first_at,
        last: first_at,
        period,
        canceled: None,
        change: None,
    });
    let mut t = start;
    let mut first = true;
    while t <= stop {
        let at = if first {
            first_at
        } else {
            business_hours(rng, t).min(END)
        };
        let addr = who
            .fixed
            .unwrap_or_else(|| world.work_addr_at(who.person, at));
        let failed = chance(rng, 0.05).then(|| {
            let retry = at + rng.random_range(DAY..4 * DAY);
            (retry <= END).then_some(retry)
        });
        plan.invoices.push(Invoice {
            t: at,
            sub,
            addr,
            failed,
            first,
        });
        plan.customers[customer as usize].last = at;
        plan.subs[sub as usize].last = at;
        first = false;
        t += period;
    }
    if stop < END {
        plan.subs[sub as usize].canceled = Some(stop.max(first_at));
    }
    t
}

/// Plans every customer, subscription and invoice.
pub(super) fn plan(rng: &mut ChaCha8Rng, world: &World) -> Billing {
    // Per company: best plan, first paid workspace, seats, first workspace owner.
    let nc = world.companies.len();
    let mut best = vec![Plan::Free; nc];
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
            best[c] = best[c].max(ws.plan);
            paid_since[c] = paid_since[c].min(ws.created);
        }
    }
    for a in &world.accounts {
        if a.addr != Addr::Personal {
            seats[world.persons[a.person as usize].company as usize] += 1;
        }
    }
    let mut plan = Billing {
        customers: Vec::new(),
        subs: Vec::new(),
        invoices: Vec::new(),
        contacts: Vec::new(),
    };
    for c in 0..nc {
        if best[c] == Plan::Free {
            continue;
        }
        let (a, b) = world.companies[c].members;
        let contact = if chance(rng, 0.7) {
            owner[c]
        } else {
            world.members[rng.random_range(a..b) as usize]
        };
        let annual = chance(rng, 0.15);
        let start = paid_since[c] + 14 * DAY;
        let price = Price {
            plan: Some(best[c]),
            seats: seats[c],
            annual,
            eur: world.companies[c].currency == "EUR",
        };
        let stop = if chance(rng, 0.08) {
            between(rng, start + 60 * DAY, END)
        } else {
            END
        };
        // A shared billing@ mailbox: the owner first, then another member
        // with an account.
        let mut shared = None;
        if chance(rng, 0.05) && stop > start + 120 * DAY {
            for _ in 0..8 {
                let other = world.members[rng.random_range(a..b) as usize];
                if other != owner[c] && world.persons[other as usize].work_account != NONE {
                    shared = Some((other, between(rng, start + 60 * DAY, stop - 30 * DAY)));
                    break;
                }
            }
        }
        let contact = if shared.is_some() { owner[c] } else { contact };
        if start <= END {
            plan.contacts.push(Subscription {
                company: c as u32,
                contact,
                start,
            });
        } else {
            continue;
        }
        let period = if annual { 365 * DAY } else { 30 * DAY };
        let payer = |person, role| Payer {
            person,
            company: c as u32,
            fixed: None,
            role,
        };
        match shared {
            Some((second, switch)) => {
                let t = subscribe(
                    rng,
                    world,
                    &mut plan,
                    payer(contact, true),
                    (start, switch, period),
                    price,
                );
                if let Some(s) = plan.subs.last_mut() {
                    s.canceled = Some(switch);
                }
                subscribe(
                    rng,
                    world,
                    &mut plan,
                    payer(second, true),
                    (t, stop, period),
                    price,
                );
            }
            None => {
                subscribe(
                    rng,
                    world,
                    &mut plan,
                    payer(contact, false),
                    (start, stop, period),
                    price,
                );
            }
        }
    }
    for &(p, created) in &personal {
        let start = created + 14 * DAY;
        if start > END {
            continue;
        }
        let stop = if chance(rng, 0.25) {
            between(rng, start + 30 * DAY, END)
        } else {
            END
        };
        let price = Price {
            plan: None,
            seats: 1,
            annual: false,
            eur: chance(rng, 0.2),
        };
        let payer = Payer {
            person: p,
            company: NONE,
            fixed: Some(Addr::Personal),
            role: false,
        };
        subscribe(rng, world, &mut plan, payer, (start, stop, 30 * DAY), price);
    }
    plan
}

/// Plans the subscriptions' plan changes (from its own random stream, so the rest of
/// the billing stays as it was): a third of the company subscriptions on Pro that run
/// at least 90 days started on Starter and upgraded; two in five Enterprise ones grew by
/// half their seats. Each change falls at least 30 days after the start and before the
/// end.
pub(super) fn plan_changes(rng: &mut ChaCha8Rng, plan: &mut Billing) {
    for s in &mut plan.subs {
        let end = s.canceled.unwrap_or(END);
        if end - s.start < 90 * DAY {
            continue;
        }
        let before = match s.price.plan {
            Some(Plan::Pro) if chance(rng, 0.33) => Price {
                plan: Some(Plan::Starter),
                ..s.price
            },
            Some(Plan::Enterprise) if s.price.seats >= 3 && chance(rng, 0.4) => Price {
                seats: s.price.seats * 2 / 3,
                ..s.price
            },
            _ => continue,
        };
        let day = between(rng, s.start + 30 * DAY, end - 30 * DAY);
        let at = business_hours(rng, day).min(END);
        s.change = Some(Change { at, before });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_match_the_plans() {
        let p = |plan, seats, annual| Price {
            plan,
            seats,
            annual,
            eur: false,
        };
        assert_eq!(p(Some(Plan::Starter), 3, false).amount(), 4_900);
        assert_eq!(p(Some(Plan::Pro), 3, false).amount(), 7_500);
        assert_eq!(p(Some(Plan::Pro), 8, true).amount(), 144_000);
        assert_eq!(p(Some(Plan::Enterprise), 10, false).amount(), 132_500);
        assert_eq!(p(None, 1, false).amount(), 1_200);
    }
}
