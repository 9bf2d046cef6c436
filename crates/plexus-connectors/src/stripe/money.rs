//! Money rules: Stripe amounts are integers in the currency's minor unit;
//! records carry major units, and subscriptions a monthly recurring revenue.

use super::wire::{Item, Object, Plan};

/// Currencies Stripe treats as zero-decimal (amount 500 JPY is ¥500), from
/// Stripe's "Zero-decimal currencies" list.
const ZERO_DECIMAL: [&str; 16] = [
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// Currencies Stripe treats as three-decimal.
const THREE_DECIMAL: [&str; 5] = ["bhd", "jod", "kwd", "omr", "tnd"];

/// Digits after the decimal point of `currency` (lower-case ISO 4217).
pub(crate) fn exponent(currency: &str) -> i32 {
    if ZERO_DECIMAL.contains(&currency) {
        0
    } else if THREE_DECIMAL.contains(&currency) {
        3
    } else {
        2
    }
}

/// Converts an amount in minor units to major units.
pub(crate) fn to_major(minor: f64, currency: &str) -> f64 {
    minor / 10f64.powi(exponent(currency))
}

/// Months per billing interval, divided by the interval count:
/// `day` ×30, `week` ×52/12, `month` ×1, `year` ÷12.
fn per_month(interval: &str, count: Option<i64>) -> Option<f64> {
    let factor = match interval {
        "day" => 30.0,
        "week" => 52.0 / 12.0,
        "month" => 1.0,
        "year" => 1.0 / 12.0,
        _ => return None,
    };
    let count = count.filter(|c| *c > 0).unwrap_or(1) as f64;
    Some(factor / count)
}

/// Unit amount in minor units from the integer or the decimal string form.
fn unit_amount(int: Option<i64>, decimal: Option<&str>) -> Option<f64> {
    int.map(|a| a as f64)
        .or_else(|| decimal.and_then(|d| d.trim().parse::<f64>().ok()))
        .filter(|a| a.is_finite())
}

/// Monthly amount of a legacy plan, in minor units.
fn plan_monthly(plan: &Plan, quantity: f64) -> Option<f64> {
    let amount = unit_amount(plan.amount, plan.amount_decimal.as_deref())?;
    Some(amount * quantity * per_month(plan.interval.as_deref()?, plan.interval_count)?)
}

/// Monthly amount of one subscription item, in minor units: its price
/// (current API) or else its plan (legacy API).
fn item_monthly(item: &Item) -> Option<f64> {
    let quantity = item.quantity.unwrap_or(1) as f64;
    if let Some(price) = &item.price {
        let recurring = price.recurring.as_ref()?;
        let amount = unit_amount(price.unit_amount, price.unit_amount_decimal.as_deref())?;
        return Some(
            amount
                * quantity
                * per_month(recurring.interval.as_deref()?, recurring.interval_count)?,
        );
    }
    plan_monthly(item.plan.as_ref()?, quantity)
}

/// The subscription's currency: its own, else its first price's or plan's.
pub(crate) fn subscription_currency(sub: &Object) -> Option<String> {
    let first = sub.items.as_ref().and_then(|l| l.data.first());
    sub.currency
        .clone()
        .or_else(|| first.and_then(|i| i.price.as_ref()?.currency.clone()))
        .or_else(|| first.and_then(|i| i.plan.as_ref()?.currency.clone()))
        .or_else(|| sub.plan.as_ref()?.currency.clone())
        .map(|c| c.to_ascii_lowercase())
}

/// Monthly recurring revenue of a subscription in major units: the sum over
/// `items.data[]` of unit amount × quantity normalised to a month, falling
/// back to the legacy top-level `plan`. Tiered or metered prices without a
/// unit amount count as zero; discounts and taxes are not applied. `None`
/// when no item has a usable amount.
pub(crate) fn mrr(sub: &Object, currency: &str) -> Option<f64> {
    let items = sub.items.as_ref().map(|l| l.data.as_slice()).unwrap_or(&[]);
    let mut total = None;
    for item in items {
        if let Some(m) = item_monthly(item) {
            *total.get_or_insert(0.0) += m;
        }
    }
    let total = match total {
        Some(t) => t,
        None => plan_monthly(sub.plan.as_ref()?, sub.quantity.unwrap_or(1) as f64)?,
    };
    Some(to_major(total, currency))
}

/// The plan name: the first item's price nickname, else its product id;
/// the legacy plan's nickname or product otherwise.
pub(crate) fn plan_name(sub: &Object) -> Option<String> {
    let first = sub.items.as_ref().and_then(|l| l.data.first());
    let from_price = first.and_then(|i| i.price.as_ref()).and_then(|p| {
        p.nickname
            .clone()
            .or_else(|| p.product.as_ref()?.id().map(str::to_owned))
    });
    let from_plan = |plan: Option<&Plan>| {
        plan.and_then(|p| {
            p.nickname
                .clone()
                .or_else(|| p.product.as_ref()?.id().map(str::to_owned))
        })
    };
    from_price
        .or_else(|| from_plan(first.and_then(|i| i.plan.as_ref())))
        .or_else(|| from_plan(sub.plan.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(json: &str) -> Object {
        match serde_json::from_str(json) {
            Ok(o) => o,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn exponents() {
        assert_eq!(to_major(1999.0, "usd"), 19.99);
        assert_eq!(to_major(500.0, "jpy"), 500.0);
        assert_eq!(to_major(500.0, "krw"), 500.0);
        assert_eq!(to_major(1500.0, "kwd"), 1.5);
        assert_eq!(to_major(1500.0, "bhd"), 1.5);
    }

    #[test]
    fn mrr_normalises_intervals() {
        let s = sub(r#"{"items":{"data":[
                {"quantity":2,"price":{"unit_amount":1000,"recurring":{"interval":"month","interval_count":1}}},
                {"quantity":1,"price":{"unit_amount":12000,"recurring":{"interval":"year","interval_count":1}}},
                {"quantity":1,"price":{"unit_amount":300,"recurring":{"interval":"month","interval_count":3}}},
                {"quantity":1,"price":{"unit_amount":120,"recurring":{"interval":"week"}}},
                {"quantity":1,"price":{"unit_amount":10,"recurring":{"interval":"day"}}},
                {"quantity":1,"price":{"unit_amount":null,"recurring":{"interval":"month"}}}
            ]}}"#);
        // 2000 + 1000 + 100 + 520 + 300 = 3920 cents
        let m = mrr(&s, "usd").expect("mrr");
        assert!((m - 39.20).abs() < 1e-9, "{m}");
    }

    #[test]
    fn mrr_falls_back_to_legacy_plan_and_decimal_amounts() {
        let s = sub(
            r#"{"quantity":3,"plan":{"amount":null,"amount_decimal":"1000.5","interval":"month","nickname":"Pro"}}"#,
        );
        assert!((mrr(&s, "usd").expect("mrr") - 30.015).abs() < 1e-9);
        assert_eq!(plan_name(&s).as_deref(), Some("Pro"));
        assert_eq!(mrr(&sub("{}"), "usd"), None);
    }

    #[test]
    fn plan_name_prefers_nickname_then_product() {
        let s = sub(r#"{"items":{"data":[{"price":{"nickname":null,"product":"prod_1"}}]}}"#);
        assert_eq!(plan_name(&s).as_deref(), Some("prod_1"));
        let s =
            sub(r#"{"items":{"data":[{"price":{"nickname":"Gold","product":{"id":"prod_1"}}}]}}"#);
        assert_eq!(plan_name(&s).as_deref(), Some("Gold"));
    }
}
