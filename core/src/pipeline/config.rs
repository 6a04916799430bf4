//! Every knob of the pipeline in one struct, as `--config file.json` and the shells' options
//! carry them; each stage's knobs are its own module's.

use serde::{Deserialize, Serialize};

use crate::pipeline::dataflow::DataflowConfig;
use crate::pipeline::partition::PartitionConfig;
use crate::pipeline::score::ScoreConfig;
use crate::pipeline::select::SelectConfig;

/// Every knob of the pipeline, with the defaults of METHOD.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub partition: PartitionConfig,
    pub score: ScoreConfig,
    pub dataflow: DataflowConfig,
    pub select: SelectConfig,
    /// Longer responses are rejected (`response_too_large`).
    pub max_response_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            partition: PartitionConfig::default(),
            score: ScoreConfig::default(),
            dataflow: DataflowConfig::default(),
            select: SelectConfig::default(),
            max_response_bytes: 1 << 20,
        }
    }
}

impl Config {
    /// Checks the knobs that have a valid range, naming the first that is out of it.
    pub fn check(&self) -> Result<(), ConfigError> {
        let fractions = [
            ("select.budget", self.select.budget),
            ("select.prose_share", self.select.prose_share),
            ("score.q", self.score.q),
            ("dataflow.gate_quantile", self.dataflow.gate_quantile),
        ];
        for (name, value) in fractions {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError { name, value });
            }
        }
        Ok(())
    }
}

/// A knob outside its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{name} must be between 0 and 1, got {value}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: f64,
}
