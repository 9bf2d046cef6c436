//! `data/stripe/*.json`: the billing system as Stripe's API lists it: one
//! list object per file (`{"object":"list","data":[...],"has_more":false,
//! "url":"/v1/customers"}`, newest first, one object per line) of
//! `customers`, `subscriptions`, `invoices`, `charges`, `refunds` and
//! `events`, shaped as in Stripe's API reference
//! (<https://docs.stripe.com/api>): ids `cus_...`, `sub_...`, `in_...`,
//! `ch_...`, `re_...`, `evt_...`, `created` in Unix seconds, amounts in minor
//! units, lower-case currencies.
//!
//! Plan changes: a third of the company subscriptions on Pro started on
//! Starter and upgraded, and two in five Enterprise ones grew their seats;
//! invoices before the change bill the old price, and `events.json` holds one
//! `customer.subscription.updated` event per change (the items before it in
//! `previous_attributes`), which the connector reads as
//! `subscription_changed`. About 2% of succeeded charges are refunded (in
//! full, or half) within ten days: the charge's `amount_refunded` says so,
//! and `refunds.json` names the charge only.
//!
//! Companies on paid plans subscribe (monthly, or yearly for 15%) with a
//! billing contact as the Stripe customer: the contact's name, their work
//! address typed in all sorts of ways (`"  Jane.Doe@BrightLabs.io "`), the
//! company's legal name as the customer's `description`, and the contact's
//! product account in `metadata.user_id` when they have one. Private Pro
//! workspaces subscribe with the personal address. An invoice is issued each
//! period (`customer_email` and `customer_name` copied from the customer at
//! the time, so invoices before a company's rename carry the old domain) and
//! paid by a charge; 5% of first attempts fail and are retried a few days
//! later (a failed and a succeeded charge; an invoice still `open` when the
//! retry would come after the data ends). About 5% of paying companies bill
//! a shared `billing@` mailbox instead: the owner is the customer first, then
//! another member gets a customer (and a subscription) of their own at the
//! same mailbox, which is quarantined: `metadata.user_id` says whose it is.
//! Three extra invoices carry an unparseable `status_transitions.paid_at` (a
//! string): they are rejected.
//!
//! Every object is one person's: the ground truth lists each object's events
//! (keys `id/event` as the connector makes them) with the customer's person.
//! Invoices and charges are planned in memory (one per company and month at
//! most) and written sorted, newest first, as Stripe lists them.

use std::path::Path;

mod json;
mod plan;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::DemoError;
use crate::rng::{chance, stream};
use crate::segment::mix;
use crate::sources::{BadKeys, Traps, Written, company_domain, written_email};
use crate::text::{Messiness, typed_email};
use crate::time::{DAY, END};
use crate::truth::{Id, Truth};
use crate::words::{FIRST_NAMES, LAST_NAMES};
use crate::world::{Addr, FIRST_USER_ID, NONE, World};
use json::{Ids, ListOut, Obj};
use plan::{Billing, Customer, Price, addr_index, plan};

pub(crate) use plan::Subscription;

/// The source's name in `plexus.yml` and the ground truth.
const SOURCE: &str = "stripe";

/// The legal name of `company` at time `t` (the old one before a rename).
fn company_name(world: &World, company: u32, t: i64) -> &str {
    let c = &world.companies[company as usize];
    match &c.old {
        Some((_, legal, at)) if t < *at => legal,
        _ => &c.legal,
    }
}

/// The person's name as a billing contact gives it.
fn person_name(world: &World, p: u32) -> String {
    let person = &world.persons[p as usize];
    format!(
        "{} {}",
        FIRST_NAMES[person.first as usize].0, LAST_NAMES[person.last as usize].0
    )
}

/// The writers' shared state.
struct Writer<'w> {
    /// The world the objects describe.
    world: &'w World,
    /// Id maker.
    ids: Ids,
    /// Customer ids by index.
    cus: Vec<String>,
    /// Subscription ids by index.
    subs: Vec<String>,
    /// The object being written.
    buf: Vec<u8>,
    /// The truth key being written.
    key: String,
}

