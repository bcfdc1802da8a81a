//! The storage price table of the cost estimate: `cost/prices.yaml`, built in, with any
//! price or setting replaced under `cost:` in s3audit.yml.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const DEFAULT_PRICES: &str = include_str!("../cost/prices.yaml");

/// The price table.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Prices {
    pub currency: String,
    /// Price per GB-month by storage class.
    pub storage_per_gb_month: BTreeMap<String, f64>,
    pub intelligent_tiering_monitoring_per_1000_objects: f64,
    pub recommended_storage_class: String,
}

/// `cost:` in s3audit.yml: any price or setting of `cost/prices.yaml` to replace.
#[derive(Deserialize, Serialize, JsonSchema, Debug, Clone, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CostConfig {
    #[serde(default)]
    pub currency: Option<String>,
    /// Prices per GB-month by storage class (`STANDARD`, `STANDARD_IA`, `GLACIER`, ...).
    #[serde(default)]
    pub storage_per_gb_month: BTreeMap<String, f64>,
    #[serde(default)]
    pub intelligent_tiering_monitoring_per_1000_objects: Option<f64>,
    /// The class the estimate moves S3 Standard bytes to (default `STANDARD_IA`).
    #[serde(default)]
    pub recommended_storage_class: Option<String>,
}

impl CostConfig {
    /// The default table with this configuration's overrides.
    pub fn prices(&self) -> Prices {
        let mut prices: Prices = crate::text::from_yaml(DEFAULT_PRICES)
            .expect("cost/prices.yaml is valid (a unit test reads it)");
        if let Some(currency) = &self.currency {
            prices.currency.clone_from(currency);
        }
        prices.storage_per_gb_month.extend(
            self.storage_per_gb_month
                .iter()
                .map(|(k, v)| (k.clone(), *v)),
        );
        if let Some(fee) = self.intelligent_tiering_monitoring_per_1000_objects {
            prices.intelligent_tiering_monitoring_per_1000_objects = fee;
        }
        if let Some(class) = &self.recommended_storage_class {
            prices.recommended_storage_class.clone_from(class);
        }
        prices
    }

    /// An override naming a class the table does not price, or a negative price.
    pub fn validate(&self) -> Result<(), String> {
        let known = self.prices_without_overrides();
        for (class, price) in &self.storage_per_gb_month {
            if !known.storage_per_gb_month.contains_key(class) {
                return Err(format!(
                    "cost.storage_per_gb_month: unknown storage class `{class}` (known: {})",
                    known
                        .storage_per_gb_month
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if !price.is_finite() || *price < 0.0 {
                return Err(format!(
                    "cost.storage_per_gb_month.{class}: {price} is not a price"
                ));
            }
        }
        if let Some(class) = &self.recommended_storage_class
            && !known.storage_per_gb_month.contains_key(class)
        {
            return Err(format!(
                "cost.recommended_storage_class: unknown storage class `{class}`"
            ));
        }
        Ok(())
    }

    fn prices_without_overrides(&self) -> Prices {
        CostConfig::default().prices()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_price_table_reads_and_overrides_replace_single_prices() {
        let defaults = CostConfig::default().prices();
        assert_eq!(defaults.storage_per_gb_month["STANDARD"], 0.023);
        assert_eq!(defaults.storage_per_gb_month["DEEP_ARCHIVE"], 0.00099);
        assert_eq!(defaults.recommended_storage_class, "STANDARD_IA");
        let config = CostConfig {
            storage_per_gb_month: BTreeMap::from([("STANDARD".into(), 0.0245)]),
            recommended_storage_class: Some("GLACIER_IR".into()),
            ..CostConfig::default()
        };
        assert_eq!(config.validate(), Ok(()));
        let prices = config.prices();
        assert_eq!(prices.storage_per_gb_month["STANDARD"], 0.0245);
        assert_eq!(prices.storage_per_gb_month["STANDARD_IA"], 0.0125);
        assert_eq!(prices.recommended_storage_class, "GLACIER_IR");
        let wrong = CostConfig {
            storage_per_gb_month: BTreeMap::from([("STANDART".into(), 0.02)]),
            ..CostConfig::default()
        };
        assert!(wrong.validate().unwrap_err().contains("STANDART"));
    }
}
