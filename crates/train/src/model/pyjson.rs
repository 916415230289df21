//! JSON text exactly as Python's `json.dumps` writes it (what `transformers` chat templates get from `tojson`):
//! `", "` and `": "` separators, keys in insertion order, non-ASCII kept, Python's float spelling.
use serde_json::Value;

/// Options of `json.dumps` that chat templates use.
#[derive(Debug, Clone, Copy, Default)]
pub struct PyJson {
    /// `indent=N`: pretty-print with N spaces (items then separated by `","`).
    pub indent: Option<usize>,
    /// `sort_keys=True`.
    pub sort_keys: bool,
    /// `ensure_ascii=True`: escape every non-ASCII character as `\uXXXX`.
    pub ensure_ascii: bool,
}

impl PyJson {
    /// `json.dumps(value, ...)`.
    pub fn dumps(&self, value: &Value) -> String {
        let mut out = String::new();
        self.write(value, 0, &mut out);
        out
    }

    fn write(&self, value: &Value, level: usize, out: &mut String) {
        match value {
            Value::Null => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => out.push_str(&i.to_string()),
                (_, Some(u), _) => out.push_str(&u.to_string()),
                (_, _, Some(f)) => out.push_str(&py_float(f)),
                _ => out.push_str(&n.to_string()),
            },
            Value::String(s) => self.string(s, out),
            Value::Array(items) => {
                let items: Vec<&Value> = items.iter().collect();
                self.container(('[', ']'), items.len(), level, out, |i, out| self.write(items[i], level + 1, out));
            }
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                if self.sort_keys {
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                }
                self.container(('{', '}'), entries.len(), level, out, |i, out| {
                    self.string(entries[i].0, out);
                    out.push_str(": ");
                    self.write(entries[i].1, level + 1, out);
                });
            }
        }
    }

    fn container(
        &self,
        (open, close): (char, char),
        len: usize,
        level: usize,
        out: &mut String,
        mut item: impl FnMut(usize, &mut String),
    ) {
        out.push(open);
        if len == 0 {
            out.push(close);
            return;
        }
        let (sep, pad) = match self.indent {
            Some(n) => (",", Some(n)),
            None => (", ", None),
        };
        for i in 0..len {
            if i > 0 {
                out.push_str(sep);
            }
            if let Some(n) = pad {
                out.push('\n');
                out.push_str(&" ".repeat(n * (level + 1)));
            }
            item(i, out);
        }
        if let Some(n) = pad {
            out.push('\n');
            out.push_str(&" ".repeat(n * level));
        }
        out.push(close);
    }

    fn string(&self, s: &str, out: &mut String) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if self.ensure_ascii && !c.is_ascii() => {
                    let mut units = [0u16; 2];
                    for u in c.encode_utf16(&mut units) {
                        out.push_str(&format!("\\u{u:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Python's `repr(float)`: shortest round-trip digits, positional for exponents -4..16, else `1e-05` style.
pub fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sci = format!("{f:e}"); // shortest digits, e.g. "-1.25e-7"
    let (mantissa, exp) = sci.split_once('e').expect("LowerExp has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat((-point) as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        format!("{sign}{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_are_spelled_like_python() {
        let cases = [
            (1.0, "1.0"),
            (0.25, "0.25"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (123.456, "123.456"),
            (-2.5e-7, "-2.5e-07"),
            (1234567890123456.0, "1234567890123456.0"),
            (0.0, "0.0"),
        ];
        for (f, want) in cases {
            assert_eq!(py_float(f), want, "{f}");
        }
    }

    #[test]
    fn dumps_matches_python_layout() {
        let v: Value = serde_json::from_str(r#"{"b": [1, 2.5, "é\n\"<>"], "a": {}, "c": []}"#).unwrap();
        assert_eq!(PyJson::default().dumps(&v), r#"{"b": [1, 2.5, "é\n\"<>"], "a": {}, "c": []}"#);
        let pretty = PyJson { indent: Some(2), sort_keys: true, ensure_ascii: true }.dumps(&v);
        assert_eq!(
            pretty,
            "{\n  \"a\": {},\n  \"b\": [\n    1,\n    2.5,\n    \"\\u00e9\\n\\\"<>\"\n  ],\n  \"c\": []\n}"
        );
    }
}
