//! Renders a checkpoint's own chat template (Jinja, from `tokenizer_config.json` or `chat_template.jinja`) with
//! minijinja, set up like `transformers.apply_chat_template`: trim/lstrip blocks, loop controls, Python string
//! methods, `tojson` as Python's `json.dumps`, `raise_exception`, `strftime_now` and the special tokens.
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, ErrorKind};

use super::pyjson::PyJson;
use super::tokenizer::{read_json, token_text};
use crate::{Error, Result};

const NAME: &str = "chat";

/// A compiled chat template plus the special tokens it may refer to (`bos_token`, `eos_token`, ...).
pub struct ChatTemplate {
    env: Environment<'static>,
    special_tokens: Vec<(String, String)>,
    /// What `strftime_now` reads: Unix seconds of the run's date, or [`WALL_CLOCK`] until one is set.
    clock: Arc<AtomicI64>,
}

/// `clock` value meaning "no date set: read the wall clock".
const WALL_CLOCK: i64 = i64::MIN;

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").field("special_tokens", &self.special_tokens).finish()
    }
}

impl ChatTemplate {
    /// The template of the checkpoint in `dir`: `chat_template.jinja` when present (newer `transformers` save it
    /// there), else `tokenizer_config.json`'s `chat_template` (a string, or a list of named templates: "default").
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let cfg_path = dir.join("tokenizer_config.json");
        let cfg = read_json(&cfg_path)?.unwrap_or(serde_json::Value::Null);
        let jinja = dir.join("chat_template.jinja");
        let source = if jinja.exists() {
            std::fs::read_to_string(&jinja).map_err(|e| Error::io(&jinja, e))?
        } else {
            match cfg.get("chat_template") {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Array(list)) => list
                    .iter()
                    .find(|t| t["name"] == "default")
                    .and_then(|t| t["template"].as_str())
                    .map(str::to_string)
                    .ok_or_else(|| Error::Template(format!("{}: no \"default\" chat template", cfg_path.display())))?,
                _ => return Err(Error::Template(format!("{}: no chat_template", cfg_path.display()))),
            }
        };
        let names = ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"];
        let special = names.iter().filter_map(|n| token_text(cfg.get(*n)).map(|t| (n.to_string(), t))).collect();
        Self::new(source, special)
    }

    /// Compiles `source`; `special_tokens` are (name, text) pairs put in the context, e.g. ("eos_token", "</s>").
    pub fn new(source: String, special_tokens: Vec<(String, String)>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_keep_trailing_newline(false);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_filter("tojson", tojson);
        env.add_function("raise_exception", raise_exception);
        let clock = Arc::new(AtomicI64::new(WALL_CLOCK));
        let now = clock.clone();
        env.add_function("strftime_now", move |format: String| strftime_now(&format, now.load(Ordering::Relaxed)));
        env.add_template_owned(NAME, source).map_err(|e| Error::Template(e.to_string()))?;
        Ok(ChatTemplate { env, special_tokens, clock })
    }

    /// Makes `strftime_now` in the template read `date` (`YYYY-MM-DD`, midnight UTC) instead of the wall clock,
    /// so a replayed run renders the same prompt on any day (Llama-3-style templates print today's date).
    pub fn set_date(&self, date: &str) -> Result<()> {
        let day = chrono::NaiveDate::parse_from_str(date.get(..10).unwrap_or(date), "%Y-%m-%d")
            .map_err(|_| Error::Template(format!("the run's date {date:?} is not YYYY-MM-DD")))?;
        let secs = day.and_hms_opt(0, 0, 0).map_or(0, |t| t.and_utc().timestamp());
        self.clock.store(secs, Ordering::Relaxed);
        Ok(())
    }

    /// `apply_chat_template(messages, tools=tools, add_generation_prompt=..., tokenize=False)`.
    /// Messages and tools are JSON objects as `transformers` takes them (role, content, tool_calls, ...).
    pub fn render(
        &self,
        messages: &[serde_json::Value],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
    ) -> Result<String> {
        self.render_with(messages, tools, add_generation_prompt, &serde_json::Map::new())
    }

    /// [`ChatTemplate::render`] with extra template variables, as `apply_chat_template(..., **kwargs)` passes
    /// them (e.g. Qwen3's `enable_thinking`).
    pub fn render_with(
        &self,
        messages: &[serde_json::Value],
        tools: Option<&[serde_json::Value]>,
        add_generation_prompt: bool,
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<String> {
        let mut ctx: Vec<(String, Value)> =
            self.special_tokens.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect();
        ctx.extend(extra.iter().map(|(k, v)| (k.clone(), Value::from_serialize(v))));
        ctx.extend([
            ("messages".into(), Value::from_serialize(messages)),
            ("tools".into(), tools.map_or(Value::from(()), Value::from_serialize)),
            ("add_generation_prompt".into(), Value::from(add_generation_prompt)),
        ]);
        let ctx: Value = ctx.into_iter().collect();
        let tmpl = self.env.get_template(NAME).map_err(|e| Error::Template(e.to_string()))?;
        tmpl.render(ctx).map_err(|e| Error::Template(describe(&e)))
    }
}

