//! `browse_webpage`: a page's text from the snapshot (or the live web), split into chunks, each passed through the
//! reading model when one is configured - its recorded output in replay, the raw chunk (cut short) on a reader miss.
use super::{Environment, Episode, LogEntry, Source};
use crate::error::{Error, Result};
use crate::snapshot::PreparedPage;

/// One chunk of a browsed page as the agent sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PageChunk {
    /// 1-based.
    pub page_number: usize,
    /// The reading model's extract, or the chunk text.
    pub summary: String,
}

/// The answer to browsing one URL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BrowseResult {
    pub url: String,
    pub title: String,
    /// HTTP status of the capture, when it has one.
    pub status: Option<u16>,
    pub pages_total: usize,
    pub chunks: Vec<PageChunk>,
    pub source: Source,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BrowseResult {
    fn failed(url: &str, source: Source, status: Option<u16>, error: String) -> BrowseResult {
        BrowseResult {
            url: url.to_string(),
            title: String::new(),
            status,
            pages_total: 0,
            chunks: Vec::new(),
            source,
            error: Some(error),
        }
    }
}

/// `text` cut into pieces of at most `size` characters (at least one piece, possibly empty).
pub fn chunks(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let end = rest.char_indices().nth(size).map_or(rest.len(), |(i, _)| i);
        out.push(&rest[..end]);
        rest = &rest[end..];
    }
    if out.is_empty() {
        out.push("");
    }
    out
}

/// The prompt sent to the reading model for one chunk. The question comes first: it is what the reader looks for.
pub fn reader_prompt(question: &str, url: &str, page: usize, total: usize, chunk: &str) -> String {
    format!(
        "Question: {question}\n\
         Read part {page} of {total} of the web page {url} below and write down only the information relevant \
         to the question, with names, dates and numbers exactly as the page gives them. If nothing is relevant, \
         say so.\n\n{chunk}"
    )
}

fn cut(text: &str, max_chars: usize) -> String {
    text.char_indices().nth(max_chars).map_or_else(|| text.to_string(), |(i, _)| text[..i].to_string())
}

impl Environment {
    /// Reads `urls` for `question`: chunk `page` (1-based) of each, or the first `max_chunks` chunks. With an
    /// episode, DeepResearcher's rules apply: at most `max_urls` URLs, each from the latest search results.
    pub async fn browse(
        &self,
        mut episode: Option<&mut Episode>,
        urls: &[String],
        question: &str,
        page: Option<usize>,
    ) -> Result<Vec<BrowseResult>> {
        let take = if episode.is_some() { self.cfg.max_urls } else { urls.len() };
        let mut out = Vec::new();
        for url in urls.iter().take(take) {
            let allowed =
                episode.as_ref().is_none_or(|ep| !self.cfg.browse_latest_only || ep.allowed_urls.contains(url));
            let result = if allowed {
                self.browse_one(episode.as_deref_mut(), url, question, page).await?
            } else {
                BrowseResult::failed(url, Source::Miss, None, "URL was not in the latest search results".into())
            };
            let bytes = super::log::answer_bytes(&result)?;
            let request = format!("{url}\tpage={}", page.map_or("-".into(), |p| p.to_string()));
            self.logged(episode.as_deref_mut(), LogEntry::new("browse", request, result.source, &bytes));
            out.push(result);
        }
        Ok(out)
    }

    /// The whole recorded text of `url` in one piece (no chunks, no reading model): what a Jina-Reader-style
    /// route serves. Logged as a `read` call.
    pub async fn read_page(&self, url: &str) -> Result<BrowseResult> {
        let result = match self.page_text(url).await? {
            Ok((title, text, status, source)) => BrowseResult {
                url: url.to_string(),
                title,
                status,
                pages_total: 1,
                chunks: vec![PageChunk { page_number: 1, summary: text }],
                source,
                error: None,
            },
            Err(failed) => failed,
        };
        let bytes = super::log::answer_bytes(&result)?;
        self.logged(None, LogEntry::new("read", url.to_string(), result.source, &bytes));
        Ok(result)
    }

    async fn browse_one(
        &self,
        mut episode: Option<&mut Episode>,
        url: &str,
        question: &str,
        page: Option<usize>,
    ) -> Result<BrowseResult> {
        let (title, text, status, source) = match self.page_text(url).await? {
            Ok(found) => found,
            Err(failed) => return Ok(failed),
        };
        let pieces = chunks(&text, self.cfg.chunk_chars);
        let total = pieces.len();
        let wanted: Vec<usize> = match page {
            Some(p) if p == 0 || p > total => {
                return Ok(BrowseResult::failed(url, source, status, format!("page {p} out of range 1..={total}")))
            }
            Some(p) => vec![p],
            None => (1..=total.min(self.cfg.max_chunks)).collect(),
        };
        let mut out = Vec::new();
        for n in wanted {
            let summary = self.read(episode.as_deref_mut(), question, url, n, total, pieces[n - 1]).await?;
            out.push(PageChunk { page_number: n, summary });
        }
        Ok(BrowseResult { url: url.to_string(), title, status, pages_total: total, chunks: out, source, error: None })
    }

