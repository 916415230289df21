//! The checkpoint's own chat template renders byte for byte what `transformers.apply_chat_template` gives
//! (system prompts, tools, tool calls, tool responses), and the tokenizer encodes it to the same ids.
use webtape::agent::generator::{ChatCodec, ChatMessage};
use webtape::model::chat::ChatTemplate;

use crate::common::{json, tiny, tiny_models};
use crate::model_forward::load;

/// The reference conversations rendered by `apply_chat_template` with `model`'s template ("qwen2" carries
/// Qwen2.5-7B-Instruct's, "qwen3" Qwen3's).
fn cases(model: &str) -> Vec<serde_json::Value> {
    let all = json(&tiny_models().join("chat.json")).as_array().unwrap().clone();
    all.into_iter().filter(|c| c["model"] == model).collect()
}

fn tools(case: &serde_json::Value) -> Vec<serde_json::Value> {
    case.get("tools").and_then(|t| t.as_array()).cloned().unwrap_or_default()
}

fn render_cases(model: &str, min_cases: usize) {
    let template = ChatTemplate::from_dir(&tiny(model)).unwrap();
    let cases = cases(model);
    assert!(cases.len() >= min_cases, "{model}: {} cases", cases.len());
    for case in &cases {
        let messages = case["messages"].as_array().unwrap();
        let tools = tools(case);
        let add = case["add_generation_prompt"].as_bool().unwrap();
        let extra = case.get("kwargs").and_then(|k| k.as_object()).cloned().unwrap_or_default();
        let got = template.render_with(messages, (!tools.is_empty()).then_some(&tools[..]), add, &extra).unwrap();
        assert_eq!(got, case["text"].as_str().unwrap(), "{model}");
    }
}

#[test]
fn qwen25_template_renders_exactly_like_transformers() {
    render_cases("qwen2", 5);
}

#[test]
fn qwen3_template_with_thinking_renders_exactly_like_transformers() {
    render_cases("qwen3", 3);
}

#[test]
fn typed_messages_render_and_tokenize_like_transformers() {
    let policy = load("qwen2");
    for case in cases("qwen2") {
        let messages: Vec<ChatMessage> = serde_json::from_value(case["messages"].clone()).unwrap();
        let text =
            policy.render_chat(&messages, &tools(&case), case["add_generation_prompt"].as_bool().unwrap()).unwrap();
        assert_eq!(text, case["text"].as_str().unwrap());
        let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(policy.encode(&text).unwrap(), ids, "token ids of {text:?}");
        assert_eq!(policy.decode(&ids).unwrap(), text);
    }
    let im_end = policy.tokenizer().token_id("<|im_end|>").unwrap();
    assert!(policy.eos_token_ids().contains(&im_end));
}

#[test]
fn a_broken_template_is_a_clear_error() {
    let err = ChatTemplate::new("{% for m in messages %}".into(), vec![]).unwrap_err().to_string();
    assert!(err.starts_with("chat template:"), "{err}");
}
