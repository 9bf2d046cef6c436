//! Role mailboxes: addresses of a function (`info@`, `support@`, `billing@`), not of a person.
//!
//! Such addresses are quarantined later: they stay on their records but never bridge two
//! people. This module only classifies. An address is a role mailbox when its local part,
//! lower-cased and cut before the first `+` (`support+eu@acme.com` -> `support`), is in the
//! set. The built-in set is [`BUILTIN_ROLE_MAILBOXES`]:
//!
//! - general: `info`, `hello`, `contact`, `contactus`, `enquiries`, `enquiry`, `inquiries`,
//!   `inquiry`, `mail`, `email`, `office`, `reception`, `team`, `all`, `everyone`, `staff`,
//!   `feedback`, `newsletter`, `news`, `events`, `partners`, `media`, `press`, `pr`;
//! - sales and service: `sales`, `support`, `help`, `helpdesk`, `service`, `services`,
//!   `customerservice`, `customercare`, `care`, `orders`, `order`, `bookings`,
//!   `reservations`, `shop`, `store`;
//! - money: `billing`, `accounts`, `accounting`, `finance`, `invoices`, `invoice`, `ap`,
//!   `ar`, `payments`, `payroll`, `purchasing`, `procurement`;
//! - people and legal: `hr`, `jobs`, `careers`, `recruiting`, `recruitment`, `legal`,
//!   `privacy`, `compliance`, `marketing`;
//! - technical: `admin`, `administrator`, `it`, `ops`, `operations`, `security`, `webmaster`,
//!   `postmaster`, `hostmaster`, `abuse`, `root`, `sysadmin`, `devops`, `tech`,
//!   `techsupport`, `alerts`, `notifications`;
//! - senders: `noreply`, `no-reply`, `donotreply`, `do-not-reply`, `mailer-daemon`, `bounce`,
//!   `bounces`.

use foldhash::fast::RandomState;
use hashbrown::HashSet;

/// The built-in role mailbox local parts (see the [module](self) doc).
pub const BUILTIN_ROLE_MAILBOXES: &[&str] = &[
    // general
    "info",
    "hello",
    "contact",
    "contactus",
    "enquiries",
    "enquiry",
    "inquiries",
    "inquiry",
    "mail",
    "email",
    "office",
    "reception",
    "team",
    "all",
    "everyone",
    "staff",
    "feedback",
    "newsletter",
    "news",
    "events",
    "partners",
    "media",
    "press",
    "pr",
    // sales and service
    "sales",
    "support",
    "help",
    "helpdesk",
    "service",
    "services",
    "customerservice",
    "customercare",
    "care",
    "orders",
    "order",
    "bookings",
    "reservations",
    "shop",
    "store",
    // money
    "billing",
    "accounts",
    "accounting",
    "finance",
    "invoices",
    "invoice",
    "ap",
    "ar",
    "payments",
    "payroll",
    "purchasing",
    "procurement",
    // people and legal
    "hr",
    "jobs",
    "careers",
    "recruiting",
    "recruitment",
    "legal",
    "privacy",
    "compliance",
    "marketing",
    // technical
    "admin",
    "administrator",
    "it",
    "ops",
    "operations",
    "security",
    "webmaster",
    "postmaster",
    "hostmaster",
    "abuse",
    "root",
    "sysadmin",
    "devops",
    "tech",
    "techsupport",
    "alerts",
    "notifications",
    // senders
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "mailer-daemon",
    "bounce",
    "bounces",
];

/// A set of role mailbox local parts. [`RoleMailboxes::default`] is empty.
#[derive(Debug, Clone, Default)]
pub struct RoleMailboxes {
    locals: HashSet<Box<str>, RandomState>,
}

impl RoleMailboxes {
    /// The built-in set ([`BUILTIN_ROLE_MAILBOXES`]).
    pub fn builtin() -> Self {
        Self::from_list(BUILTIN_ROLE_MAILBOXES.iter().copied())
    }

    /// Exactly these local parts (trimmed, lower-cased; a trailing `@` is ignored).
    pub fn from_list<'a>(locals: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            locals: locals.into_iter().filter_map(clean).collect(),
        }
    }

    /// Adds and removes local parts (`concierge`, or `concierge@`).
    pub fn adjust<'a>(
        mut self,
        add: impl IntoIterator<Item = &'a str>,
        remove: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        self.locals.extend(add.into_iter().filter_map(clean));
        for l in remove.into_iter().filter_map(clean) {
            self.locals.remove(&l);
        }
        self
    }

    /// True if `email` (a normalised address) is a role mailbox: its local part before any
    /// `+tag` is in the set. A value without `@` is not.
    pub fn is_role(&self, email: &str) -> bool {
        let Some((local, _)) = email.rsplit_once('@') else {
            return false;
        };
        let base = local.split_once('+').map_or(local, |(b, _)| b);
        if base.bytes().any(|b| b.is_ascii_uppercase()) || !base.is_ascii() {
            return self.locals.contains(base.to_lowercase().as_str());
        }
        self.locals.contains(base)
    }

    /// How many local parts the set holds.
    pub fn len(&self) -> usize {
        self.locals.len()
    }

    /// True if the set is empty.
    pub fn is_empty(&self) -> bool {
        self.locals.is_empty()
    }
}

/// A local part as stored; `None` when empty.
fn clean(l: &str) -> Option<Box<str>> {
    let l = l.trim();
    let l = l.strip_suffix('@').unwrap_or(l).trim();
    (!l.is_empty()).then(|| l.to_lowercase().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_mailboxes_are_recognised() {
        let r = RoleMailboxes::builtin();
        let rows = [
            ("info@acme.com", true),
            ("support+eu@acme.com", true),
            ("Billing@Acme.com", true),
            ("no-reply@acme.com", true),
            ("ap@acme.com", true),
            ("jane@acme.com", false),
            ("information@acme.com", false),
            ("jane.info@acme.com", false),
            ("info", false),
            ("@acme.com", false),
            ("", false),
        ];
        for (email, want) in rows {
            assert_eq!(r.is_role(email), want, "{email}");
        }
    }

    #[test]
    fn builtin_list_is_clean_and_documented() {
        let module_doc = include_str!("roles.rs");
        for l in BUILTIN_ROLE_MAILBOXES {
            assert_eq!(clean(l).as_deref(), Some(*l));
            assert!(module_doc.contains(&format!("`{l}`")), "{l} not documented");
        }
        assert_eq!(RoleMailboxes::builtin().len(), BUILTIN_ROLE_MAILBOXES.len());
    }

    #[test]
    fn adjustments_add_and_remove() {
        let r = RoleMailboxes::builtin().adjust(["Concierge@", " "], ["it", "OPS"]);
        assert!(r.is_role("concierge@acme.com"));
        assert!(!r.is_role("it@acme.com") && !r.is_role("ops@acme.com"));
        assert!(r.is_role("info@acme.com"));
        assert!(RoleMailboxes::default().is_empty());
        assert!(!RoleMailboxes::from_list(["sales"]).is_role("info@acme.com"));
    }
}