impl Writer<'_> {
    /// Writes the truth line of object `id`'s event `event`.
    fn truth(
        &mut self,
        truth: &mut Truth,
        (id, event): (&str, &str),
        person: u32,
        ids: &[Id],
    ) -> Result<(), DemoError> {
        self.key.clear();
        self.key.push_str(id);
        self.key.push('/');
        self.key.push_str(event);
        truth.record(SOURCE, &self.key, person, ids)
    }

    /// The `metadata` object of a customer or subscription.
    fn metadata(&self, c: &Customer) -> String {
        if c.account == NONE {
            "{}".to_string()
        } else {
            format!(
                "{{\"user_id\":\"{}\"}}",
                FIRST_USER_ID + u64::from(c.account)
            )
        }
    }
}

/// The email of customer `c` at address kind `addr`, typed on first use.
fn email_of(
    rng: &mut ChaCha8Rng,
    world: &World,
    traps: &mut Traps,
    c: &mut Customer,
    addr: Addr,
    t: i64,
) -> String {
    let mess = Messiness {
        case: 0.55,
        space: 0.15,
    };
    // A shared mailbox is typed per domain (old or new).
    let i = if c.role {
        addr_index(world.work_addr_at(c.person, t))
    } else {
        addr_index(addr)
    };
    if let Some(e) = &c.typed[i] {
        return e.clone();
    }
    let e = if c.role {
        let mailbox = format!("billing@{}", company_domain(world, c.company, t));
        traps.role_mailboxes.insert(mailbox.clone());
        typed_email(rng, &mailbox, mess)
    } else {
        written_email(rng, world, traps, (c.person, addr), mess)
    };
    c.typed[i] = Some(e.clone());
    e
}

/// The identifiers of a record naming customer `c` (truth id `cid`) and
/// perhaps its address `addr` and its `user_id`.
fn ids_of(c: &Customer, cid: Id, addr: Option<Addr>, user: bool) -> Vec<Id> {
    let mut ids = vec![cid];
    if let Some(a) = addr.filter(|_| !c.role) {
        ids.push(Id::Email(c.person, a));
    }
    if user && c.account != NONE {
        ids.push(Id::User(c.account));
    }
    ids
}

/// Writes `data/stripe/{customers,subscriptions,invoices,charges}.json` and
/// their truth; returns the files, the keys of the bad invoices and the
/// companies' billing contacts.
pub(crate) fn stripe(
    root: &Path,
    world: &World,
    truth: &mut Truth,
    traps: &mut Traps,
    seed: u64,
) -> Result<(Vec<Written>, BadKeys, Vec<Subscription>), DemoError> {
    let mut rng = stream(seed, 3);
    let mut plan = plan(&mut rng, world);
    plan::plan_changes(&mut stream(seed, 11), &mut plan);
    let mut w = Writer {
        world,
        ids: Ids {
            salt: mix(seed ^ 0x5354_5249_5045),
        },
        cus: Vec::new(),
        subs: Vec::new(),
        buf: Vec::with_capacity(1024),
        key: String::new(),
    };
    // Invoices: emails typed in time order (the customer's first invoice
    // types it), then written newest first.
    plan.invoices.sort_by_key(|i| (i.t, i.sub));
    let mut emails: Vec<String> = Vec::with_capacity(plan.invoices.len());
    for inv in &plan.invoices {
        let c = plan.subs[inv.sub as usize].customer as usize;
        let e = email_of(
            &mut rng,
            world,
            traps,
            &mut plan.customers[c],
            inv.addr,
            inv.t,
        );
        emails.push(e);
    }
    let cids: Vec<Id> = plan
        .customers
        .iter()
        .map(|c| truth.customer(c.person))
        .collect();
    w.cus = (0..plan.customers.len() as u64)
        .map(|k| w.ids.make("cus_", 1, k, 14))
        .collect();
    w.subs = (0..plan.subs.len() as u64)
        .map(|k| w.ids.make("sub_", 2, k, 24))
        .collect();

    let mut files = Vec::with_capacity(6);
    files.push(customers(
        root,
        &mut w,
        &mut rng,
        traps,
        &mut plan,
        (truth, &cids),
    )?);
    files.push(subscriptions(root, &mut w, &plan, (truth, &cids))?);
    let (invoices, bad) = invoices(
        root,
        &mut w,
        &mut rng,
        traps,
        &plan,
        &emails,
        (truth, &cids),
    )?;
    files.push(invoices);
    let (charges, refund_list) =
        charges(root, &mut w, &plan, &mut stream(seed, 12), (truth, &cids))?;
    files.push(charges);
    files.push(refunds(root, &mut w, &plan, refund_list, (truth, &cids))?);
    files.push(events(root, &mut w, &plan, (truth, &cids))?);
    Ok((files, bad, plan.contacts))
}

