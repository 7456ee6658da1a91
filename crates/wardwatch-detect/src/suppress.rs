//! Suppression rules: an analyst decides a finding is expected (an approved
//! scanner, a vendor's remote-service link) and says why. Suppressed
//! findings stay in the report with status `suppressed` and the reason in
//! their remediation line, so the decision is auditable.
//!
//! File format (TOML, one rule per `[[suppress]]` table):
//!
//! ```text
//! [[suppress]]
//! kind = "port-scan"          # optional: finding kind
//! rule = "vertical-scan"      # optional: rule
//! ip = "10.1.2.3"             # optional: the finding's device address
//! peer = "10.9.9.9"           # optional: the peer
//! reason = "Approved Nessus scanner, change CHG-1234"   # required
//! ```

use wardwatch_model::Finding;

/// One suppression rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Kind to match, any when absent.
    pub kind: Option<String>,
    /// Rule to match.
    pub rule: Option<String>,
    /// Device address to match.
    pub ip: Option<String>,
    /// Peer to match.
    pub peer: Option<String>,
    /// Why (required).
    pub reason: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SuppressionFile {
    #[serde(default)]
    suppress: Vec<Suppression>,
}

/// A set of suppression rules.
#[derive(Debug, Clone, Default)]
pub struct Suppressions(pub Vec<Suppression>);

impl Suppressions {
    /// Parses the TOML format above; the error names the line.
    pub fn parse(text: &str) -> Result<Suppressions, String> {
        let f: SuppressionFile = toml::from_str(text).map_err(|e| e.to_string())?;
        if let Some(n) = f.suppress.iter().position(|s| s.reason.trim().is_empty()) {
            return Err(format!("suppression {} has an empty reason", n + 1));
        }
        Ok(Suppressions(f.suppress))
    }

    /// Marks matching findings suppressed; returns how many.
    pub fn apply(&self, findings: &mut [Finding]) -> usize {
        let mut n = 0;
        for f in findings.iter_mut() {
            let hit = self.0.iter().find(|s| {
                s.kind.as_ref().is_none_or(|k| *k == f.kind)
                    && s.rule.as_ref().is_none_or(|r| *r == f.rule)
                    && s.ip.as_ref().is_none_or(|ip| f.ip.as_ref() == Some(ip))
                    && s.peer
                        .as_ref()
                        .is_none_or(|p| f.peer.as_ref() == Some(p) || f.peers.contains(p))
            });
            if let Some(s) = hit {
                f.status = "suppressed".into();
                f.remediation = format!("Suppressed: {}", s.reason);
                n += 1;
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_errors() {
        let s = Suppressions::parse(
            "[[suppress]]\nkind = \"port-scan\"\nip = \"10.0.0.5\"\nreason = \"approved scanner\"\n",
        );
        assert_eq!(s.map(|s| s.0.len()), Ok(1));
        // No reason, unknown key, key outside a table.
        assert!(Suppressions::parse("[[suppress]]\nkind = \"x\"\n").is_err());
        assert!(Suppressions::parse("[[suppress]]\nkindd = \"x\"\nreason = \"r\"\n").is_err());
        assert!(Suppressions::parse("kind = \"x\"\n").is_err());
    }
}
