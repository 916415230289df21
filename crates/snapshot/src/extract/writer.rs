//! The second extraction pass: renders the chosen subtree as markdown-ish text (headings, lists, tables, pre).
use std::borrow::Cow;

use scraper::Node;

use super::{is_dropped, truncate, NodeRef, Visitor, HEADINGS, ITEM, MAX_TEXT_BYTES};

/// The second pass: renders the chosen subtree as markdown-ish text.
#[derive(Default)]
pub(super) struct Writer {
    out: String,
    /// Line breaks owed before the next text: 0, 1, or 2 (a blank line).
    breaks: usize,
    space: bool,
    /// Owed at the start of the next line that gets text: `## ` or `- `.
    prefix: &'static str,
    /// Open `<pre>` elements; open headings and table cells (where breaks are spaces); open lists.
    pre: usize,
    inline: usize,
    lists: usize,
    /// Cells seen so far in each open table row.
    rows: Vec<usize>,
}

impl Writer {
    /// Asks for `n` line breaks before the next text: one at most inside lists, a space in headings and cells.
    fn line_break(&mut self, n: usize) {
        if self.inline > 0 {
            self.space = true;
        } else if self.pre == 0 && self.prefix.is_empty() {
            self.breaks = self.breaks.max(if self.lists > 0 { 1 } else { n });
        }
    }

    /// Writes what is owed (breaks or a space, then a prefix) and then `s`.
    fn write(&mut self, s: &str) {
        if self.breaks > 0 && !self.out.is_empty() {
            self.out.truncate(self.out.trim_end_matches(' ').len());
            let have = self.out.bytes().rev().take(2).take_while(|&b| b == b'\n').count();
            (have..self.breaks).for_each(|_| self.out.push('\n'));
        } else if self.space && !self.out.is_empty() && !self.out.ends_with([' ', '\n']) {
            self.out.push(' ');
        }
        self.out.push_str(self.prefix);
        self.out.push_str(s);
        (self.breaks, self.space, self.prefix) = (0, false, "");
    }

    fn text(&mut self, text: &str) {
        if self.pre > 0 {
            return self.write(text);
        }
        let text = match text.contains('\u{a0}') {
            true => Cow::Owned(text.replace('\u{a0}', " ")), // no-break spaces collapse like spaces
            false => Cow::Borrowed(text),
        };
        self.space |= text.starts_with(|c: char| c.is_ascii_whitespace());
        for (i, word) in text.split_ascii_whitespace().enumerate() {
            self.space |= i > 0;
            self.write(word);
        }
        self.space |= text.ends_with(|c: char| c.is_ascii_whitespace());
    }

    /// Updates the layout for an element being entered (`open`) or left.
    fn element(&mut self, name: &str, open: bool) {
        match name {
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" if open => {
                self.line_break(2);
                if self.inline == 0 {
                    self.prefix = HEADINGS[usize::from(name.as_bytes()[1] - b'1')];
                }
                self.inline += 1;
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                (self.inline, self.prefix) = (self.inline.saturating_sub(1), "");
                self.line_break(2);
            }
            "ul" | "ol" | "menu" | "dir" => {
                self.lists = if open { self.lists } else { self.lists.saturating_sub(1) };
                self.line_break(2);
                self.lists += usize::from(open);
            }
            "li" => {
                self.prefix = "";
                self.line_break(1);
                if open {
                    self.prefix = &ITEM[ITEM.len() - 2 - 2 * (self.lists.max(1) - 1).min(8)..];
                }
            }
            "tr" => {
                self.line_break(1);
                if open {
                    self.rows.push(0)
                } else {
                    self.rows.pop();
                }
            }
            "td" | "th" if open => self.cell(),
            "td" | "th" => self.inline = self.inline.saturating_sub(1),
            "pre" | "listing" => self.preformatted(open),
            "br" if open && self.pre > 0 => self.out.push('\n'),
            "br" if open && self.inline > 0 => self.space = true,
            "br" if open => self.breaks = (self.breaks + 1).min(2),
            "dt" | "dd" => self.line_break(1),
            "p" | "div" | "section" | "article" | "main" | "blockquote" | "figure" | "figcaption" | "details"
            | "summary" | "dl" | "address" | "center" | "fieldset" | "legend" | "hgroup" | "table" | "caption"
            | "hr" | "body" | "html" | "dialog" | "search" => self.line_break(2),
            _ => {}
        }
    }

    /// Enters or leaves `<pre>`: its text goes verbatim between ``` fences (only the outermost one is fenced).
    fn preformatted(&mut self, open: bool) {
        if open && self.pre == 0 {
            self.line_break(2);
            self.write("```\n");
        }
        self.pre = if open { self.pre + 1 } else { self.pre.saturating_sub(1) };
        if !open && self.pre == 0 {
            self.out.truncate(self.out.trim_end().len());
            self.out.push_str("\n```");
            self.line_break(2);
        }
    }

    /// Starts a table cell: ` | ` between cells of a row.
    fn cell(&mut self) {
        let count = self.rows.last_mut().map_or(0, |count| {
            *count += 1;
            *count
        });
        if count > 1 {
            self.space = false;
            let line_start = self.out.is_empty() || self.out.ends_with('\n') || self.breaks > 0;
            self.write(if line_start { "| " } else { " | " });
        }
        self.inline += 1;
    }

    pub(super) fn finish(self) -> String {
        let mut out = truncate(self.out, MAX_TEXT_BYTES);
        out.truncate(out.trim_end().len());
        out.drain(..out.len() - out.trim_start().len());
        out
    }
}

impl<'a> Visitor<'a> for Writer {
    fn open(&mut self, node: NodeRef<'a>) -> bool {
        match node.value() {
            _ if self.out.len() >= MAX_TEXT_BYTES => false,
            Node::Text(text) => {
                self.text(text);
                false
            }
            Node::Element(el) if is_dropped(el) => false,
            Node::Element(el) => {
                self.element(el.name(), true);
                true
            }
            Node::Document | Node::Fragment => true,
            _ => false,
        }
    }

    fn close(&mut self, node: NodeRef<'a>) {
        if let Node::Element(el) = node.value() {
            self.element(el.name(), false);
        }
    }
}
