//! Versions as vendors write them (`R6.0.5`, `VA20A`, `3.1 SP2`, `2.X`,
//! `v8.x model 35700BAX2`) and the ranges advisories put on them (`<= 3.64`,
//! `>= 5.01 | <= 6`, `vers:generic/<2.0`, `vers:all/*`).
//!
//! A version is split into runs of digits and runs of letters; runs compare
//! pairwise (numbers as numbers, letters case-insensitively), a missing run
//! sorts first (`3.1` < `3.1.2` < `3.1 SP2`), and `x`/`*` is a wildcard
//! that equals anything (so `2.X` covers `2.4`).

use std::cmp::Ordering;

/// One run of a version.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Num(u64),
    Word(String),
    Any,
}

/// A parsed version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    parts: Vec<Part>,
    text: String,
}

impl Version {
    /// Parses the first version-looking token of `s` ("v8.x model 35700BAX2"
    /// reads as 8.x); `None` when there is no digit and no wildcard at all.
    pub fn parse(s: &str) -> Option<Version> {
        let t = s.trim();
        let t = t
            .strip_prefix("version ")
            .or_else(|| t.strip_prefix("Version "))
            .unwrap_or(t)
            .trim();
        // "v8.x" and "V2.1": a leading v before a digit is not part of it.
        let t = match t.as_bytes() {
            [b'v' | b'V', d, ..] if d.is_ascii_digit() => &t[1..],
            _ => t,
        };
        // Stop at words that start commentary.
        let end = [" model", " with", " (", " and", ",", ";"]
            .iter()
            .filter_map(|w| t.find(w))
            .min()
            .unwrap_or(t.len());
        let t = t[..end].trim();
        if t.is_empty() {
            return None;
        }
        let mut parts = Vec::new();
        let mut cur = String::new();
        let mut digits = false;
        let flush = |cur: &mut String, digits: bool, parts: &mut Vec<Part>| {
            if cur.is_empty() {
                return;
            }
            let p = if digits {
                Part::Num(cur.parse().unwrap_or(u64::MAX))
            } else if cur.eq_ignore_ascii_case("x") || cur == "*" {
                Part::Any
            } else {
                Part::Word(cur.to_ascii_lowercase())
            };
            parts.push(p);
            cur.clear();
        };
        for c in t.chars() {
            if c.is_ascii_digit() {
                if !digits {
                    flush(&mut cur, digits, &mut parts);
                }
                digits = true;
                cur.push(c);
            } else if c.is_alphanumeric() || c == '*' {
                if digits {
                    flush(&mut cur, digits, &mut parts);
                }
                digits = false;
                cur.push(c);
            } else {
                flush(&mut cur, digits, &mut parts);
            }
        }
        flush(&mut cur, digits, &mut parts);
        let useful = parts.iter().any(|p| matches!(p, Part::Num(_) | Part::Any));
        useful.then(|| Version {
            parts,
            text: t.to_string(),
        })
    }

    /// As written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Compares two versions; a wildcard run ends the comparison as equal.
    pub fn compare(&self, other: &Version) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            let (a, b) = (self.parts.get(i), other.parts.get(i));
            let o = match (a, b) {
                (Some(Part::Any), _) | (_, Some(Part::Any)) => return Ordering::Equal,
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(Part::Num(x)), Some(Part::Num(y))) => x.cmp(y),
                (Some(Part::Word(x)), Some(Part::Word(y))) => x.cmp(y),
                // A number outranks a letter run at the same place
                // ("2.0" > "2.beta").
                (Some(Part::Num(_)), Some(Part::Word(_))) => Ordering::Greater,
                (Some(Part::Word(_)), Some(Part::Num(_))) => Ordering::Less,
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

/// One comparison of a range.
#[derive(Debug, Clone, PartialEq)]
enum Constraint {
    Eq(Version),
    Lt(Version),
    Le(Version),
    Gt(Version),
    Ge(Version),
}

/// A set of versions an advisory names.
#[derive(Debug, Clone, PartialEq)]
pub enum VersionSpec {
    /// Every version.
    All,
    /// Comparisons: equalities are alternatives, lower and upper bounds pair
    /// into intervals (`>= 5.01 | <= 6` is 5.01 to 6).
    Ranges(Vec<ConstraintSet>),
}

/// Constraints read from one spec.
#[derive(Debug, Clone, PartialEq)]
pub struct ConstraintSet(Vec<Constraint>);

impl VersionSpec {
    /// Parses a range as CSAF `product_version_range` / `product_version`
    /// names and CVE records write them; `None` when nothing in it is a
    /// version.
    pub fn parse(s: &str) -> Option<VersionSpec> {
        let t = s.trim();
        let lower = t.to_ascii_lowercase();
        if lower.starts_with("vers:all/")
            || lower == "all"
            || lower.contains("all versions")
            || lower == "*"
        {
            return Some(VersionSpec::All);
        }
        // vers:<scheme>/<constraints>
        let body = match t.strip_prefix("vers:") {
            Some(rest) => rest.split_once('/').map(|x| x.1).unwrap_or(rest),
            None => t,
        };
        let mut cs = Vec::new();
        for piece in body.split('|') {
            let p = piece.trim();
            let (op, v) = if let Some(v) = p.strip_prefix("<=") {
                ("<=", v)
            } else if let Some(v) = p.strip_prefix(">=") {
                (">=", v)
            } else if let Some(v) = p.strip_prefix('<') {
                ("<", v)
            } else if let Some(v) = p.strip_prefix('>') {
                (">", v)
            } else if let Some(v) = p.strip_prefix('=') {
                ("=", v)
            } else if let Some(v) = p.strip_prefix("prior to ") {
                ("<", v)
            } else if let Some(v) = p.strip_prefix("before ") {
                ("<", v)
            } else {
                ("=", p)
            };
            let Some(v) = Version::parse(v) else { continue };
            cs.push(match op {
                "<=" => Constraint::Le(v),
                ">=" => Constraint::Ge(v),
                "<" => Constraint::Lt(v),
                ">" => Constraint::Gt(v),
                _ => Constraint::Eq(v),
            });
        }
        (!cs.is_empty()).then(|| VersionSpec::Ranges(vec![ConstraintSet(cs)]))
    }

