//! `/mcp`: the tools over the Model Context Protocol (streamable HTTP, the official Rust SDK `rmcp`), for agents
//! that take their tools from an MCP server: `web_search` (a list of queries), `browse_webpage` (a list of URLs,
//! an optional question), and `fetch` (one URL as text, cut at `max_length` from `start_index`, like the reference
//! MCP fetch server). Answers are the observation texts of the in-process environment (see `tools::run_tool`, which
//! `POST /tools/{name}` shares); calls are logged and digested like every other route's.
use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{json, Value};

use super::tools::run_tool;
use super::AppState;

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

impl McpTools {
    pub fn new(state: Arc<AppState>) -> McpTools {
        McpTools { state }
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
        let result = match run_tool(&self.state, None, &request.name, &args).await {
            Ok(text) => CallToolResult::success(vec![ContentBlock::text(text)]),
            Err(why) => CallToolResult::error(vec![ContentBlock::text(why.message().to_string())]),
        };
        Ok(result.into())
    }
}
