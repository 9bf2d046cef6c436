//! The project's identity settings, checked and turned into the parts the build uses:
//! normaliser, blocklist, role mailboxes, personal domains, guards and anchor priority.

use plexus_config::{Diagnostic, Project, closest};
use plexus_identity::{
    Blocklist, BlocklistError, BlocklistOptions, GuardOptions, NormalizeOptions, Normalizer,
    OptionsError, PersonalDomains, RoleMailboxes,
};

/// Everything identity resolution needs from `plexus.yml`.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// Normalises identifiers (phone region, email provider rules).
    pub normalizer: Normalizer,
    /// Junk identifiers that never link anyone.
    pub blocklist: Blocklist,
    /// Role mailboxes to quarantine, if the project quarantines them.
    pub roles: Option<RoleMailboxes>,
    /// Free-mail domains that never form companies.
    pub personal: PersonalDomains,
    /// Limits and shared-identifier quarantine.
    pub guards: GuardOptions,
    /// Identifier types that win anchor ties, most preferred first.
    pub anchor_priority: Option<Vec<String>>,
}

impl IdentitySettings {
    /// Reads and checks the `identity` section; every problem names its line in
    /// `plexus.yml`.
    pub fn from_project(project: &Project) -> Result<IdentitySettings, Vec<Diagnostic>> {
        let identity = &project.config.identity;
        let mut problems = Vec::new();

        let options = NormalizeOptions {
            default_region: identity.phone_region.as_ref().map(|r| r.value.clone()),
            email_rules: identity
                .email_rules
                .iter()
                .map(|r| r.value.clone())
                .collect(),
        };
        // Check the region and each rule on their own, so that every problem is reported.
        let mut checks = vec![NormalizeOptions {
            default_region: options.default_region.clone(),
            email_rules: Vec::new(),
        }];
        checks.extend(options.email_rules.iter().map(|r| NormalizeOptions {
            default_region: None,
            email_rules: vec![r.clone()],
        }));
        for check in &checks {
            let Err(e) = Normalizer::new(check) else {
                continue;
            };
            let (at, message, hint) = match &e {
                OptionsError::UnknownRegion { region, .. } => (
                    identity.phone_region.as_ref(),
                    format!("unknown phone region `{region}`"),
                    "use an ISO 3166 two-letter code such as US, GB, DE or FR".to_string(),
                ),
                OptionsError::UnknownEmailRule { rule, .. } => {
                    let known = plexus_identity::known_email_rules();
                    let hint = match closest(rule, known.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`? Known: {}", known.join(", ")),
                        None => format!("known rules: {}", known.join(", ")),
                    };
                    (
                        identity.email_rules.iter().find(|r| &r.value == rule),
                        format!("unknown email rule `{rule}`"),
                        hint,
                    )
                }
            };
            let d = match at {
                Some(at) => project.diag_at(at, message),
                None => Diagnostic::new(&project.config_file, message),
            };
            problems.push(d.with_hint(hint));
        }
        let normalizer = Normalizer::new(&options).unwrap_or_default();

        let blocklist = match &identity.blocklist {
            None => Blocklist::builtin(),
            Some(cfg) => {
                let opts = BlocklistOptions {
                    builtin: cfg.builtin,
                    exact: cfg
                        .exact
                        .iter()
                        .flat_map(|(t, vs)| vs.iter().map(|v| (t.clone(), v.value.clone())))
                        .collect(),
                    regex: cfg
                        .regex
                        .iter()
                        .flat_map(|(t, vs)| vs.iter().map(|v| (t.clone(), v.value.clone())))
                        .collect(),
                };
                match Blocklist::new(&opts, &normalizer) {
                    Ok(b) => b,
                    Err(e) => {
                        let BlocklistError::BadPattern { pattern, .. } = &e;
                        let at = cfg.regex.values().flatten().find(|p| &p.value == pattern);
                        let d = match at {
                            Some(at) => project.diag_at(at, e.to_string()),
                            None => Diagnostic::new(&project.config_file, e.to_string()),
                        };
                        problems.push(d.with_hint(
                            "patterns use the Rust regex syntax; escape dots, e.g. '^test@example\\.org$'",
                        ));
                        Blocklist::builtin()
                    }
                }
            }
        };

        let quarantine = identity.quarantine.as_ref();
        let roles = match quarantine {
            Some(q) if !q.role_mailboxes => None,
            Some(q) => Some(RoleMailboxes::builtin().adjust(
                q.add_roles.iter().map(String::as_str),
                q.remove_roles.iter().map(String::as_str),
            )),
            None => Some(RoleMailboxes::builtin()),
        };

        let limits: Vec<(String, u32)> = identity
            .limits
            .iter()
            .map(|(t, max)| (t.clone(), max.value))
            .collect();
        for (t, max) in &identity.limits {
            if max.value == 0 {
                problems.push(
                    project
                        .diag_at(
                            max,
                            format!("limit of `{t}` is 0: no person could hold one"),
                        )
                        .with_hint("use 1 or more, or remove the line"),
                );
            }
        }
        let strong_types = quarantine
            .and_then(|q| q.strong_types.clone())
            .unwrap_or_else(|| {
                if limits.is_empty() {
                    vec!["user_id".to_string()]
                } else {
                    limits.iter().map(|(t, _)| t.clone()).collect()
                }
            });
        let guards = GuardOptions {
            limits,
            max_strong_ids: Some(
                quarantine
                    .and_then(|q| q.max_strong_ids.as_ref())
                    .map_or(3, |m| m.value),
            ),
            strong_types,
        };

        use plexus_config::PersonalDomains as Cfg;
        let personal = match &identity.personal_domains {
            None => PersonalDomains::builtin(),
            Some(Cfg::List(l)) => PersonalDomains::from_list(l.iter().map(String::as_str)),
            Some(Cfg::Adjust(a)) => {
                let base = if a.builtin {
                    PersonalDomains::builtin()
                } else {
                    PersonalDomains::default()
                };
                base.adjust(
                    a.add.iter().map(String::as_str),
                    a.remove.iter().map(String::as_str),
                )
            }
        };
        let anchor_priority = identity
            .anchor_priority
            .as_ref()
            .map(|p| p.iter().map(|t| t.value.clone()).collect());
        if problems.is_empty() {
            Ok(IdentitySettings {
                normalizer,
                blocklist,
                roles,
                personal,
                guards,
                anchor_priority,
            })
        } else {
            Err(problems)
        }
    }
}
