//! Reads the Stripe fixtures (objects shaped as in Stripe's API reference).

mod common;

use common::read;
use plexus_connectors::stripe::{StripeRecord, read_stripe};

fn one<'a>(records: &'a [StripeRecord], id: &str, event: &str) -> &'a StripeRecord {
    match records
        .iter()
        .find(|r| r.id == id && r.event.as_deref() == Some(event))
    {
        Some(r) => r,
        None => panic!("no {event} record for {id}"),
    }
}

#[test]
fn list_object_customer_invoices_and_charge() {
    let (records, rejects) = read_stripe(&read("stripe_list.json"));
    assert_eq!(records.len(), 4);
    assert_eq!(rejects.len(), 1);
    assert_eq!(rejects[0].line, 301);
    assert!(
        rejects[0]
            .reason
            .starts_with("unsupported object type coupon")
    );

    let c = one(&records, "cus_NffrFeUfNV2Hib", "customer_created");
    assert_eq!(c.line, 6);
    assert_eq!(c.object, "customer");
    assert_eq!(c.time, 1_680_893_993_000_000);
    assert_eq!(c.customer_id.as_deref(), Some("cus_NffrFeUfNV2Hib"));
    assert_eq!(c.email.as_deref(), Some("jennyrosen@example.com"));
    assert_eq!(c.name.as_deref(), Some("Jenny Rosen"));
    assert_eq!(c.phone.as_deref(), Some("+15555550123"));

    let paid = one(&records, "in_paid_0001", "invoice_paid");
    assert_eq!(paid.line, 35);
    assert_eq!(paid.time, 1_680_648_067_000_000); // status_transitions.paid_at
    assert_eq!(paid.amount, Some(20.0));
    assert_eq!(paid.currency.as_deref(), Some("usd"));
    assert_eq!(paid.status.as_deref(), Some("paid"));
    assert_eq!(paid.customer_id.as_deref(), Some("cus_NffrFeUfNV2Hib"));
    assert_eq!(paid.email.as_deref(), Some("jennyrosen@example.com"));
    assert_eq!(paid.name.as_deref(), Some("Jenny Rosen"));
    assert_eq!(
        paid.subscription_id.as_deref(),
        Some("sub_1MowQVLkdIwHu7ixeRlqHVzs")
    );

    let failed = one(&records, "in_open_0002", "payment_failed");
    assert_eq!(failed.line, 127);
    assert_eq!(failed.time, 1_683_236_467_000_000);
    assert_eq!(failed.amount, Some(20.0));
    assert_eq!(failed.status.as_deref(), Some("open"));

    let charge = one(&records, "ch_3MmlLrLkdIwHu7ix0snN0B15", "charge_succeeded");
    assert_eq!(charge.line, 218);
    assert_eq!(charge.amount, Some(10.99));
    assert_eq!(charge.time, 1_679_090_539_000_000);
    assert_eq!(charge.customer_id, None);
}

#[test]
fn array_of_subscriptions_with_mrr_and_cancellation() {
    let (records, rejects) = read_stripe(&read("stripe_array.json"));
    assert!(rejects.is_empty(), "{rejects:?}");
    assert_eq!(records.len(), 3);

    let active = one(
        &records,
        "sub_1MowQVLkdIwHu7ixeRlqHVzs",
        "subscription_started",
    );
    assert_eq!(active.line, 2);
    assert_eq!(active.time, 1_679_609_767_000_000);
    assert_eq!(active.mrr, Some(10.0));
    assert_eq!(active.plan.as_deref(), Some("prod_Na6dGcTsmU0I4R"));
    assert_eq!(active.status.as_deref(), Some("active"));
    assert_eq!(active.customer_id.as_deref(), Some("cus_NffrFeUfNV2Hib"));
    assert_eq!(
        active.subscription_id.as_deref(),
        Some("sub_1MowQVLkdIwHu7ixeRlqHVzs")
    );
    assert!(
        !records
            .iter()
            .any(|r| r.id == "sub_1MowQVLkdIwHu7ixeRlqHVzs"
                && r.event.as_deref() == Some("subscription_cancelled"))
    );

    // 3 seats x 1200.00 USD a year = 300.00 USD a month.
    let started = one(&records, "sub_cancelled_0002", "subscription_started");
    assert_eq!(started.line, 133);
    assert_eq!(started.time, 1_650_000_000_000_000);
    assert_eq!(started.mrr, Some(300.0));
    assert_eq!(started.plan.as_deref(), Some("Team (yearly)"));
    let cancelled = one(&records, "sub_cancelled_0002", "subscription_cancelled");
    assert_eq!(cancelled.time, 1_685_000_000_000_000); // canceled_at
    assert_eq!(cancelled.mrr, Some(300.0));
    assert_eq!(cancelled.status.as_deref(), Some("canceled"));
}