/// `customers.json`, newest first.
fn customers(
    root: &Path,
    w: &mut Writer<'_>,
    rng: &mut ChaCha8Rng,
    traps: &mut Traps,
    plan: &mut Billing,
    (truth, cids): (&mut Truth, &[Id]),
) -> Result<Written, DemoError> {
    let world = w.world;
    let mut order: Vec<usize> = (0..plan.customers.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((plan.customers[i].created, i)));
    let mut out = ListOut::create(root, "customers", "/v1/customers", order.len())?;
    for i in order {
        let c = &mut plan.customers[i];
        let addr = if c.company == NONE {
            Addr::Personal
        } else {
            world.work_addr_at(c.person, c.last)
        };
        let email = email_of(rng, world, traps, c, addr, c.last);
        let c = &plan.customers[i];
        let name = person_name(world, c.person);
        let meta = w.metadata(c);
        let prefix = mix(w.ids.salt ^ i as u64);
        let mut inv_prefix = String::with_capacity(8);
        for k in 0..8 {
            inv_prefix.push(b"0123456789ABCDEF"[((prefix >> (4 * k)) & 0xf) as usize] as char);
        }
        let mut o = Obj::new(&mut w.buf, false);
        o.str("id", &w.cus[i])
            .str("object", "customer")
            .raw("address", "null")
            .num("balance", 0)
            .time("created", c.created)
            .str("currency", if c.eur { "eur" } else { "usd" })
            .opt(
                "description",
                (c.company != NONE).then(|| company_name(world, c.company, c.last)),
            )
            .str("email", &email)
            .str("invoice_prefix", &inv_prefix)
            .raw("livemode", "false")
            .raw("metadata", &meta)
            .str("name", &name)
            .raw("phone", "null")
            .raw("preferred_locales", "[]")
            .str("tax_exempt", "none");
        o.end();
        out.push(&mut w.buf)?;
        let ids = ids_of(c, cids[i], Some(addr), true);
        let id = w.cus[i].clone();
        w.truth(truth, (&id, "customer_created"), c.person, &ids)?;
    }
    out.finish()
}

/// The `items` list object of subscription `i` at price `price`.
fn items_json(w: &Writer<'_>, i: usize, price: Price) -> String {
    let (list, n) = price.items();
    let interval = if price.annual { "year" } else { "month" };
    let currency = price.currency();
    let mut items = Vec::with_capacity(512);
    items.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    for (k, &(product, unit, quantity)) in list[..n].iter().enumerate() {
        if k > 0 {
            items.push(b',');
        }
        let item_id = w.ids.make("si_", 3, (i * 2 + k) as u64, 14);
        // One price per product, interval and currency.
        // Product names differ in length: it names the product.
        let pkey =
            (product.len() as u64) << 8 | u64::from(price.annual) << 1 | u64::from(price.eur);
        let price_id = w.ids.make("price_", 4, pkey, 24);
        let product_id = w.ids.make("prod_", 5, product.len() as u64, 14);
        let nickname = format!(
            "{product} ({})",
            if price.annual { "yearly" } else { "monthly" }
        );
        let mut o = Obj::new(&mut items, true);
        o.str("id", &item_id).str("object", "subscription_item");
        let p = o.key("price");
        let mut pr = Obj::new(p, true);
        pr.str("id", &price_id)
            .str("object", "price")
            .str("currency", currency)
            .str("nickname", &nickname)
            .str("product", &product_id)
            .raw(
                "recurring",
                &format!("{{\"interval\":\"{interval}\",\"interval_count\":1}}"),
            )
            .str("type", "recurring")
            .num("unit_amount", unit);
        pr.end();
        o.num("quantity", quantity);
        o.end();
    }
    items.extend_from_slice(b"],\"has_more\":false,\"url\":\"/v1/subscription_items?subscription=");
    items.extend_from_slice(w.subs[i].as_bytes());
    items.extend_from_slice(b"\"}");
    String::from_utf8_lossy(&items).into_owned()
}

