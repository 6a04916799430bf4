//! Instruction/response pairs and the JSON schemas people store them in.
//!
//! A record is parsed from one JSON value. The schema is detected per record (or forced), and
//! every field name can be overridden. A record that cannot be read becomes a [`RecordError`]
//! naming the problem; the caller keeps it in the reject report, never drops it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One chat message of the prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// An instruction/response pair: the prompt as chat messages, the response as one text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub id: String,
    pub prompt: Vec<Message>,
    pub response: String,
}

/// The schemas `select` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schema {
    /// `instruction`, optional `input`, `output`.
    Alpaca,
    /// `messages`: role/content list; the last assistant turn is the response.
    Messages,
    /// `prompt`, `completion`.
    PromptCompletion,
}

/// Field names of each schema; all overridable from the command line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Fields {
    pub id: String,
    pub instruction: String,
    pub input: String,
    pub output: String,
    pub messages: String,
    pub prompt: String,
    pub completion: String,
}

impl Default for Fields {
    fn default() -> Self {
        Fields {
            id: "id".into(),
            instruction: "instruction".into(),
            input: "input".into(),
            output: "output".into(),
            messages: "messages".into(),
            prompt: "prompt".into(),
            completion: "completion".into(),
        }
    }
}

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not valid JSON: {0}")]
    Json(String),
    #[error("not a JSON object")]
    NotAnObject,
    #[error("no known schema: expected `{0}`, `{1}`, or `{2}` with `{3}`")]
    UnknownSchema(String, String, String, String),
    #[error("field `{0}` is missing")]
    MissingField(String),
    #[error("field `{0}` must be a string")]
    NotAString(String),
    #[error("`{0}` has no assistant message to use as the response")]
    NoAssistantTurn(String),
}

impl RecordError {
    /// A short stable name for reports and the `status.reason` field.
    pub fn reason(&self) -> &'static str {
        match self {
            RecordError::Json(_) => "malformed_json",
            RecordError::NotAnObject => "not_an_object",
            RecordError::UnknownSchema(..) => "unknown_schema",
            RecordError::MissingField(_) => "missing_field",
            RecordError::NotAString(_) => "wrong_field_type",
            RecordError::NoAssistantTurn(_) => "no_response",
        }
    }
}

/// Parses one JSON line into a record. `fallback_id` (the line number, say) is used when the
/// record carries no id of its own; `schema` forces a schema instead of detecting one.
pub fn parse_record(
    line: &str,
    fallback_id: &str,
    fields: &Fields,
    schema: Option<Schema>,
) -> Result<Record, RecordError> {
    let value: Value = serde_json::from_str(line).map_err(|e| RecordError::Json(e.to_string()))?;
    let object = value.as_object().ok_or(RecordError::NotAnObject)?;
    let schema = match schema {
        Some(schema) => schema,
        None => detect_schema(object, fields)?,
    };
    let id = match object.get(&fields.id) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => fallback_id.to_string(),
    };
    let (prompt, response) = match schema {
        Schema::Alpaca => {
            let instruction = string_field(object, &fields.instruction)?;
            let input = optional_string_field(object, &fields.input)?;
            let content = match input {
                Some(input) if !input.is_empty() => format!("{instruction}\n\n{input}"),
                _ => instruction,
            };
            let response = string_field(object, &fields.output)?;
            (vec![user(content)], response)
        }
        Schema::PromptCompletion => {
            let prompt = string_field(object, &fields.prompt)?;
            (vec![user(prompt)], string_field(object, &fields.completion)?)
        }
        Schema::Messages => parse_messages(object, &fields.messages)?,
    };
    Ok(Record { id, prompt, response })
}

fn detect_schema(object: &Map<String, Value>, fields: &Fields) -> Result<Schema, RecordError> {
    if object.contains_key(&fields.messages) {
        Ok(Schema::Messages)
    } else if object.contains_key(&fields.instruction) {
        Ok(Schema::Alpaca)
    } else if object.contains_key(&fields.prompt) {
        Ok(Schema::PromptCompletion)
    } else {
        Err(RecordError::UnknownSchema(
            fields.instruction.clone(),
            fields.messages.clone(),
            fields.prompt.clone(),
            fields.completion.clone(),
        ))
    }
}

fn user(content: String) -> Message {
    Message {
        role: "user".into(),
        content,
    }
}

fn string_field(object: &Map<String, Value>, name: &str) -> Result<String, RecordError> {
    optional_string_field(object, name)?.ok_or_else(|| RecordError::MissingField(name.into()))
}

fn optional_string_field(object: &Map<String, Value>, name: &str) -> Result<Option<String>, RecordError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RecordError::NotAString(name.into())),
    }
}

fn parse_messages(object: &Map<String, Value>, name: &str) -> Result<(Vec<Message>, String), RecordError> {
    let list = object
        .get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| RecordError::MissingField(format!("{name} (a list)")))?;
    let mut messages = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let entry = entry
            .as_object()
            .ok_or_else(|| RecordError::NotAString(format!("{name}[{i}]")))?;
        messages.push(Message {
            role: string_field(entry, "role").map_err(|_| RecordError::MissingField(format!("{name}[{i}].role")))?,
            content: string_field(entry, "content")
                .map_err(|_| RecordError::MissingField(format!("{name}[{i}].content")))?,
        });
    }
    let last_assistant = messages
        .iter()
        .rposition(|m| m.role == "assistant")
        .ok_or_else(|| RecordError::NoAssistantTurn(name.into()))?;
    let response = messages[last_assistant].content.clone();
    messages.truncate(last_assistant);
    Ok((messages, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Record, RecordError> {
        parse_record(line, "7", &Fields::default(), None)
    }

    #[test]
    fn alpaca_joins_instruction_and_input() {
        let r = parse(r#"{"instruction":"Add.","input":"1 and 2","output":"3"}"#).unwrap();
        assert_eq!(r.id, "7");
        assert_eq!(r.prompt, vec![user("Add.\n\n1 and 2".into())]);
        assert_eq!(r.response, "3");
    }

    #[test]
    fn messages_use_the_last_assistant_turn() {
        let line = r#"{"id":3,"messages":[{"role":"system","content":"s"},{"role":"user","content":"u"},
            {"role":"assistant","content":"a1"},{"role":"user","content":"u2"},{"role":"assistant","content":"a2"}]}"#;
        let r = parse(line).unwrap();
        assert_eq!(r.id, "3");
        assert_eq!(r.response, "a2");
        assert_eq!(r.prompt.len(), 4);
    }

    #[test]
    fn prompt_completion_and_overridden_fields() {
        let fields = Fields {
            prompt: "q".into(),
            completion: "a".into(),
            ..Fields::default()
        };
        let r = parse_record(r#"{"q":"x","a":"y"}"#, "1", &fields, None).unwrap();
        assert_eq!(r.response, "y");
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(parse("{oops").unwrap_err().reason(), "malformed_json");
        assert_eq!(parse("[1]").unwrap_err(), RecordError::NotAnObject);
        assert_eq!(
            parse(r#"{"instruction":"x"}"#).unwrap_err(),
            RecordError::MissingField("output".into())
        );
        assert_eq!(
            parse(r#"{"instruction":"x","output":3}"#).unwrap_err().reason(),
            "wrong_field_type"
        );
        assert_eq!(parse(r#"{"text":"x"}"#).unwrap_err().reason(), "unknown_schema");
        let no_turn = parse(r#"{"messages":[{"role":"user","content":"u"}]}"#).unwrap_err();
        assert_eq!(no_turn.reason(), "no_response");
    }
}