#[test]
fn ndjson_failed_charge_zero_decimal_currency_refund_and_rejects() {
    let (records, rejects) = read_stripe(&read("stripe.ndjson"));
    assert_eq!(records.len(), 3);

    let failed = one(&records, "ch_failed_0003", "payment_failed");
    assert_eq!(failed.line, 1);
    assert_eq!(failed.amount, Some(50.0));
    assert_eq!(failed.email.as_deref(), Some("jennyrosen@example.com"));
    assert_eq!(
        failed.description.as_deref(),
        Some("Your card was declined.")
    );

    // JPY is zero-decimal: 1500 is ¥1500, not ¥15.
    let yen = one(&records, "ch_jpy_0004", "charge_succeeded");
    assert_eq!(yen.line, 2);
    assert_eq!(yen.amount, Some(1500.0));
    assert_eq!(yen.currency.as_deref(), Some("jpy"));
    // Expanded customer object.
    assert_eq!(yen.customer_id.as_deref(), Some("cus_tokyo_0001"));
    assert_eq!(yen.email.as_deref(), Some("kenji@example.jp"));
    assert_eq!(yen.name.as_deref(), Some("Kenji Sato"));

    let refund = one(&records, "re_1Nispe2eZvKYlo2Cd31jOCgZ", "refund");
    assert_eq!(refund.line, 3);
    assert_eq!(refund.amount, Some(10.0));
    assert_eq!(refund.time, 1_692_942_318_000_000);

    let lines: Vec<u64> = rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, vec![4, 5]);
    assert!(rejects[0].reason.starts_with("invalid JSON at column"));
    assert!(
        rejects[1]
            .reason
            .starts_with("unsupported object type payout")
    );
}

#[test]
fn events_list_gives_plan_changes_and_the_facts_of_known_types() {
    let (records, rejects) = read_stripe(&read("stripe_events.json"));
    assert!(rejects.is_empty(), "{rejects:?}");
    // The renewal and the payment intent state no timeline fact.
    let keys: Vec<String> = records.iter().map(StripeRecord::key).collect();
    assert_eq!(
        keys,
        [
            "in_paid_0001/invoice_paid",
            "sub_1MowQVLkdIwHu7ixeRlqHVzs/subscription_changed/evt_upgrade_0001",
        ]
    );
    // One seat to three at 10.00 USD a month each.
    let change = one(
        &records,
        "sub_1MowQVLkdIwHu7ixeRlqHVzs",
        "subscription_changed",
    );
    assert_eq!(change.time, 1_680_000_000_000_000);
    assert_eq!((change.previous_mrr, change.mrr), (Some(10.0), Some(30.0)));
    assert_eq!(change.plan, change.previous_plan);
    assert_eq!(change.customer_id.as_deref(), Some("cus_NffrFeUfNV2Hib"));
    assert_eq!(change.event_id.as_deref(), Some("evt_upgrade_0001"));
    // The invoice.paid event gives the invoice's own record, as the invoice export does.
    let paid = one(&records, "in_paid_0001", "invoice_paid");
    assert_eq!(paid.time, 1_680_648_067_000_000);
    assert_eq!(paid.amount, Some(20.0));
}
