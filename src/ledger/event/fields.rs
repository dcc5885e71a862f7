//! The typed values events hold that are more than a string or a number: the step an event
//! is about, a dependency, a changed field, recorded tokens, and untyped JSON details.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::bead::DepKind;
use crate::step::checkpoint::State;

/// The step an event is about: in every `step.*`, `harness.*` and `gate.*` event. `state`
/// is there when the event is a transition of the step (see `step::checkpoint::transition`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepAt {
    #[serde(default)]
    pub step: String,
    #[serde(default)]
    pub bead: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
}

impl StepAt {
    pub fn new(step: &str, bead: &str) -> StepAt {
        StepAt {
            step: step.to_owned(),
            bead: bead.to_owned(),
            state: None,
        }
    }
}

/// A dependency as `bead.created` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DepRef {
    #[serde(default)]
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<DepKind>,
}

/// One field `bead.updated` changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub old: Value,
    #[serde(default)]
    pub new: Value,
}

/// Tokens as a harness run or a plan recorded them. A count missing is 0; `reported`
/// missing means "some count is not 0" (see `cost::RunUsage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedTokens {
    #[serde(default)]
    pub input: u64,
    #[serde(default)]
    pub output: u64,
    #[serde(default)]
    pub cache_read: u64,
    #[serde(default)]
    pub cache_write: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<bool>,
}

impl From<crate::harness::adapter::Tokens> for RecordedTokens {
    fn from(t: crate::harness::adapter::Tokens) -> Self {
        RecordedTokens {
            input: t.input,
            output: t.output,
            cache_read: t.cache_read,
            cache_write: t.cache_write,
            reported: Some(t.reported),
        }
    }
}

/// Any value as JSON, for the nested details events keep untyped.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Value {
    serde_json::to_value(value).expect("event details always serialise")
}
