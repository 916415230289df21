//! Question files: JSONL (`question`, optional `id`, `answers`, `data_source`), plain text (one question per
//! line) and DeepResearcher / Search-R1 parquet files (`question` or `prompt`, gold answers in `golden_answers`,
//! `answers`, `answer` or `reward_model.ground_truth`). Used by the recorder, the trainer and eval. A gold string
//! holding several answers joined by DeepResearcher's `<|answer_split|>` is split into them wherever it is read.
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// One question with its gold answers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Question {
    /// From the file when given, else `line-N` / `row-N` (1-based).
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub answers: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_source: Option<String>,
    /// The entity asked about, when the file says (`subject`, or the first of the sim's `expert_queries`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// Reads a question file; the format follows the extension (`.parquet`, else JSONL-or-text line by line).
pub fn read_questions(path: &Path) -> Result<Vec<Question>> {
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet")) {
        return read_parquet(path);
    }
    let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(text)
        .map_err(|e| Error::bad_input(path.display().to_string(), format!("not UTF-8 text: {e}")))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fallback_id = format!("line-{}", n + 1);
        let q = if line.starts_with('{') {
            let value: Value = serde_json::from_str(line)
                .map_err(|e| Error::bad_input(format!("{}:{}", path.display(), n + 1), format!("invalid JSON: {e}")))?;
            from_object(&value, fallback_id)
                .map_err(|m| Error::bad_input(format!("{}:{}", path.display(), n + 1), m))?
        } else {
            Question {
                id: fallback_id,
                question: line.to_string(),
                answers: Vec::new(),
                data_source: None,
                subject: None,
            }
        };
        out.push(q);
    }
    Ok(out)
}

/// A question from one JSON object (a JSONL line or a parquet row).
fn from_object(v: &Value, fallback_id: String) -> std::result::Result<Question, String> {
    let question = ["question", "query", "q"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        .or_else(|| v.get("prompt").and_then(prompt_text))
        .map(|q| q.trim().to_string())
        .filter(|q| !q.is_empty())
        .ok_or("no `question` (or `query`, `prompt`) text field")?;
    let id = match v.get("id").or_else(|| v.pointer("/extra_info/index")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => fallback_id,
    };
    let answers =
        ["/answers", "/golden_answers", "/answer", "/reward_model/ground_truth/target", "/reward_model/ground_truth"]
            .iter()
            .find_map(|p| v.pointer(p).map(strings).filter(|a| !a.is_empty()))
            .unwrap_or_default();
    let data_source = v.get("data_source").and_then(Value::as_str).map(str::to_string);
    let subject =
        v.get("subject").or_else(|| v.pointer("/expert_queries/0")).and_then(Value::as_str).map(str::to_string);
    Ok(Question { id, question, answers, data_source, subject })
}

/// The text of a `prompt` column: a string, or the last user message of a chat list.
fn prompt_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(items) => items
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str).is_none_or(|r| r == "user"))
            .and_then(|m| m.get("content").and_then(Value::as_str).map(str::to_string)),
        _ => None,
    }
}

/// How DeepResearcher's data joins several gold answers in one string (its reward splits on it).
pub const ANSWER_SPLIT: &str = "<|answer_split|>";

/// The gold answers in one string: split on [`ANSWER_SPLIT`], each trimmed, empty pieces left out.
pub fn split_answers(s: &str) -> Vec<String> {
    s.split(ANSWER_SPLIT).map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect()
}

/// A string or a list of strings (numbers stringified; strings split on [`ANSWER_SPLIT`]); anything else gives
/// nothing.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => split_answers(s),
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.get("target").map(strings).unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A parquet question file. The `parquet` crate panics on some damaged files (a negative column length in the
/// footer, a page shorter than its header says), so the read is isolated: such a file is a clear error, not a crash.
fn read_parquet(path: &Path) -> Result<Vec<Question>> {
    quiet_parquet_panics();
    std::panic::catch_unwind(|| read_parquet_rows(path)).unwrap_or_else(|_| {
        let why = "not a readable parquet file: its metadata or pages are damaged";
        Err(Error::bad_input(path.display().to_string(), why))
    })
}

/// Installs (once) a panic hook that stays silent for panics raised inside the `parquet` crate, which
/// [`read_parquet`] catches, and defers to the previous hook for everything else.
fn quiet_parquet_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !info.location().is_some_and(|l| l.file().contains("/parquet-")) {
                previous(info);
            }
        }));
    });
}

fn read_parquet_rows(path: &Path) -> Result<Vec<Question>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let bad = |m: String| Error::bad_input(path.display().to_string(), m);
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let reader = SerializedFileReader::new(file).map_err(|e| bad(format!("not a readable parquet file: {e}")))?;
    let rows = reader.get_row_iter(None).map_err(|e| bad(format!("cannot read rows: {e}")))?;
    let mut out = Vec::new();
    for (n, row) in rows.enumerate() {
        let row = row.map_err(|e| bad(format!("row {}: {e}", n + 1)))?;
        let value = row.to_json_value();
        out.push(from_object(&value, format!("row-{}", n + 1)).map_err(|m| bad(format!("row {}: {m}", n + 1)))?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_and_text_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let body = "{\"question\":\"Who?\",\"id\":7,\"answers\":[\"Ada\",\"A. L.\"]}\n\nplain text question\n\
                    {\"prompt\":[{\"role\":\"system\",\"content\":\"s\"},{\"role\":\"user\",\"content\":\"Where?\"}],\
                    \"reward_model\":{\"ground_truth\":{\"target\":[\"Paris\"]}},\"data_source\":\"nq\"}\n";
        std::fs::write(&path, body).unwrap();
        let qs = read_questions(&path).unwrap();
        assert_eq!(qs.len(), 3);
        assert_eq!((qs[0].id.as_str(), qs[0].answers.len()), ("7", 2));
        assert_eq!((qs[1].id.as_str(), qs[1].question.as_str()), ("line-3", "plain text question"));
        assert_eq!((qs[2].question.as_str(), qs[2].answers[0].as_str()), ("Where?", "Paris"));
        assert_eq!(qs[2].data_source.as_deref(), Some("nq"));
    }

    #[test]
    fn deepresearcher_joined_answers_are_split() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        let body = "{\"question\":\"Who?\",\"reward_model\":{\"ground_truth\":\"Ada Lovelace<|answer_split|> Ada <|answer_split|>\"}}\n\
                    {\"question\":\"Where?\",\"answers\":[\"Paris<|answer_split|>Lutetia\",\"Paname\"]}\n";
        std::fs::write(&path, body).unwrap();
        let qs = read_questions(&path).unwrap();
        assert_eq!(qs[0].answers, ["Ada Lovelace", "Ada"]);
        assert_eq!(qs[1].answers, ["Paris", "Lutetia", "Paname"]);
    }

    #[test]
    fn bad_lines_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.jsonl");
        std::fs::write(&path, "ok question\n{\"question\": 3}\n").unwrap();
        let err = read_questions(&path).unwrap_err().to_string();
        assert!(err.contains("q.jsonl:2") && err.contains("question"), "{err}");
        std::fs::write(&path, "{broken\n").unwrap();
        assert!(read_questions(&path).unwrap_err().to_string().contains("invalid JSON"));
        let pq = dir.path().join("x.parquet");
        std::fs::write(&pq, b"not parquet").unwrap();
        assert!(read_questions(&pq).unwrap_err().to_string().contains("parquet"));
    }
}