/// Writes subscription `i` into `buf` as it is at `t` (its current items; cancelled
/// only once `t` is past the cancellation).
fn subscription_json(w: &Writer<'_>, plan: &Billing, i: usize, t: i64, buf: &mut Vec<u8>) {
    let s = &plan.subs[i];
    let c = &plan.customers[s.customer as usize];
    let items = items_json(w, i, s.price);
    let meta = w.metadata(c);
    let canceled = s.canceled.filter(|&at| at <= t);
    let status = if canceled.is_some() {
        "canceled"
    } else {
        "active"
    };
    let mut o = Obj::new(buf, false);
    o.str("id", &w.subs[i])
        .str("object", "subscription")
        .time("billing_cycle_anchor", s.start)
        .raw("cancel_at_period_end", "false")
        .opt_time("canceled_at", canceled)
        .str("collection_method", "charge_automatically")
        .time("created", s.start)
        .str("currency", s.price.currency())
        .time("current_period_end", s.last + s.period)
        .time("current_period_start", s.last)
        .str("customer", &w.cus[s.customer as usize])
        .opt_time("ended_at", canceled)
        .raw("items", &items)
        .raw("livemode", "false")
        .raw("metadata", &meta)
        .time("start_date", s.start)
        .str("status", status);
    o.end();
}

/// `subscriptions.json`, newest first.
fn subscriptions(
    root: &Path,
    w: &mut Writer<'_>,
    plan: &Billing,
    (truth, cids): (&mut Truth, &[Id]),
) -> Result<Written, DemoError> {
    let mut order: Vec<usize> = (0..plan.subs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse((plan.subs[i].start, i)));
    let mut out = ListOut::create(root, "subscriptions", "/v1/subscriptions", order.len())?;
    let mut buf = std::mem::take(&mut w.buf);
    for i in order {
        let s = &plan.subs[i];
        let c = &plan.customers[s.customer as usize];
        subscription_json(w, plan, i, i64::MAX, &mut buf);
        out.push(&mut buf)?;
        let ids = ids_of(c, cids[s.customer as usize], None, true);
        let id = w.subs[i].clone();
        w.truth(truth, (&id, "subscription_started"), c.person, &ids)?;
        if s.canceled.is_some() {
            w.truth(truth, (&id, "subscription_cancelled"), c.person, &ids)?;
        }
    }
    w.buf = buf;
    out.finish()
}

/// `events.json`, newest first: a `customer.subscription.updated` event (as
/// `/v1/events` lists them) for each plan change, the subscription after it in
/// `data.object` and its items before it in `data.previous_attributes`.
fn events(
    root: &Path,
    w: &mut Writer<'_>,
    plan: &Billing,
    (truth, cids): (&mut Truth, &[Id]),
) -> Result<Written, DemoError> {
    let mut order: Vec<(i64, usize)> = plan
        .subs
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Some((s.change?.at, i)))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = ListOut::create(root, "events", "/v1/events", order.len())?;
    let mut sub = Vec::with_capacity(2048);
    let mut buf = std::mem::take(&mut w.buf);
    for (at, i) in order {
        let s = &plan.subs[i];
        let Some(change) = s.change else { continue };
        let c = &plan.customers[s.customer as usize];
        subscription_json(w, plan, i, at, &mut sub);
        let before = items_json(w, i, change.before);
        let evt = w.ids.make("evt_", 9, i as u64, 24);
        let mut o = Obj::new(&mut buf, false);
        o.str("id", &evt)
            .str("object", "event")
            .str("api_version", "2024-06-20")
            .time("created", at);
        let d = o.key("data");
        let mut data = Obj::new(d, true);
        data.raw("object", &String::from_utf8_lossy(&sub))
            .raw("previous_attributes", &format!("{{\"items\":{before}}}"));
        data.end();
        o.raw("livemode", "false")
            .num("pending_webhooks", 0)
            .raw("request", "{\"id\":null,\"idempotency_key\":null}")
            .str("type", "customer.subscription.updated");
        o.end();
        out.push(&mut buf)?;
        let ids = ids_of(c, cids[s.customer as usize], None, true);
        let key = format!("{}/subscription_changed/{evt}", w.subs[i]);
        truth.record(SOURCE, &key, c.person, &ids)?;
    }
    w.buf = buf;
    out.finish()
}

