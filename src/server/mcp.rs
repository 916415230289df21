//! `/mcp`: the tools over the Model Context Protocol (streamable HTTP, the official Rust SDK `rmcp`), for agents
//! that take their tools from an MCP server: `web_search` (a list of queries), `browse_webpage` (a list of URLs,
//! an optional question), and `fetch` (one URL as text, cut at `max_length` from `start_index`, like the reference
//! MCP fetch server). Answers are the observation texts of the in-process environment; calls are logged and
//! digested like every other route's.
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};

use super::AppState;
use crate::env::observe;

/// One MCP session's handler; every session shares the server's state.
#[derive(Clone)]
pub struct McpTools {
    state: Arc<AppState>,
}

fn schema(v: Value) -> Arc<JsonObject> {
    Arc::new(v.as_object().cloned().unwrap_or_default())
}

/// The tools, with their JSON schemas.
pub fn tools() -> Vec<Tool> {
    vec![
        Tool::new(
            "web_search",
            "Search the web (replayed from the snapshot): up to three queries, top results per query with title, URL and snippet.",
            schema(json!({"type": "object", "properties": {"query": {"type": "array", "items": {"type": "string"}, "description": "Queries"}}, "required": ["query"]})),
        ),
        Tool::new(
            "browse_webpage",
            "Read web pages (replayed from the snapshot): their text, or the reading model's extract for the question.",
            schema(json!({"type": "object", "properties": {"url_list": {"type": "array", "items": {"type": "string"}}, "question": {"type": "string"}}, "required": ["url_list"]})),
        ),
        Tool::new(
            "fetch",
            "Fetch one URL (replayed from the snapshot) as text: max_length characters from start_index.",
            schema(json!({"type": "object", "properties": {"url": {"type": "string"}, "max_length": {"type": "integer", "default": 5000, "minimum": 1}, "start_index": {"type": "integer", "default": 0, "minimum": 0}}, "required": ["url"]})),
        ),
    ]
}

fn strings(args: &JsonObject, name: &str) -> Result<Vec<String>, String> {
    match args.get(name) {
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string).ok_or_else(|| format!("`{name}` must hold strings, got {v}")))
            .collect(),
        Some(other) => Err(format!("`{name}` must be a list of strings, got {other}")),
        None => Err(format!("`{name}` is missing")),
    }
}

impl McpTools {
    pub fn new(state: Arc<AppState>) -> McpTools {
        McpTools { state }
    }

    /// The tool's answer text, or a message the caller can read (a tool error, not a protocol error).
    async fn run(&self, name: &str, args: &JsonObject) -> Result<String, String> {
        let env = &self.state.env;
        let limits = env.config();
        match name {
            "web_search" => {
                let queries = strings(args, "query")?;
                let queries: Vec<String> = queries.into_iter().take(limits.max_queries).collect();
                let results = env.search(None, &queries, None).await.map_err(|e| e.to_string())?;
                Ok(observe::search_observation(&results))
            }
            "browse_webpage" => {
                let urls: Vec<String> = strings(args, "url_list")?.into_iter().take(limits.max_urls).collect();
                let question = args.get("question").and_then(Value::as_str).unwrap_or("");
                let pages = env.browse(None, &urls, question, None).await.map_err(|e| e.to_string())?;
                Ok(observe::browse_observation(&pages))
            }
            "fetch" => {
                let url = args.get("url").and_then(Value::as_str).ok_or("`url` (a string) is missing")?;
                let count =
                    |k: &str, d: u64| args.get(k).map_or(Ok(d), |v| v.as_u64().ok_or(format!("`{k}` must be a count")));
                let (max, start) = (count("max_length", 5000)? as usize, count("start_index", 0)? as usize);
                let page = env.read_page(url).await.map_err(|e| e.to_string())?;
                if let Some(error) = page.error {
                    return Err(format!("{url}: {error}"));
                }
                let text: String = page.chunks.into_iter().map(|c| c.summary).collect();
                let chars: Vec<char> = text.chars().collect();
                let piece: String = chars.iter().skip(start).take(max.max(1)).collect();
                let more = start + max < chars.len();
                let tail = if more {
                    format!("\n\n<content cut: call fetch with start_index {}>", start + max)
                } else {
                    String::new()
                };
                Ok(format!("Contents of {url}:\n{piece}{tail}"))
            }
            other => Err(format!("unknown tool {other:?} (web_search, browse_webpage, fetch)")),
        }
    }
}

impl ServerHandler for McpTools {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("webtape", env!("CARGO_PKG_VERSION")))
            .with_instructions("Web tools replayed from a webtape snapshot: web_search, browse_webpage, fetch.")
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.unwrap_or_default();
        let result = match self.run(&request.name, &args).await {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(why) => CallToolResult::error(vec![ContentBlock::text(why)]),
        };
        Ok(result.into())
    }
}
