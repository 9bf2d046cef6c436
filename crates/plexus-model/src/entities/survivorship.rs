//! Survivorship in Rust: which observation of a trait is the current one, by the trait's
//! rule in `plexus.yml`. `current_traits` applies the same order in SQL
//! (`profiles::current_traits_sql`); `persons.name` and `groups.name` use this one while the
//! traits stream by, so a person's name is always their current `name` trait.

use std::cmp::Ordering;

use plexus_config::{ProjectConfig, Survivorship};

/// The rule of one trait, ready to compare observations.
#[derive(Debug, Clone)]
pub struct TraitChoice {
    rule: Survivorship,
    /// For `source_priority`: source names, most trusted first.
    priority: Vec<String>,
}

/// One observation of a trait, borrowed from the row being read.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// When it was observed (microseconds), if known.
    pub at: Option<i64>,
    /// The source it came from.
    pub source: &'a str,
    /// The row key in that source.
    pub source_key: &'a str,
    /// The value.
    pub value: &'a str,
}

impl TraitChoice {
    /// The rule `config` declares for the trait `name` (`latest` when none).
    pub fn of(config: &ProjectConfig, name: &str) -> TraitChoice {
        let declared = config.traits.get(name);
        TraitChoice {
            rule: declared
                .and_then(|r| r.rule.as_ref())
                .map_or(Survivorship::Latest, |r| r.value),
            priority: declared
                .map(|r| r.sources.iter().map(|s| s.value.clone()).collect())
                .unwrap_or_default(),
        }
    }

    /// A source's rank: its place in the priority list, unlisted sources after all listed
    /// ones; every source ranks 0 unless the rule is `source_priority`.
    fn rank(&self, source: &str) -> usize {
        if self.rule != Survivorship::SourcePriority {
            return 0;
        }
        self.priority
            .iter()
            .position(|s| s == source)
            .unwrap_or(self.priority.len())
    }

    /// `Less` when `a` is preferred to `b`: by source rank, then time (earliest for
    /// `first`, else latest; no time after any time), then source, row key and value. The
    /// order of `current_traits`' SQL, term for term.
    pub fn compare(&self, a: &Observation, b: &Observation) -> Ordering {
        // No time ranks last; then ascending times for `first`, descending for the others
        // (negated in i128, which cannot overflow).
        let time = |o: &Observation| {
            let t = i128::from(o.at.unwrap_or(0));
            (
                o.at.is_none(),
                if self.rule == Survivorship::First {
                    t
                } else {
                    -t
                },
            )
        };
        self.rank(a.source)
            .cmp(&self.rank(b.source))
            .then_with(|| time(a).cmp(&time(b)))
            .then_with(|| a.source.cmp(b.source))
            .then_with(|| a.source_key.cmp(b.source_key))
            .then_with(|| a.value.cmp(b.value))
    }
}

/// The current value of one trait per entity, chosen as observations stream by.
#[derive(Debug)]
pub struct CurrentTrait {
    choice: TraitChoice,
    best: Vec<Option<Owned>>,
}

/// An observation kept as the best so far.
#[derive(Debug, Clone)]
struct Owned {
    at: Option<i64>,
    source: String,
    source_key: String,
    value: String,
}

impl Owned {
    fn view(&self) -> Observation<'_> {
        Observation {
            at: self.at,
            source: &self.source,
            source_key: &self.source_key,
            value: &self.value,
        }
    }
}

impl CurrentTrait {
    /// Nothing observed yet for `entities` entities.
    pub fn new(choice: TraitChoice, entities: usize) -> CurrentTrait {
        CurrentTrait {
            choice,
            best: vec![None; entities],
        }
    }

    /// Keeps `o` for `entity` if the rule prefers it to what is kept.
    pub fn observe(&mut self, entity: u32, o: Observation) {
        let slot = &mut self.best[entity as usize];
        let better = slot
            .as_ref()
            .is_none_or(|b| self.choice.compare(&o, &b.view()) == Ordering::Less);
        if better {
            *slot = Some(Owned {
                at: o.at,
                source: o.source.to_string(),
                source_key: o.source_key.to_string(),
                value: o.value.to_string(),
            });
        }
    }

    /// The chosen value per entity.
    pub fn into_values(self) -> Vec<Option<String>> {
        self.best.into_iter().map(|b| b.map(|o| o.value)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(rule: Survivorship, priority: &[&str]) -> TraitChoice {
        TraitChoice {
            rule,
            priority: priority.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn obs<'a>(at: Option<i64>, source: &'a str, key: &'a str, value: &'a str) -> Observation<'a> {
        Observation {
            at,
            source,
            source_key: key,
            value,
        }
    }

    /// The value each rule picks from `all`, observed in every order.
    fn pick(c: &TraitChoice, all: &[Observation]) -> String {
        let mut picks = Vec::new();
        for start in 0..all.len() {
            let mut current = CurrentTrait::new(c.clone(), 1);
            for i in 0..all.len() {
                current.observe(0, all[(start + i) % all.len()]);
            }
            for i in (0..all.len()).rev() {
                current.observe(0, all[i]);
            }
            picks.push(current.into_values().remove(0).expect("a value"));
        }
        picks.dedup();
        assert_eq!(picks.len(), 1, "the order of observations changed the pick");
        picks.remove(0)
    }

    #[test]
    fn latest_first_and_priority_pick_as_documented() {
        let all = [
            obs(Some(10), "crm", "k1", "Ann Old"),
            obs(Some(30), "support", "k2", "ann"),
            obs(None, "app", "k3", "No Time"),
            obs(Some(20), "app", "k4", "Ann App"),
        ];
        assert_eq!(pick(&choice(Survivorship::Latest, &[]), &all), "ann");
        assert_eq!(pick(&choice(Survivorship::First, &[]), &all), "Ann Old");
        assert_eq!(
            pick(&choice(Survivorship::SourcePriority, &["app"]), &all),
            "Ann App",
            "the listed source first, then its latest observation"
        );
        assert_eq!(
            pick(&choice(Survivorship::SourcePriority, &["nowhere"]), &all),
            "ann",
            "no listed source has one: the latest of all"
        );
    }

    #[test]
    fn ties_go_to_source_then_key_then_value_and_no_time_ranks_last() {
        let tie = [
            obs(Some(5), "b", "k1", "from b"),
            obs(Some(5), "a", "k9", "from a, k9"),
            obs(Some(5), "a", "k1", "from a, k1 z"),
            obs(Some(5), "a", "k1", "from a, k1 y"),
        ];
        assert_eq!(
            pick(&choice(Survivorship::Latest, &[]), &tie),
            "from a, k1 y"
        );
        let untimed = [obs(None, "a", "k", "none"), obs(Some(-5), "z", "k", "old")];
        assert_eq!(pick(&choice(Survivorship::Latest, &[]), &untimed), "old");
        assert_eq!(pick(&choice(Survivorship::First, &[]), &untimed), "old");
    }
}
