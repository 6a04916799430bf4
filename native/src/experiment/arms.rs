//! What `codeblock experiment` trains: arms (a training mode on one selection of the data),
//! the settings its sweep tries, and the runs (an arm at a setting with a seed).

use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;
use serde::Serialize;

use crate::train::ModeArg;

/// A training mode on one selection of the training data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arm {
    /// Every response token of the kept pairs.
    Full,
    /// The mask `select` wrote (the method).
    Codeblock,
    /// As many tokens per record as the mask has, uniformly at random.
    Random,
    /// Random whole coding items up to the mask's token count.
    RandomItems,
    /// Token Cleaning at the mask's budget, by the reference model's excess loss.
    TokenCleaning,
    /// The method with data flow off (`--lambda-reach 0 --lambda-bridge 0`).
    CodeblockNoDataflow,
    /// Every response token of as many pairs as the pair stage keeps, drawn at random from the
    /// whole pool: the same budget without the pair stage.
    FullPool,
}

impl Arm {
    pub fn mode(self) -> ModeArg {
        match self {
            Arm::Full | Arm::FullPool => ModeArg::Full,
            Arm::Codeblock | Arm::CodeblockNoDataflow => ModeArg::Codeblock,
            Arm::Random => ModeArg::Random,
            Arm::RandomItems => ModeArg::RandomItems,
            Arm::TokenCleaning => ModeArg::TokenCleaning,
        }
    }

    pub fn selection(self) -> Selection {
        match self {
            Arm::CodeblockNoDataflow => Selection::NoDataflow,
            Arm::FullPool => Selection::Pool,
            _ => Selection::Kept,
        }
    }

    /// The arm whose sweep chooses this one's setting: `full` for the arms that supervise every
    /// token, `codeblock` for the sparse ones (they share its supervision density).
    pub fn tuned_by(self) -> Arm {
        match self.mode() {
            ModeArg::Full => Arm::Full,
            _ => Arm::Codeblock,
        }
    }

    pub fn name(self) -> String {
        super::value_name(self)
    }
}

/// Which `select` output an arm trains on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Selection {
    /// The kept pairs (all the training pairs without the pair stage).
    Kept,
    /// The kept pairs, selected without data flow.
    NoDataflow,
    /// The random draw from the whole pool.
    Pool,
}

impl Selection {
    pub fn file(self) -> &'static str {
        match self {
            Selection::Kept => "selected.jsonl",
            Selection::NoDataflow => "selected-no-dataflow.jsonl",
            Selection::Pool => "selected-pool.jsonl",
        }
    }

    /// `select`'s flags beyond the defaults.
    pub fn select_flags(self) -> &'static [&'static str] {
        match self {
            Selection::NoDataflow => &["--lambda-reach", "0", "--lambda-bridge", "0"],
            Selection::Kept | Selection::Pool => &[],
        }
    }
}

/// A training setting: the learning rate, with every weight trained or LoRA adapters of a rank.
/// Written `1e-4` (full fine-tuning) or `lora16:1e-3`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub lr: f64,
    pub lora_rank: usize,
}

impl FromStr for Point {
    type Err = String;

    fn from_str(text: &str) -> Result<Point, String> {
        let (lora_rank, lr) = match text.split_once(':') {
            Some((lora, lr)) => {
                let rank = lora
                    .strip_prefix("lora")
                    .and_then(|r| r.parse().ok())
                    .filter(|&r: &usize| r > 0)
                    .ok_or_else(|| format!("`{lora}`: expected loraN with a rank N > 0"))?;
                (rank, lr)
            }
            None => (0, text),
        };
        let lr: f64 = lr.parse().map_err(|_| format!("`{lr}`: expected a learning rate"))?;
        if !(lr > 0.0 && lr.is_finite()) {
            return Err(format!("learning rate {lr}: expected a positive number"));
        }
        Ok(Point { lr, lora_rank })
    }
}

/// The setting as a folder-name part: `lr1e-4`, `lora16-lr1e-3`.
impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lora_rank > 0 {
            write!(f, "lora{}-", self.lora_rank)?;
        }
        write!(f, "lr{:e}", self.lr)
    }
}

/// One trained model: an arm at a setting with a training seed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Run {
    pub arm: Arm,
    pub point: Point,
    pub seed: u64,
}

impl Run {
    /// Its folders' name part, e.g. `codeblock-lr1e-4-seed0`.
    pub fn name(&self) -> String {
        format!("{}-{}-seed{}", self.arm.name(), self.point, self.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_and_name_folders() {
        let full: Point = "1e-4".parse().unwrap();
        assert_eq!(full, Point { lr: 1e-4, lora_rank: 0 });
        assert_eq!(full.to_string(), "lr1e-4");
        let lora: Point = "lora16:0.001".parse().unwrap();
        assert_eq!(lora.to_string(), "lora16-lr1e-3");
        for bad in ["", "fast", "lora:1e-3", "lora0:1e-3", "-1e-4", "lora8:x"] {
            assert!(bad.parse::<Point>().is_err(), "{bad}");
        }
        let run = Run {
            arm: Arm::CodeblockNoDataflow,
            point: full,
            seed: 2,
        };
        assert_eq!(run.name(), "codeblock-no-dataflow-lr1e-4-seed2");
        assert_eq!(Arm::RandomItems.tuned_by(), Arm::Codeblock);
        assert_eq!(Arm::FullPool.tuned_by(), Arm::Full);
    }
}
