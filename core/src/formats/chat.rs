//! Chat templates: the Jinja template a model was tuned with (GGUF `tokenizer.chat_template`,
//! or `tokenizer_config.json`), rendered with minijinja. The scorer and the trainer both build a
//! record's context as `render(prompt, add_generation_prompt = true)` followed by the response
//! tokens, so the prompt/response boundary is where the trainer's loss starts.

use minijinja::{Environment, Error, ErrorKind, context};

use crate::pipeline::record::Message;

/// Why a template cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("chat template: {0}")]
pub struct ChatError(String);

/// A compiled chat template.
#[derive(Debug)]
pub struct ChatTemplate {
    env: Environment<'static>,
}

impl ChatTemplate {
    pub fn new(source: &str) -> Result<Self, ChatError> {
        let mut env = Environment::new();
        env.add_function("raise_exception", |message: String| -> Result<String, Error> {
            Err(Error::new(ErrorKind::InvalidOperation, message))
        });
        env.add_template_owned("chat", source.to_string())
            .map_err(|e| ChatError(e.to_string()))?;
        Ok(ChatTemplate { env })
    }

    /// The text of a conversation; with `add_generation_prompt`, ready for the assistant's turn.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String, ChatError> {
        let template = self.env.get_template("chat").map_err(|e| ChatError(e.to_string()))?;
        template
            .render(context! { messages => messages, add_generation_prompt => add_generation_prompt })
            .map_err(|e| ChatError(e.to_string()))
    }
}

/// The prompt text of a record when a model has no template: the messages' contents, one per
/// paragraph, then a blank line.
pub fn plain_prompt(messages: &[Message]) -> String {
    let mut text: String = messages.iter().map(|m| format!("{}\n\n", m.content)).collect();
    if text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    fn user(content: &str) -> Message {
        Message {
            role: "user".into(),
            content: content.into(),
        }
    }

    #[test]
    fn renders_chatml_with_the_generation_prompt() {
        let template = ChatTemplate::new(CHATML).unwrap();
        let text = template.render(&[user("Add two numbers.")], true).unwrap();
        assert_eq!(
            text,
            "<|im_start|>user\nAdd two numbers.<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn template_errors_are_reported() {
        assert!(ChatTemplate::new("{% for %}").is_err());
        let raising = ChatTemplate::new("{{ raise_exception('no system role') }}").unwrap();
        assert!(
            raising
                .render(&[], false)
                .unwrap_err()
                .to_string()
                .contains("no system role")
        );
        assert_eq!(plain_prompt(&[user("a"), user("b")]), "a\n\nb\n\n");
    }
}
