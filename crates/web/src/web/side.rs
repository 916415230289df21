//! What search providers return beside the organic results: answer boxes, knowledge panels, related questions
//! and searches, kept in Serper's shape (`answerBox`, `knowledgeGraph`, `peopleAlsoAsk`, `relatedSearches`) so
//! the Serper-shaped `/search` returns them whichever provider recorded; and a provider's partial failures
//! (SearXNG engines that did not answer).
use serde_json::{json, Map, Value};

/// The side data of one provider answer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Side {
    /// Serper-shaped keys (see the module doc); empty when the provider returned none.
    pub extras: Map<String, Value>,
    /// The answer came, but some of its sources failed (e.g. SearXNG's `unresponsive_engines`).
    pub partial: Option<String>,
}

/// The keys a capture's side data may hold, in Serper's names.
pub const KEYS: [&str; 4] = ["answerBox", "knowledgeGraph", "peopleAlsoAsk", "relatedSearches"];

fn present(v: Option<&Value>) -> Option<&Value> {
    v.filter(|x| match x {
        Value::Null => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    })
}

/// A list of query strings as Serper's `relatedSearches` (`[{"query"}]`), when it has any.
fn related(extras: &mut Map<String, Value>, list: Option<&Value>) {
    let queries: Vec<Value> = match present(list) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(|q| json!({ "query": q })).collect(),
        _ => Vec::new(),
    };
    if !queries.is_empty() {
        extras.insert("relatedSearches".into(), Value::Array(queries));
    }
}

/// Serper: its own keys, verbatim.
pub fn serper(v: &Value) -> Side {
    let extras = KEYS.iter().filter_map(|k| present(v.get(*k)).map(|x| (k.to_string(), x.clone()))).collect();
    Side { extras, partial: None }
}

/// Tavily: `answer` (sent when the request asked for one) becomes `answerBox.answer`; `follow_up_questions`
/// become `relatedSearches`.
pub fn tavily(v: &Value) -> Side {
    let mut extras = Map::new();
    if let Some(answer) = present(v.get("answer")).and_then(Value::as_str) {
        extras.insert("answerBox".into(), json!({ "answer": answer }));
    }
    related(&mut extras, v.get("follow_up_questions"));
    Side { extras, partial: None }
}

/// SearXNG: the first of `answers` (strings in older instances, `{answer, url}` objects in newer ones) becomes
/// `answerBox`, the first of `infoboxes` `knowledgeGraph`, `suggestions` `relatedSearches`; a non-empty
/// `unresponsive_engines` (`[[engine, reason], ..]`) is a partial failure. Its text is HTML.
pub fn searxng(v: &Value, text: impl Fn(&str) -> String) -> Side {
    let mut extras = Map::new();
    let first_answer = present(v.get("answers")).and_then(Value::as_array).and_then(|a| a.first());
    match first_answer {
        Some(Value::String(a)) => {
            extras.insert("answerBox".into(), json!({ "answer": text(a) }));
        }
        Some(Value::Object(a)) => {
            let mut answer = json!({ "answer": text(a.get("answer").and_then(Value::as_str).unwrap_or("")) });
            if let Some(url) = a.get("url").and_then(Value::as_str) {
                answer["link"] = json!(url);
            }
            extras.insert("answerBox".into(), answer);
        }
        _ => {}
    }
    if let Some(Value::Object(ib)) = present(v.get("infoboxes")).and_then(Value::as_array).and_then(|a| a.first()) {
        extras.insert("knowledgeGraph".into(), infobox(ib, &text));
    }
    related(&mut extras, v.get("suggestions"));
    Side { extras, partial: unresponsive(v) }
}

/// A SearXNG infobox as a Serper knowledge graph: `title`, `description`, `descriptionLink`, `imageUrl`,
/// `attributes` (label → value).
fn infobox(ib: &Map<String, Value>, text: &impl Fn(&str) -> String) -> Value {
    let s = |k: &str| ib.get(k).and_then(Value::as_str);
    let mut kg = json!({ "title": text(s("infobox").unwrap_or("")) });
    if let Some(c) = s("content") {
        kg["description"] = json!(text(c));
    }
    let link = s("id")
        .filter(|id| id.starts_with("http"))
        .map(str::to_string)
        .or_else(|| ib.get("urls")?.as_array()?.first()?.get("url")?.as_str().map(str::to_string));
    if let Some(link) = link {
        kg["descriptionLink"] = json!(link);
    }
    if let Some(img) = s("img_src") {
        kg["imageUrl"] = json!(img);
    }
    let attributes: Map<String, Value> = ib
        .get("attributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|a| {
            let label = a.get("label")?.as_str()?;
            let value = match a.get("value")? {
                Value::String(s) => text(s),
                other => other.to_string(),
            };
            Some((text(label), json!(value)))
        })
        .collect();
    if !attributes.is_empty() {
        kg["attributes"] = Value::Object(attributes);
    }
    kg
}

