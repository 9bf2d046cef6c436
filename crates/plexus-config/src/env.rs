//! `${VAR}` and `${VAR:-default}` in paths of `plexus.yml`.

/// Why a `${...}` reference could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvError {
    /// `${VAR}` names a variable that is not set and has no default.
    #[error("environment variable `{0}` is not set")]
    Unset(String),
    /// `${` without a closing `}`.
    #[error("`${{` without a closing `}}`")]
    Unclosed,
    /// `${}` or a name with characters other than letters, digits and `_`.
    #[error("`{0}` is not a valid variable name (letters, digits and `_` only)")]
    BadName(String),
}

/// Expands `${VAR}` and `${VAR:-default}` in `text` using `lookup`.
///
/// `$$` stands for a literal `$`. A variable that is set but empty takes the
/// default with `:-`, as in the POSIX shell.
pub fn expand_with(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, EnvError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or(EnvError::Unclosed)?;
            let inner = &body[..end];
            let (name, default) = match inner.split_once(":-") {
                Some((n, d)) => (n, Some(d)),
                None => (inner, None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(EnvError::BadName(name.to_string()));
            }
            match (
                lookup(name).filter(|v| !(v.is_empty() && default.is_some())),
                default,
            ) {
                (Some(v), _) => out.push_str(&v),
                (None, Some(d)) => out.push_str(d),
                (None, None) => return Err(EnvError::Unset(name.to_string())),
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Expands `${VAR}` references from the process environment.
pub fn expand(text: &str) -> Result<String, EnvError> {
    expand_with(text, |name| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "DATA" => Some("/srv/data".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_set_variables_and_defaults() {
        assert_eq!(
            expand_with("${DATA}/a.csv", env).unwrap(),
            "/srv/data/a.csv"
        );
        assert_eq!(expand_with("${NOPE:-x}/a.csv", env).unwrap(), "x/a.csv");
        assert_eq!(expand_with("${EMPTY:-d}", env).unwrap(), "d");
        assert_eq!(expand_with("${EMPTY}", env).unwrap(), "");
        assert_eq!(expand_with("cost$$5 $x", env).unwrap(), "cost$5 $x");
    }

    #[test]
    fn reports_unset_unclosed_and_bad_names() {
        assert_eq!(
            expand_with("${NOPE}", env),
            Err(EnvError::Unset("NOPE".into()))
        );
        assert_eq!(expand_with("${DATA", env), Err(EnvError::Unclosed));
        assert_eq!(
            expand_with("${A-B}", env),
            Err(EnvError::BadName("A-B".into()))
        );
    }
}
