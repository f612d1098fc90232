"""``python app.py --mcp``: the Studio's endpoints as MCP tools, listed and called with the ``mcp`` package's
own client over streamable HTTP, as an agent does; errors come back in the app's plain words."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import re
import urllib.request

import pytest
from PIL import Image

from tests.ui.conftest import EXAMPLES, launched_app

mcp = pytest.importorskip("mcp")
from mcp.client.streamable_http import streamablehttp_client  # noqa: E402

TASK_TOOLS = {
    "text_to_image",
    "control",
    "understand",
    "identity",
    "multiview",
    "estimate_cameras",
    "orbit_video",
    "upscale",
}
HELPER_TOOLS = {
    "make_condition",
    "camera_preset",
    "slots",
    "model_info",
    "describe_photo",
}  # public too; previews and Stop are not
GRID_TOOLS = {f"{name}_grid" for name in ("text_to_image", "control", "understand", "identity", "multiview", "slots")}


@pytest.fixture(scope="module")
def mcp_url(tiny_model_dir) -> str:
    with launched_app("--mcp", "--model", str(tiny_model_dir), log_name="app-mcp.log") as url:
        yield f"{url}gradio_api/mcp/"


def session(url: str, work, headers: dict[str, str] | None = None):
    """Run ``await work(session)`` in one MCP client session on ``url`` (sending ``headers`` with each request);
    returns what it returns."""

    async def run():
        async with streamablehttp_client(url, headers=headers) as (read, write, _):
            async with mcp.ClientSession(read, write) as client:
                await client.initialize()
                return await work(client)

    # A thread of its own: a sync Playwright test earlier in the process leaves an event loop running here.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def texts(result) -> str:
    return "\n".join(item.text for item in result.content if item.type == "text")


def test_the_task_tools_are_listed_with_what_each_argument_means(mcp_url):
    tools = {tool.name: tool for tool in session(mcp_url, lambda client: _tools(client))}
    assert set(tools) == TASK_TOOLS | HELPER_TOOLS | GRID_TOOLS
    for name, tool in tools.items():
        assert tool.description.strip(), name
        for argument, schema in tool.inputSchema["properties"].items():
            assert len(schema.get("description", "")) > 10, f"{name}({argument}) is not described"
    control = tools["control"].inputSchema["properties"]
    assert "'canny': give white edges on black" in control["condition"]["description"]
    assert "from 1 to 200" in tools["text_to_image"].inputSchema["properties"]["steps"]["description"]
    assert "Returns: gallery" in tools["text_to_image"].description
    grid = tools["control_grid"].inputSchema["properties"]
    assert "'1-8 (+1)'" in grid["x_values"]["description"] and "depth map" in grid["condition"]["description"].lower()


async def _tools(client):
    return (await client.list_tools()).tools


def test_text_to_image_over_mcp_returns_an_image(mcp_url):
    async def work(client):
        tools = {tool.name: tool for tool in await _tools(client)}
        size = tools["text_to_image"].inputSchema["properties"]["size"]["default"]
        arguments = {"prompt": "a blue cube on a grey floor", "steps": 2, "seed": 7, "randomize_seed": False}
        return size, await client.call_tool("text_to_image", arguments)

    size, result = session(mcp_url, work)
    assert not result.isError, texts(result)
    text = texts(result)
    assert "image 1 · seed 7" in text and "[[text2image]]" in text
    url = re.search(r"'url': '(http[^']+\.png)'", text)[1]
    with urllib.request.urlopen(url, timeout=10) as response:
        image = Image.open(io.BytesIO(response.read()))
    assert "x".join(map(str, image.size)) == size


def _data_url(path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def test_bad_input_comes_back_in_the_apps_plain_words(mcp_url):
    async def work(client):
        empty = await client.call_tool("text_to_image", {"prompt": " ", "steps": 2})
        photo = _data_url(EXAMPLES / "scene_az000.png")  # an image given inline, as agents often do
        no_classes = await client.call_tool(
            "understand", {"photo": photo, "target": "semanticmap", "caption": "", "steps": 2}
        )
        return empty, no_classes

    empty, no_classes = session(mcp_url, work)
    # Refused before the queue (Gradio's validator), naming the argument at fault, in the app's words.
    assert empty.isError and texts(empty).endswith("- prompt: Describe the image to generate in the Prompt box first.")
    assert no_classes.isError and "- labels: Name at least one class" in texts(no_classes)
    for result in (empty, no_classes):
        assert "Traceback" not in texts(result) and "InputError" not in texts(result)


def test_a_grid_over_mcp(mcp_url):
    arguments = {"prompt": "a red cube", "steps": 2, "size": "64x48", "x_axis": "seed", "x_values": "1, 2"}
    result = session(mcp_url, lambda client: client.call_tool("text_to_image_grid", arguments))
    text = texts(result)
    assert not result.isError, text
    assert "seed 1" in text and "seed 2" in text and "2 of 2 cells done" in text
