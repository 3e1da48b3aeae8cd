//! The configurable cleaning rules.

use serde::{Deserialize, Serialize};

/// Which structurally valid lines the cleaner keeps. See the crate docs for the
/// reasoning behind each default.
///
/// Deserialises from JSON with every field optional (missing fields take the default):
/// `{"keep_cancellations":false}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleaningRules {
    /// Keep lines of `C`-prefixed (cancellation) invoices. Default `true`: they are
    /// real, typed events (flagged by `IsCancellation`) that net revenue depends on.
    /// When `false` they are rejected as `cancellation`.
    pub keep_cancellations: bool,
    /// Keep lines with no CustomerID. Default `true`: about a quarter of all sales have
    /// none, and they still belong in the invoices table (they are only left out of the
    /// customers table). When `false` they are rejected as `missing_customer_id`.
    pub keep_missing_customer: bool,
    /// Keep lines whose StockCode is not a product (postage, fees, discounts, manual
    /// corrections, bad-debt adjustments, gift vouchers, samples...). Default `false`:
    /// they are not goods and distort product figures. When `false` they are rejected
    /// as `non_product_code`. See [`crate::is_product_code`].
    pub keep_non_product_codes: bool,
    /// Reject a line equal, field for field after typing, to a line already accepted
    /// in the same batch. Default `true`. Rejected as `duplicate`.
    pub drop_duplicates: bool,
}

impl Default for CleaningRules {
    fn default() -> Self {
        CleaningRules {
            keep_cancellations: true,
            keep_missing_customer: true,
            keep_non_product_codes: false,
            drop_duplicates: true,
        }
    }
}

/// The environment variable names read by [`CleaningRules::from_lookup`].
pub const RULE_ENV_VARS: [&str; 4] = [
    "KEEP_CANCELLATIONS",
    "KEEP_MISSING_CUSTOMER",
    "KEEP_NON_PRODUCT_CODES",
    "DROP_DUPLICATES",
];

impl CleaningRules {
    /// Reads rules from `KEEP_CANCELLATIONS`, `KEEP_MISSING_CUSTOMER`,
    /// `KEEP_NON_PRODUCT_CODES` and `DROP_DUPLICATES` through `lookup` (for instance
    /// `|k| std::env::var(k).ok()`). Unset or empty variables keep the default;
    /// `true/false`, `1/0`, `yes/no` and `on/off` are accepted (case-insensitive).
    pub fn from_lookup<F>(lookup: F) -> Result<Self, String>
    where
        F: Fn(&str) -> Option<String>,
    {
        let mut rules = CleaningRules::default();
        let fields: [&mut bool; 4] = [
            &mut rules.keep_cancellations,
            &mut rules.keep_missing_customer,
            &mut rules.keep_non_product_codes,
            &mut rules.drop_duplicates,
        ];
        for (name, field) in RULE_ENV_VARS.iter().zip(fields) {
            let Some(v) = lookup(name) else { continue };
            let v = v.trim().to_ascii_lowercase();
            *field = match v.as_str() {
                "" => continue,
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(format!("{name} must be true or false, not {v:?}")),
            };
        }
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_partial_json() {
        let r: CleaningRules = serde_json::from_str("{}").unwrap();
        assert_eq!(r, CleaningRules::default());
        let r: CleaningRules = serde_json::from_str(r#"{"keep_cancellations":false}"#).unwrap();
        assert!(!r.keep_cancellations && r.keep_missing_customer && r.drop_duplicates);
        assert!(serde_json::from_str::<CleaningRules>(r#"{"nope":1}"#).is_err());
        let back: CleaningRules =
            serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn from_env_lookup() {
        let r = CleaningRules::from_lookup(|k| match k {
            "KEEP_CANCELLATIONS" => Some("No".into()),
            "KEEP_NON_PRODUCT_CODES" => Some("1".into()),
            "DROP_DUPLICATES" => Some(String::new()),
            _ => None,
        })
        .unwrap();
        assert!(!r.keep_cancellations);
        assert!(r.keep_non_product_codes);
        assert!(r.drop_duplicates);
        assert!(CleaningRules::from_lookup(|_| Some("maybe".into())).is_err());
    }
}
