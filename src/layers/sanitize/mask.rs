//! How a finding is replaced: a label, a partial mask, or a keyed hash.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, RandomState};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::kind::Kind;

/// How to mask one kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskStyle {
    /// `[REDACTED:EMAIL]` (the default).
    #[default]
    Label,
    /// Keep the last four letters or digits: `[REDACTED:CREDIT_CARD:…1111]`. Values shorter
    /// than eight characters get the plain label.
    Partial,
    /// A keyed hash: `[EMAIL:3f9a1c2b77e0d4a1]`. The same value always gives the same token
    /// (under the same key), so equal values can be correlated without being revealed.
    Hash,
}

/// Renders masks.
#[derive(Clone)]
pub(crate) struct Masker {
    styles: BTreeMap<String, MaskStyle>,
    key: Hmac<Sha256>,
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker")
            .field("styles", &self.styles)
            .finish()
    }
}

impl Masker {
    /// `key: None` draws a random key for this process: tokens then correlate within the
    /// process only.
    pub(crate) fn new(styles: BTreeMap<String, MaskStyle>, key: Option<&[u8]>) -> Self {
        let random;
        let key = match key {
            Some(k) => k,
            None => {
                let state = RandomState::new();
                random = (0u64..4)
                    .flat_map(|i| state.hash_one(i).to_le_bytes())
                    .collect::<Vec<u8>>();
                &random
            }
        };
        let key = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| {
            // HMAC accepts keys of any length; this branch cannot be taken.
            Hmac::<Sha256>::new_from_slice(b"agent-airlock").expect("fixed key")
        });
        Self { styles, key }
    }

    pub(crate) fn style(&self, kind: &Kind) -> MaskStyle {
        self.styles.get(kind.name()).copied().unwrap_or_default()
    }

    pub(crate) fn mask(&self, kind: &Kind, value: &str) -> String {
        let style = self.style(kind);
        let label = kind.label();
        match style {
            MaskStyle::Label => format!("[REDACTED:{label}]"),
            MaskStyle::Partial => {
                let kept: Vec<char> = value.chars().filter(char::is_ascii_alphanumeric).collect();
                if kept.len() < 8 {
                    return format!("[REDACTED:{label}]");
                }
                let last: String = kept[kept.len() - 4..].iter().collect();
                format!("[REDACTED:{label}:…{last}]")
            }
            MaskStyle::Hash => {
                let mut mac = self.key.clone();
                mac.update(kind.name().as_bytes());
                mac.update(b"\0");
                mac.update(value.as_bytes());
                let digest = mac.finalize().into_bytes();
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                format!("[{label}:{hex}]")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles() {
        let styles = [
            ("credit_card".to_owned(), MaskStyle::Partial),
            ("email".to_owned(), MaskStyle::Hash),
        ]
        .into();
        let m = Masker::new(styles, Some(b"k"));
        assert_eq!(m.mask(&Kind::Ssn, "123-45-6789"), "[REDACTED:SSN]");
        assert_eq!(
            m.mask(&Kind::CreditCard, "4111 1111 1111 1111"),
            "[REDACTED:CREDIT_CARD:…1111]"
        );
        let a = m.mask(&Kind::Email, "a@example.com");
        assert_eq!(a, m.mask(&Kind::Email, "a@example.com"));
        assert_ne!(a, m.mask(&Kind::Email, "b@example.com"));
        assert!(!a.contains("example"));
        let other_key = Masker::new(
            [("email".to_owned(), MaskStyle::Hash)].into(),
            Some(b"other"),
        );
        assert_ne!(a, other_key.mask(&Kind::Email, "a@example.com"));
    }
}