    /// `(title, text, status, source)` of `url`, or the failure to return.
    async fn page_text(&self, url: &str) -> Result<Served> {
        if let Some(snap) = &self.snapshot {
            return served_page(url, snap.get_page(url, self.cfg.at.as_deref()));
        }
        // A recording serves a page it already holds as its replay will, so a record run replays exactly.
        if let Some(Ok(Some(view))) = self.record(|w| Ok(w.get_page(url, None)))? {
            return served_page(url, Ok(Some(view)));
        }
        let live =
            self.live.as_ref().ok_or_else(|| Error::Config("environment has neither snapshot nor live web".into()))?;
        let fetched = match live.fetcher.fetch(url).await {
            Ok(f) => f,
            Err(e) => return Ok(Err(BrowseResult::failed(url, Source::Live, None, e.to_string()))),
        };
        let prepared = PreparedPage::new(fetched.capture, fetched.body.as_deref(), None)?;
        let (c, text) = (prepared.capture.clone(), prepared.text.clone());
        self.record(|w| w.put_prepared(prepared, "web"))?;
        if let Some(error) = c.fetch_error {
            return Ok(Err(BrowseResult::failed(url, Source::Live, c.status, error)));
        }
        Ok(Ok((text.title, text.text, c.status, Source::Live)))
    }

    /// The reading model's output for `prompt`: recorded (replay, or a recording that already holds it), else
    /// asked live and recorded; `None` when it cannot be had (the caller falls back to the chunk text).
    async fn reader_answer(&self, model: &str, prompt: &str) -> Result<Option<(String, Source)>> {
        if let Some(snap) = &self.snapshot {
            return Ok(snap.reader_output(model, prompt)?.map(|out| (out, Source::Exact)));
        }
        if let Some(Some(out)) = self.record(|w| w.reader_output(model, prompt))? {
            return Ok(Some((out, Source::Exact)));
        }
        let client = self.reader.as_ref().ok_or_else(|| Error::internal("no reading model client"))?;
        match client.complete(prompt).await {
            Ok(out) => {
                self.record(|w| w.put_reader_output(model, prompt, &out))?;
                Ok(Some((out, Source::Live)))
            }
            Err(e) => {
                eprintln!("warning: {e}; browse falls back to the page text");
                Ok(None)
            }
        }
    }

    /// One chunk through the reading model (recorded output in replay; a live call otherwise), or the chunk text.
    async fn read(
        &self,
        episode: Option<&mut Episode>,
        question: &str,
        url: &str,
        n: usize,
        total: usize,
        chunk: &str,
    ) -> Result<String> {
        let Some(model) = &self.reader_model else { return Ok(chunk.to_string()) };
        let prompt = reader_prompt(question, url, n, total, chunk);
        let (output, source) = match self.reader_answer(model, &prompt).await? {
            Some(found) => found,
            None => (cut(chunk, self.cfg.reader_fallback_chars), Source::Miss),
        };
        let request = format!("{model}\t{}", blake3::hash(prompt.as_bytes()).to_hex());
        self.logged(episode, LogEntry::new("reader", request, source, output.as_bytes()));
        Ok(output)
    }
}

/// What browse makes of a stored capture of `url` (`Ok(Err(..))`: the failure the agent is shown).
type Served = std::result::Result<(String, String, Option<u16>, Source), BrowseResult>;

fn served_page(url: &str, view: Result<Option<crate::snapshot::PageView>>) -> Result<Served> {
    let view = match view {
        Ok(Some(view)) => view,
        Ok(None) => return Ok(Err(BrowseResult::failed(url, Source::Miss, None, "page not in snapshot".into()))),
        Err(Error::InvalidUrl { reason, .. }) => {
            return Ok(Err(BrowseResult::failed(url, Source::Miss, None, format!("invalid URL: {reason}"))))
        }
        Err(e) => return Err(e),
    };
    let c = view.capture;
    if let Some(error) = c.fetch_error {
        return Ok(Err(BrowseResult::failed(url, Source::Exact, c.status, error)));
    }
    Ok(Ok((view.text.title, view.text.text, c.status, Source::Exact)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunking_by_characters() {
        assert_eq!(chunks("", 3), vec![""]);
        assert_eq!(chunks("abcdefg", 3), vec!["abc", "def", "g"]);
        assert_eq!(chunks("äöüß", 2), vec!["äö", "üß"]);
        assert_eq!(cut("äöü", 2), "äö");
        assert!(reader_prompt("Who?", "u", 1, 2, "text").starts_with("Question: Who?\n"));
    }
}
