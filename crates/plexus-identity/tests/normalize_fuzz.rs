//! Property tests for identifier normalisation, the blocklist and role mailboxes: no panic on
//! any input (arbitrary Unicode, arbitrary bytes read lossily, and identifier-shaped text that
//! reaches the deeper code paths), and normalisation is idempotent.

use std::sync::LazyLock;

use plexus_identity::{
    Blocklist, BlocklistOptions, NormalizeOptions, Normalizer, RoleMailboxes, known_email_rules,
};
use proptest::prelude::*;

const KINDS: &[&str] = &[
    "email",
    "phone",
    "domain",
    "user_id",
    "anonymous_id",
    "crm_id",
];

/// The default normaliser, one with a region and every provider rule, and a GB one.
static NORMALIZERS: LazyLock<Vec<Normalizer>> = LazyLock::new(|| {
    let all_rules: Vec<String> = known_email_rules().iter().map(|r| r.to_string()).collect();
    vec![
        Normalizer::default(),
        Normalizer::new(&NormalizeOptions {
            default_region: Some("US".into()),
            email_rules: all_rules,
        })
        .unwrap(),
        Normalizer::new(&NormalizeOptions {
            default_region: Some("gb".into()),
            email_rules: vec!["gmail".into()],
        })
        .unwrap(),
    ]
});

static BLOCKLIST: LazyLock<Blocklist> = LazyLock::new(|| {
    Blocklist::new(
        &BlocklistOptions {
            builtin: true,
            exact: vec![("email".into(), "Nobody@Acme.com".into())],
            regex: vec![("user_id".into(), "^tmp-".into())],
        },
        &NORMALIZERS[1],
    )
    .unwrap()
});

static ROLES: LazyLock<RoleMailboxes> =
    LazyLock::new(|| RoleMailboxes::builtin().adjust(["Concierge"], ["it"]));

/// Any text: arbitrary Unicode, lossily decoded bytes, and identifier-shaped strings.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(any::<u8>(), 0..48)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        // Email-shaped, with case, dots, tags, Unicode and junk.
        "[ \t]{0,2}[a-zA-Z0-9._+'\"<>ÄéİǅßΣ-]{0,12}@{0,2}[a-zA-Z0-9.\\[\\]_ÄéİΣ-]{0,16}[ \t]{0,2}",
        "[a-z0-9.+]{1,10}@(gmail|googlemail|GMAIL|outlook|hotmail|fastmail|example)\\.(com|fm|org)",
        // Phone-shaped, with prefixes, separators and extensions.
        "[ ]{0,2}(\\+|00|tel:)?[0-9 ()./-]{0,20}( ?(x|ext\\.?|#|;ext=|extension) ?[0-9]{0,8})?",
        "\\+(1|44|49|33|39|61|81|86|91|225|800|979|999)[0-9 ]{4,14}",
        // Domain- and URL-shaped.
        "((https?|ftp)://)?([a-zA-Z0-9_@:-]{0,8}\\.){0,4}(com|co\\.uk|uk|ck|github\\.io|test|1|)\\.?(:[0-9]{0,5})?(/[a-z?#=]{0,6})?",
        "(www\\.){0,3}[a-zA-Zß0-9-]{0,10}\\.(com|de|jp|xn--p1ai|рф|co\\.jp|ck)",
    ]
}

fn kinds() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        proptest::sample::select(KINDS),
        Just("phone"),
        Just("email"),
        Just("domain")
    ]
}

proptest! {
    // 1024 cases each by default; `PROPTEST_CASES=100000` for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1024)
    ))]

    #[test]
    fn normalisation_never_panics_and_is_idempotent(kind in kinds(), raw in any_text()) {
        for (i, n) in NORMALIZERS.iter().enumerate() {
            if let Ok(Some(v)) = n.normalize(kind, &raw) {
                prop_assert!(!v.is_empty());
                let again = n.normalize(kind, &v);
                prop_assert_eq!(
                    again.as_ref().map(|o| o.as_deref()),
                    Ok(Some(v.as_ref())),
                    "normaliser {} {} {:?} -> {:?}", i, kind, raw, v
                );
            }
        }
        // The free functions are the default normaliser.
        prop_assert_eq!(
            plexus_identity::normalize(kind, &raw),
            NORMALIZERS[0].normalize(kind, &raw).map(|v| v.map(|c| c.into_owned()))
        );
    }

    #[test]
    fn rejections_have_reasons(kind in kinds(), raw in any_text()) {
        for n in NORMALIZERS.iter() {
            if let Err(e) = n.normalize(kind, &raw) {
                prop_assert!(e.to_string().len() > 10);
            }
        }
    }

    #[test]
    fn blocklist_and_roles_never_panic(kind in kinds(), raw in any_text()) {
        let _ = BLOCKLIST.check(kind, &raw);
        let _ = ROLES.is_role(&raw);
        let _ = plexus_identity::email_domain(&raw);
        let _ = NORMALIZERS[0].registrable_domain(&raw);
        if let Ok(Some(v)) = NORMALIZERS[1].normalize(kind, &raw) {
            if let Some(reason) = BLOCKLIST.check(kind, &v) {
                prop_assert!(reason.starts_with("blocklisted"));
            }
            let _ = ROLES.is_role(&v);
        }
    }
}