    /// A range from CVE JSON 5 `versions[]` fields: `version` with
    /// `lessThan` / `lessThanOrEqual`, or `version` alone.
    pub fn from_cve(
        version: &str,
        less_than: Option<&str>,
        less_eq: Option<&str>,
    ) -> Option<VersionSpec> {
        let base = version.trim();
        let lower_all = matches!(base, "0" | "*" | "" | "unspecified" | "n/a");
        let mut cs = Vec::new();
        if let Some(l) = less_than.and_then(|x| Version::parse(x.trim())) {
            if !lower_all {
                if let Some(v) = Version::parse(base) {
                    cs.push(Constraint::Ge(v));
                }
            }
            cs.push(Constraint::Lt(l));
        } else if let Some(l) = less_eq.and_then(|x| Version::parse(x.trim())) {
            if !lower_all {
                if let Some(v) = Version::parse(base) {
                    cs.push(Constraint::Ge(v));
                }
            }
            cs.push(Constraint::Le(l));
        } else if lower_all || base.eq_ignore_ascii_case("all versions") {
            return if base == "n/a" || base == "unspecified" {
                None
            } else {
                Some(VersionSpec::All)
            };
        } else {
            return VersionSpec::parse(base);
        }
        Some(VersionSpec::Ranges(vec![ConstraintSet(cs)]))
    }

    /// Whether `v` is in the set.
    pub fn contains(&self, v: &Version) -> bool {
        match self {
            VersionSpec::All => true,
            VersionSpec::Ranges(sets) => sets.iter().any(|s| s.contains(v)),
        }
    }