/// `invoices.json`, newest first, with the three bad invoices among them.
fn invoices(
    root: &Path,
    w: &mut Writer<'_>,
    rng: &mut ChaCha8Rng,
    traps: &mut Traps,
    plan: &Billing,
    emails: &[String],
    (truth, cids): (&mut Truth, &[Id]),
) -> Result<(Written, BadKeys), DemoError> {
    let world = w.world;
    // Three bad invoices: copies of random ones (listed just before them)
    // with a string paid_at.
    let mut bad_at: Vec<usize> = Vec::new();
    if !plan.invoices.is_empty() {
        for _ in 0..3 {
            bad_at.push(rng.random_range(0..plan.invoices.len() as u64) as usize);
        }
        bad_at.sort_unstable_by(|a, b| b.cmp(a));
    }
    let total = plan.invoices.len() + bad_at.len();
    let mut out = ListOut::create(root, "invoices", "/v1/invoices", total)?;
    let mut numbers = vec![0u32; plan.customers.len()];
    let mut number_of = vec![0u32; plan.invoices.len()];
    for (k, inv) in plan.invoices.iter().enumerate() {
        let c = plan.subs[inv.sub as usize].customer as usize;
        numbers[c] += 1;
        number_of[k] = numbers[c];
    }
    let mut bad_keys = Vec::new();
    // Newest first.
    for k in (0..plan.invoices.len()).rev() {
        while bad_keys.len() < bad_at.len() && bad_at[bad_keys.len()] == k {
            let id = bad_copy(w, plan, &emails[k], k, bad_keys.len());
            out.push(&mut w.buf)?;
            bad_keys.push(id);
        }
        let inv = &plan.invoices[k];
        let s = &plan.subs[inv.sub as usize];
        let ci = s.customer as usize;
        let c = &plan.customers[ci];
        let id = w.ids.make("in_", 6, k as u64, 24);
        let amount = s.price_at(inv.t).amount();
        let (status, paid_at, attempts) = match inv.failed {
            None => ("paid", Some(inv.t), 1),
            Some(Some(retry)) => ("paid", Some(retry), 2),
            Some(None) => ("open", None, 1),
        };
        let paid = paid_at.is_some();
        let prefix = mix(w.ids.salt ^ ci as u64);
        let mut number = String::with_capacity(13);
        for d in 0..8 {
            number.push(b"0123456789ABCDEF"[((prefix >> (4 * d)) & 0xf) as usize] as char);
        }
        number.push_str(&format!("-{:04}", number_of[k]));
        let name = person_name(world, c.person);
        let mut o = Obj::new(&mut w.buf, false);
        o.str("id", &id)
            .str("object", "invoice")
            .str("account_country", "US")
            .str("account_name", "Acme Analytics, Inc.")
            .num("amount_due", amount)
            .num("amount_paid", if paid { amount } else { 0 })
            .num("amount_remaining", if paid { 0 } else { amount })
            .num("attempt_count", attempts)
            .raw("attempted", "true")
            .str(
                "billing_reason",
                if inv.first {
                    "subscription_create"
                } else {
                    "subscription_cycle"
                },
            )
            .str("collection_method", "charge_automatically")
            .time("created", inv.t)
            .str("currency", s.price.currency())
            .str("customer", &w.cus[ci])
            .str("customer_email", &emails[k])
            .str("customer_name", &name)
            .raw("livemode", "false")
            .str("number", &number)
            .time("period_end", inv.t + s.period)
            .time("period_start", inv.t)
            .str("status", status);
        let st = o.key("status_transitions");
        let mut tr = Obj::new(st, true);
        tr.time("finalized_at", inv.t)
            .raw("marked_uncollectible_at", "null")
            .opt_time("paid_at", paid_at)
            .raw("voided_at", "null");
        tr.end();
        o.str("subscription", &w.subs[inv.sub as usize])
            .num("subtotal", amount)
            .num("total", amount);
        o.end();
        out.push(&mut w.buf)?;
        if c.role {
            traps.role_billing_rows += 1;
        }
        let event = if paid {
            "invoice_paid"
        } else {
            "payment_failed"
        };
        let ids = ids_of(c, cids[ci], Some(inv.addr), false);
        w.truth(truth, (&id, event), c.person, &ids)?;
    }
    Ok((out.finish()?, bad_keys))
}