/// `unresponsive_engines: [["google", "timeout"], ..]` as "2 of its engines did not answer: google (timeout), ..".
fn unresponsive(v: &Value) -> Option<String> {
    let list = present(v.get("unresponsive_engines"))?.as_array()?;
    let named: Vec<String> = list
        .iter()
        .map(|e| match e {
            Value::Array(pair) => {
                let name = pair.first().and_then(Value::as_str).unwrap_or("?");
                match pair.get(1).and_then(Value::as_str) {
                    Some(reason) if !reason.is_empty() => format!("{name} ({reason})"),
                    _ => name.to_string(),
                }
            }
            Value::String(name) => name.clone(),
            other => other.to_string(),
        })
        .collect();
    Some(format!("{} engine(s) did not answer: {}", named.len(), named.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serper_keeps_its_side_keys_verbatim_and_drops_empty_ones() {
        let v = json!({
            "organic": [],
            "answerBox": {"title": "Everest", "answer": "8,849 m", "link": "https://a.example/"},
            "knowledgeGraph": {"title": "Mount Everest", "attributes": {"Elevation": "8,849 m"}},
            "peopleAlsoAsk": [{"question": "How tall?", "snippet": "8,849 m", "link": "https://b.example/"}],
            "relatedSearches": [],
            "credits": 1
        });
        let side = serper(&v);
        assert_eq!(side.extras.keys().collect::<Vec<_>>(), ["answerBox", "knowledgeGraph", "peopleAlsoAsk"]);
        assert_eq!(side.extras["knowledgeGraph"]["attributes"]["Elevation"], "8,849 m");
        assert_eq!(side.partial, None);
        assert!(serper(&json!({"organic": []})).extras.is_empty());
    }

    #[test]
    fn tavily_answer_and_follow_ups_take_serper_names() {
        let v = json!({"answer": "Paris.", "follow_up_questions": ["Population of Paris?"], "results": []});
        let side = tavily(&v);
        assert_eq!(side.extras["answerBox"], json!({"answer": "Paris."}));
        assert_eq!(side.extras["relatedSearches"], json!([{"query": "Population of Paris?"}]));
        assert!(tavily(&json!({"answer": null, "follow_up_questions": null})).extras.is_empty());
    }

    #[test]
    fn searxng_answers_infoboxes_suggestions_and_unresponsive_engines() {
        let strip = |s: &str| s.replace("<b>", "").replace("</b>", "");
        let v = json!({
            "answers": [{"answer": "<b>42</b>", "url": "https://calc.example/", "engine": "calc"}],
            "infoboxes": [{"infobox": "Paris", "id": "https://en.wikipedia.org/wiki/Paris", "content": "Capital of <b>France</b>",
                           "attributes": [{"label": "Population", "value": "2,102,650"}, {"label": "Area", "value": 105}]}],
            "suggestions": ["paris france"],
            "unresponsive_engines": [["google", "timeout"], ["brave", ""]]
        });
        let side = searxng(&v, strip);
        assert_eq!(side.extras["answerBox"], json!({"answer": "42", "link": "https://calc.example/"}));
        let kg = &side.extras["knowledgeGraph"];
        assert_eq!((kg["title"].as_str(), kg["description"].as_str()), (Some("Paris"), Some("Capital of France")));
        assert_eq!(kg["descriptionLink"], "https://en.wikipedia.org/wiki/Paris");
        assert_eq!(kg["attributes"], json!({"Population": "2,102,650", "Area": "105"}));
        assert_eq!(side.extras["relatedSearches"], json!([{"query": "paris france"}]));
        assert_eq!(side.partial.as_deref(), Some("2 engine(s) did not answer: google (timeout), brave"));
        let old = searxng(&json!({"answers": ["an old-style answer"], "unresponsive_engines": []}), |s| s.into());
        assert_eq!(old.extras["answerBox"], json!({"answer": "an old-style answer"}));
        assert_eq!(old.partial, None);
    }
}