    /// A version inside the set (for tests built from advisories): the
    /// highest named bound that is included, or the first equality.
    pub fn example_inside(&self) -> Option<String> {
        match self {
            VersionSpec::All => Some("1.0".into()),
            VersionSpec::Ranges(sets) => sets.iter().find_map(|s| {
                s.0.iter().find_map(|c| match c {
                    Constraint::Eq(v) | Constraint::Le(v) | Constraint::Ge(v) => {
                        Some(v.text.clone())
                    }
                    _ => None,
                })
            }),
        }
    }
}

impl VersionSpec {
    /// A version just outside the set (for tests): past its highest upper
    /// bound, or next to an exact version. `None` for "all versions" and for
    /// wildcards.
    pub fn example_outside(&self) -> Option<String> {
        let VersionSpec::Ranges(sets) = self else {
            return None;
        };
        let mut best: Option<Version> = None;
        for c in sets.iter().flat_map(|s| s.0.iter()) {
            let cand = match c {
                Constraint::Lt(v) => Some(v.clone()),
                Constraint::Le(v) | Constraint::Eq(v) => v.bumped(),
                _ => None,
            };
            if let Some(x) = cand {
                if best
                    .as_ref()
                    .is_none_or(|b| x.compare(b) == Ordering::Greater)
                {
                    best = Some(x);
                }
            }
        }
        let b = best?;
        (!self.contains(&b)).then(|| b.text.clone())
    }
}

impl Version {
    /// The version with its last number raised by one (`R8.0.3` → `R8.0.4`).
    fn bumped(&self) -> Option<Version> {
        if self.parts.contains(&Part::Any) {
            return None;
        }
        let i = self.parts.iter().rposition(|p| matches!(p, Part::Num(_)))?;
        let mut parts = self.parts.clone();
        if let Some(Part::Num(n)) = parts.get_mut(i) {
            *n = n.checked_add(1)?;
        }
        let text = parts
            .iter()
            .map(|p| match p {
                Part::Num(n) => n.to_string(),
                Part::Word(w) => w.clone(),
                Part::Any => "x".into(),
            })
            .collect::<Vec<_>>()
            .join(".");
        Some(Version { parts, text })
    }
}

impl ConstraintSet {
    fn contains(&self, v: &Version) -> bool {
        use Ordering::*;
        let holds = |c: &Constraint| match c {
            Constraint::Eq(x) => v.compare(x) == Equal,
            Constraint::Lt(x) => v.compare(x) == Less,
            Constraint::Le(x) => v.compare(x) != Greater,
            Constraint::Gt(x) => v.compare(x) == Greater,
            Constraint::Ge(x) => v.compare(x) != Less,
        };
        if self
            .0
            .iter()
            .any(|c| matches!(c, Constraint::Eq(_)) && holds(c))
        {
            return true;
        }
        let lowers: Vec<&Constraint> = self
            .0
            .iter()
            .filter(|c| matches!(c, Constraint::Gt(_) | Constraint::Ge(_)))
            .collect();
        let uppers: Vec<&Constraint> = self
            .0
            .iter()
            .filter(|c| matches!(c, Constraint::Lt(_) | Constraint::Le(_)))
            .collect();
        match (lowers.is_empty(), uppers.is_empty()) {
            (true, true) => false,
            (true, false) => uppers.iter().any(|c| holds(c)),
            (false, true) => lowers.iter().any(|c| holds(c)),
            // Intervals: a lower bound with any upper bound at or above it.
            (false, false) => lowers.iter().any(|l| {
                holds(l)
                    && uppers.iter().any(|u| {
                        let (lv, uv) = (bound(l), bound(u));
                        uv.compare(lv) != Less && holds(u)
                    })
            }),
        }
    }
}

fn bound(c: &Constraint) -> &Version {
    match c {
        Constraint::Eq(v)
        | Constraint::Lt(v)
        | Constraint::Le(v)
        | Constraint::Gt(v)
        | Constraint::Ge(v) => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap_or_else(|| panic!("{s}"))
    }
    fn spec(s: &str) -> VersionSpec {
        VersionSpec::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn vendor_formats_order() {
        assert_eq!(v("R6.0.5").compare(&v("R6.1")), Ordering::Less);
        assert_eq!(v("VA20A").compare(&v("VA30A")), Ordering::Less);
        assert_eq!(v("VB10A").compare(&v("VA30A")), Ordering::Greater);
        assert_eq!(v("3.1").compare(&v("3.1 SP2")), Ordering::Less);
        assert_eq!(v("3.1 SP2").compare(&v("3.1 SP10")), Ordering::Less);
        assert_eq!(v("3.1 SP2").compare(&v("3.2")), Ordering::Less);
        assert_eq!(v("2.X").compare(&v("2.4.1")), Ordering::Equal);
        assert_eq!(v("v8.x model 35700BAX2").as_str(), "8.x");
        assert_eq!(v("10.0").compare(&v("9.9")), Ordering::Greater);
        assert!(Version::parse("unspecified").is_none());
    }

    #[test]
    fn ranges_as_advisories_write_them() {
        assert!(spec("<=3.64").contains(&v("3.64")));
        assert!(!spec("<=3.64").contains(&v("3.65")));
        assert!(spec("< 8.2.2").contains(&v("8.2.1")));
        assert!(!spec("< 8.2.2").contains(&v("8.2.2")));
        assert!(spec(">= 5.01 | <= 6").contains(&v("5.5")));
        assert!(!spec(">= 5.01 | <= 6").contains(&v("4.9")));
        assert!(!spec(">= 5.01 | <= 6").contains(&v("6.1")));
        assert!(spec("vers:all/*").contains(&v("1")));
        assert!(spec("vers:generic/>=1.0|<2.0").contains(&v("1.5")));
        assert!(spec("<= 12.2.x.x").contains(&v("12.2.7.1")));
        assert!(spec("2.X").contains(&v("2.9")));
        assert!(!spec("2.X").contains(&v("3.0")));
        assert!(spec("HD 16 | HD23").contains(&v("HD23")));
    }

    #[test]
    fn cve_record_ranges() {
        let r = VersionSpec::from_cve("0", Some(" v7.2.8.810"), None).unwrap_or(VersionSpec::All);
        assert!(r.contains(&v("7.2.8.809")) && !r.contains(&v("7.2.8.810")));
        let r = VersionSpec::from_cve("2.0", None, Some("2.5")).unwrap_or(VersionSpec::All);
        assert!(r.contains(&v("2.3")) && !r.contains(&v("1.9")));
        assert!(VersionSpec::from_cve("n/a", None, None).is_none());
    }
}