/// Writes into `w.buf` bad invoice number `n`, a copy of invoice `of` whose
/// `status_transitions.paid_at` is a string; returns its id.
fn bad_copy(w: &mut Writer<'_>, plan: &Billing, email: &str, of: usize, n: usize) -> String {
    const BAD_DATES: [&str; 3] = ["not-a-date", "2026-13-45 25:61:00", "yesterday"];
    let id = w.ids.make("in_", 7, n as u64, 24);
    let inv = &plan.invoices[of];
    let s = &plan.subs[inv.sub as usize];
    let mut o = Obj::new(&mut w.buf, false);
    o.str("id", &id)
        .str("object", "invoice")
        .num("amount_due", s.price_at(inv.t).amount())
        .num("amount_paid", s.price_at(inv.t).amount())
        .time("created", inv.t)
        .str("currency", s.price.currency())
        .str("customer", &w.cus[s.customer as usize])
        .str("customer_email", email)
        .str("status", "paid")
        .raw(
            "status_transitions",
            &format!(
                "{{\"finalized_at\":{},\"paid_at\":\"{}\"}}",
                inv.t.max(0),
                BAD_DATES[n % 3]
            ),
        )
        .str("subscription", &w.subs[inv.sub as usize]);
    o.end();
    id
}

/// A refund of a succeeded charge.
struct Refund {
    /// When it was issued.
    t: i64,
    /// The refunded charge's invoice (index into [`Billing::invoices`]).
    invoice: u32,
    /// The charge's id.
    charge: String,
    /// Amount refunded, minor units.
    amount: u64,
}

