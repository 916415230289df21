"""Lists and calls webtape's MCP tools with the official Python MCP SDK (`mcp`), over streamable HTTP.

usage: mcp_client.py MCP_URL QUERY
Prints one JSON object: the tool names, the web_search answer text, the first result URL's browse and fetch texts,
and the error flag of an unknown tool's call.
"""
import asyncio
import json
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client


def text_of(result):
    return "".join(getattr(block, "text", "") for block in result.content)


async def main(url, query):
    async with streamable_http_client(url) as streams:
        read, write = streams[0], streams[1]
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = await session.list_tools()
            names = sorted(t.name for t in tools.tools)
            searched = await session.call_tool("web_search", {"query": [query]})
            found = json.loads(text_of(searched))
            first = found[0]["web_page_info_list"][0]["url"]
            browsed = await session.call_tool("browse_webpage", {"url_list": [first], "question": query})
            fetched = await session.call_tool("fetch", {"url": first, "max_length": 200})
            rest = await session.call_tool("fetch", {"url": first, "max_length": 200, "start_index": 200})
            missing = await session.call_tool("fetch", {"url": "https://never.example/"})
            unknown = await session.call_tool("rm_rf", {})
    print(json.dumps({
        "tools": names,
        "search": text_of(searched),
        "search_error": searched.is_error,
        "first_url": first,
        "browse": text_of(browsed),
        "fetch": text_of(fetched),
        "fetch_rest": text_of(rest),
        "missing_error": missing.is_error,
        "missing": text_of(missing),
        "unknown_error": unknown.is_error,
    }))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