fn describe(e: &minijinja::Error) -> String {
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

/// `tojson` as `transformers` defines it: `json.dumps(x, ensure_ascii=False, indent=indent, sort_keys=...)`.
fn tojson(value: Value, kwargs: Kwargs) -> std::result::Result<Value, minijinja::Error> {
    let opts = PyJson {
        indent: kwargs.get::<Option<usize>>("indent")?,
        sort_keys: kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false),
        ensure_ascii: kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(&value)
        .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    Ok(Value::from(opts.dumps(&json)))
}

fn raise_exception(message: String) -> std::result::Result<Value, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, message))
}

/// `strftime_now(format)` in UTC for the `%d %b %Y`-style formats chat templates use: at `clock` (Unix
/// seconds), or the wall clock when it is [`WALL_CLOCK`].
fn strftime_now(format: &str, clock: i64) -> String {
    let secs = match clock {
        WALL_CLOCK => std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        fixed => fixed.max(0) as u64,
    };
    strftime(format, secs)
}

/// Formats Unix time `secs` (UTC) with `%d %m %Y %y %b %B %H %M %S %%`.
pub(crate) fn strftime(format: &str, secs: u64) -> String {
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('Y') => out.push_str(&year.to_string()),
            Some('y') => out.push_str(&format!("{:02}", year % 100)),
            Some('b') => out.push_str(&MONTHS[month as usize - 1][..3]),
            Some('B') => out.push_str(MONTHS[month as usize - 1]),
            Some('H') => out.push_str(&format!("{:02}", rem / 3600)),
            Some('M') => out.push_str(&format!("{:02}", rem / 60 % 60)),
            Some('S') => out.push_str(&format!("{:02}", rem % 60)),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_now_reads_the_runs_date_once_set() {
        let t = ChatTemplate::new("Today: {{ strftime_now('%d %b %Y') }}".into(), vec![]).unwrap();
        t.set_date("2026-01-01").unwrap();
        assert_eq!(t.render(&[], None, false).unwrap(), "Today: 01 Jan 2026");
        t.set_date("2024-07-26T10:00:00Z").unwrap();
        assert_eq!(t.render(&[], None, false).unwrap(), "Today: 26 Jul 2024");
        assert!(t.set_date("next week").unwrap_err().to_string().contains("YYYY-MM-DD"));
    }

    #[test]
    fn strftime_formats_dates() {
        assert_eq!(strftime("%d %b %Y", 1_721_952_000), "26 Jul 2024");
        assert_eq!(strftime("%Y-%m-%d %H:%M:%S %B", 951_827_696), "2000-02-29 12:34:56 February");
    }

    #[test]
    fn python_methods_loops_and_exceptions() {
        let src = "{% for m in messages %}{% if m.content.startswith('x') %}{% continue %}{% endif %}\
                   [{{ m.content.strip() }}|{{ m | tojson }}]{% endfor %}{{ eos_token }}"
            .to_string();
        let t = ChatTemplate::new(src, vec![("eos_token".into(), "</s>".into())]).unwrap();
        let msgs = [serde_json::json!({"role": "user", "content": " hi "}), serde_json::json!({"content": "xy"})];
        let out = t.render(&msgs, None, false).unwrap();
        assert_eq!(out, r#"[hi|{"role": "user", "content": " hi "}]</s>"#);
        let bad = ChatTemplate::new("{{ raise_exception('nope') }}".into(), vec![]).unwrap();
        assert!(bad.render(&[], None, true).unwrap_err().to_string().contains("nope"));
    }
}