/// `charges.json`, newest first: one per payment attempt. About 2% of succeeded
/// charges are refunded (in full or half) a few days later, decided by `refund_rng`;
/// returns those refunds too.
fn charges(
    root: &Path,
    w: &mut Writer<'_>,
    plan: &Billing,
    refund_rng: &mut ChaCha8Rng,
    (truth, cids): (&mut Truth, &[Id]),
) -> Result<(Written, Vec<Refund>), DemoError> {
    // (time, invoice, succeeded)
    let mut list: Vec<(i64, u32, bool)> = Vec::with_capacity(plan.invoices.len() + 64);
    for (k, inv) in plan.invoices.iter().enumerate() {
        match inv.failed {
            None => list.push((inv.t, k as u32, true)),
            Some(retry) => {
                list.push((inv.t, k as u32, false));
                if let Some(r) = retry {
                    list.push((r, k as u32, true));
                }
            }
        }
    }
    list.sort_unstable_by_key(|&(t, k, ok)| std::cmp::Reverse((t, k, ok)));
    let world = w.world;
    let mut out = ListOut::create(root, "charges", "/v1/charges", list.len())?;
    // Refunds, decided oldest first: when, and whether in full.
    let mut refunded: Vec<Option<(i64, bool)>> = vec![None; list.len()];
    for (n, &(t, _, ok)) in list.iter().enumerate().rev() {
        if ok && chance(refund_rng, 0.02) {
            let at = t + refund_rng.random_range(DAY..10 * DAY);
            let full = chance(refund_rng, 0.7);
            refunded[n] = (at <= END).then_some((at, full));
        }
    }
    let mut refunds = Vec::new();
    for (n, &(t, k, ok)) in list.iter().enumerate() {
        let inv = &plan.invoices[k as usize];
        let s = &plan.subs[inv.sub as usize];
        let ci = s.customer as usize;
        let c = &plan.customers[ci];
        let id = w.ids.make("ch_", 8, u64::from(k) << 1 | u64::from(ok), 24);
        let amount = s.price_at(inv.t).amount();
        let refund = match refunded[n] {
            None => 0,
            Some((_, true)) => amount,
            Some((_, false)) => amount / 2,
        };
        if let Some((at, _)) = refunded[n] {
            refunds.push(Refund {
                t: at,
                invoice: k,
                charge: id.clone(),
                amount: refund,
            });
        }
        let card = mix(w.ids.salt ^ 0xCA4D ^ ci as u64);
        let brand = ["visa", "mastercard", "amex", "visa"][(card % 4) as usize];
        let last4 = format!("{:04}", (card >> 8) % 10_000);
        let name = person_name(world, c.person);
        let mut o = Obj::new(&mut w.buf, false);
        o.str("id", &id)
            .str("object", "charge")
            .num("amount", amount)
            .num("amount_captured", if ok { amount } else { 0 })
            .num("amount_refunded", refund);
        let bd = o.key("billing_details");
        let mut b = Obj::new(bd, true);
        b.raw("email", "null")
            .str("name", &name)
            .raw("phone", "null");
        b.end();
        o.raw("captured", if ok { "true" } else { "false" })
            .time("created", t)
            .str("currency", s.price.currency())
            .str("customer", &w.cus[ci])
            .str(
                "description",
                if inv.first {
                    "Subscription creation"
                } else {
                    "Subscription update"
                },
            )
            .opt("failure_code", (!ok).then_some("card_declined"))
            .opt(
                "failure_message",
                (!ok).then_some("Your card was declined."),
            )
            .str("invoice", &w.ids.make("in_", 6, u64::from(k), 24))
            .raw("livemode", "false")
            .raw("paid", if ok { "true" } else { "false" })
            .raw(
                "payment_method_details",
                &format!(
                    "{{\"card\":{{\"brand\":\"{brand}\",\"last4\":\"{last4}\"}},\"type\":\"card\"}}"
                ),
            )
            .raw("receipt_email", "null")
            .raw("refunded", if refund == amount { "true" } else { "false" })
            .str("status", if ok { "succeeded" } else { "failed" });
        o.end();
        out.push(&mut w.buf)?;
        let event = if ok {
            "charge_succeeded"
        } else {
            "payment_failed"
        };
        let ids = ids_of(c, cids[ci], None, false);
        w.truth(truth, (&id, event), c.person, &ids)?;
    }
    Ok((out.finish()?, refunds))
}

/// `refunds.json`, newest first. A refund names its charge, not its customer: the
/// connector takes the customer from the charge.
fn refunds(
    root: &Path,
    w: &mut Writer<'_>,
    plan: &Billing,
    mut list: Vec<Refund>,
    (truth, cids): (&mut Truth, &[Id]),
) -> Result<Written, DemoError> {
    list.sort_by(|a, b| (b.t, &b.charge).cmp(&(a.t, &a.charge)));
    let mut out = ListOut::create(root, "refunds", "/v1/refunds", list.len())?;
    for (n, r) in list.iter().enumerate() {
        let inv = &plan.invoices[r.invoice as usize];
        let s = &plan.subs[inv.sub as usize];
        let c = &plan.customers[s.customer as usize];
        let id = w.ids.make("re_", 10, n as u64, 24);
        let mut o = Obj::new(&mut w.buf, false);
        o.str("id", &id)
            .str("object", "refund")
            .num("amount", r.amount)
            .raw("balance_transaction", "null")
            .str("charge", &r.charge)
            .time("created", r.t)
            .str("currency", s.price.currency())
            .raw("metadata", "{}")
            .raw("payment_intent", "null")
            .str("reason", "requested_by_customer")
            .raw("receipt_number", "null")
            .str("status", "succeeded");
        o.end();
        out.push(&mut w.buf)?;
        let ids = ids_of(c, cids[s.customer as usize], None, false);
        w.truth(truth, (&id, "refund"), c.person, &ids)?;
    }
    out.finish()
}
