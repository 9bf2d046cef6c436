//! Stripe API object shapes, as documented in Stripe's public API reference
//! (<https://docs.stripe.com/api>). Only the fields the records use are
//! declared; everything else is skipped. Every field is optional because
//! Stripe sends `null` for unset values and older API versions omit some.

use serde::Deserialize;

/// An id field that may be a plain id or an expanded object with an `id`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub(crate) enum IdRef {
    /// `"cus_123"`.
    Id(String),
    /// `{"id": "cus_123", ...}`.
    Object(Expanded),
}

/// The fields of an expanded object the records use (customer fields when
/// the expanded object is a customer).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Expanded {
    pub id: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

impl IdRef {
    /// The referenced object's id.
    pub(crate) fn id(&self) -> Option<&str> {
        match self {
            IdRef::Id(id) => Some(id.as_str()),
            IdRef::Object(o) => o.id.as_deref(),
        }
    }

    /// The expanded object, if the reference was expanded.
    pub(crate) fn expanded(&self) -> Option<&Expanded> {
        match self {
            IdRef::Id(_) => None,
            IdRef::Object(o) => Some(o),
        }
    }
}

/// Recurring settings of a price.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Recurring {
    pub interval: Option<String>,
    pub interval_count: Option<i64>,
}

/// A price (current API) on a subscription item.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Price {
    pub nickname: Option<String>,
    pub product: Option<IdRef>,
    pub currency: Option<String>,
    pub unit_amount: Option<i64>,
    pub unit_amount_decimal: Option<String>,
    pub recurring: Option<Recurring>,
}

/// A plan (legacy API) on a subscription or subscription item.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Plan {
    pub nickname: Option<String>,
    pub product: Option<IdRef>,
    pub currency: Option<String>,
    pub amount: Option<i64>,
    pub amount_decimal: Option<String>,
    pub interval: Option<String>,
    pub interval_count: Option<i64>,
}

/// One subscription item.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Item {
    pub price: Option<Price>,
    pub plan: Option<Plan>,
    pub quantity: Option<i64>,
}

/// A Stripe list (`{"object":"list","data":[...]}`) of subscription items.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ItemList {
    #[serde(default)]
    pub data: Vec<Item>,
}

/// `status_transitions` of an invoice.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct StatusTransitions {
    pub paid_at: Option<i64>,
}

/// `billing_details` of a charge.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct BillingDetails {
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
}

/// `parent.subscription_details` of an invoice (API 2025-03-31 and later).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct SubscriptionDetails {
    pub subscription: Option<IdRef>,
}

/// `parent` of an invoice (API 2025-03-31 and later).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct InvoiceParent {
    pub subscription_details: Option<SubscriptionDetails>,
}

/// Any supported Stripe object: the union of the fields of customer,
/// invoice, charge, subscription, refund and event that the records use.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Object {
    pub object: Option<String>,
    pub id: Option<String>,
    pub created: Option<i64>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub description: Option<String>,
    pub currency: Option<String>,
    pub amount: Option<i64>,
    pub amount_paid: Option<i64>,
    pub amount_due: Option<i64>,
    pub status: Option<String>,
    pub customer: Option<IdRef>,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub status_transitions: Option<StatusTransitions>,
    pub attempt_count: Option<i64>,
    pub paid: Option<bool>,
    pub subscription: Option<IdRef>,
    pub parent: Option<InvoiceParent>,
    pub start_date: Option<i64>,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub items: Option<ItemList>,
    pub plan: Option<Plan>,
    pub quantity: Option<i64>,
    pub billing_details: Option<BillingDetails>,
    pub receipt_email: Option<String>,
    pub failure_message: Option<String>,
    pub reason: Option<String>,
    pub charge: Option<IdRef>,
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// An event's type (`customer.subscription.updated`, ...).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// An event's payload.
    pub data: Option<EventData>,
}

/// `data` of a Stripe event (`/v1/events`): the object as it is after the event, and for
/// `*.updated` events the values its changed fields had before.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct EventData {
    pub object: Option<Box<Object>>,
    pub previous_attributes: Option<Box<Object>>,
}
