"""The page: title, the model banner, one tab per task; plus the launch settings the app always uses."""

from __future__ import annotations

import gradio as gr

from onediffusion.fit import free_ram

from . import sessions
from .catalogue import TABS
from .common import EXAMPLES_DIR
from .sendto import Links
from .service import Studio
from .spaces import duplicate_button
from .tabs import control, identity, multiview, slots, text_to_image, understand, upscale

TITLE = "OneDiffusion Studio"
INTRO = """# OneDiffusion Studio
One diffusion model for every image task ([Le et al., CVPR 2025](https://arxiv.org/abs/2411.16318)):
generate, control, understand, keep an identity, move the camera. Everything you **give** the model
(a *condition*) is framed in blue; everything it **generates** is framed in orange."""

# Each tab of the catalogue (its id and title) and the module that lays it out, in page order.
TAB_MODULES = {
    "text-to-image": text_to_image,
    "control": control,
    "understanding": understand,
    "identity": identity,
    "multiview": multiview,
    "upscale": upscale,
    "slots": slots,
}

# Frame and banner colours per mode: Gradio puts `.dark` on the page in dark mode (or with ?__theme=dark).
# Frames keep a 3:1 contrast with the page, banner text 4.5:1 with its background (tests/ui/test_browser_phone.py).
CSS = """
:root { --od-condition: #1f77b4; --od-generated: #d9650b; --od-banner-bg: #eef5ff; --od-banner-border: #b9d3f5;
        --od-banner-text: #15263d; --od-fallback-bg: #fff4e5; --od-fallback-border: #f0b25a; }
.dark { --od-condition: #5aaee8; --od-generated: #ff9a3c; --od-banner-bg: #14253b; --od-banner-border: #3f6ea8;
        --od-banner-text: #e8f0fb; --od-fallback-bg: #33240e; --od-fallback-border: #c98a2e; }
.block.banner { padding: 0.6rem 1rem; border-radius: 8px; background: var(--od-banner-bg);
                border: 1px solid var(--od-banner-border); }
.block.banner .prose, .block.banner .prose * { color: var(--od-banner-text) !important; }
.block.banner.fallback { background: var(--od-fallback-bg); border-color: var(--od-fallback-border); }
.condition { border: 2px solid var(--od-condition) !important; border-radius: 8px; }
.generated { border: 2px solid var(--od-generated) !important; border-radius: 8px; }
.how-to { opacity: 0.9; }
.fit img { width: 100% !important; height: 100% !important; object-fit: contain; image-rendering: pixelated; }
.palette { font-size: 0.8rem; line-height: 1.8; }
.banner-narrow { display: none; }
.banner-narrow > summary { display: block; cursor: pointer; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.banner-narrow > summary::before { content: "▸ "; }
.banner-narrow[open] > summary::before { content: "▾ "; }
@media (max-width: 640px) {
  .banner-wide { display: none; }
  .banner-narrow { display: block; }
  .block.banner { padding: 0.35rem 0.75rem; }
}
.random-seed { min-width: min(150px, 100%) !important; }  /* its label on one line: beside the seed, or under it */
.send-to { align-items: center; gap: 0.4rem; }
.send-to .send-to-label { flex: 0 0 auto !important; min-width: 0 !important; }
.dark button[role="tab"][aria-selected="true"] { color: var(--primary-400); }
.palette .swatch { display: inline-block; width: 0.9rem; height: 0.9rem; margin: 0 0.2rem 0 0.6rem;
                   vertical-align: middle; border: 1px solid #8884; border-radius: 2px; }
"""
MAX_FILE_SIZE = "25mb"
QUEUE_SIZE = 64


def build_demo(studio: Studio, keep_files: int = sessions.KEEP_FILES_SECONDS) -> gr.Blocks:
    """The whole app over one studio (its model must be loaded, or loadable, before the page is built); the
    files it hands out are deleted ``keep_files`` seconds after they were made."""
    info = studio.info
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(keep_files, keep_files)) as demo:
        gr.Markdown(INTRO)
        duplicate_button()  # on a Space only
        gr.Markdown(
            studio.page_banner(),
            elem_id="model-banner",
            elem_classes=["banner", "fallback"] if info.is_fallback else ["banner"],
        )
        links = Links()  # "Send to" buttons under results, and the inputs of other tabs they fill
        with gr.Tabs() as tabs:
            for tab_id, module in TAB_MODULES.items():
                with gr.Tab(TABS[tab_id].title, id=tab_id, elem_id=f"tab-{tab_id}"):
                    module.build(studio, links)
        links.wire(tabs)
        gr.api(studio.model_info, api_name="model_info", concurrency_limit=None)
        demo.unload(sessions.leave(demo, studio.runs.cancel))  # a visitor gone: stop their run, drop their state
    demo.queue(default_concurrency_limit=1, max_size=QUEUE_SIZE)
    return demo


def theme() -> gr.themes.Base:
    """Gradio's Soft theme with text that keeps a 4.5:1 contrast (WCAG AA, which axe-core checks on every tab):
    labels, the primary button, selected choices and info text one or two shades darker; links lighter in dark
    mode."""
    return gr.themes.Soft().set(
        block_label_text_color="*primary_700",
        block_title_text_color="*primary_700",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
        checkbox_label_background_fill_selected="*primary_600",
        body_text_color_subdued="*neutral_600",
        color_accent="*primary_600",
        link_text_color_dark="*secondary_400",
    )


def launch_options(mcp: bool = False) -> dict:
    """What every launch passes: the upload limit, the only folder served from disk, the look; with
    ``mcp``, also the MCP server (``/gradio_api/mcp/``): each public endpoint a tool, described by its docstring."""
    return {
        "mcp_server": mcp,
        "max_file_size": MAX_FILE_SIZE,
        "show_error": True,  # input-format errors (from gradio_client callers) in words, not "an exception"
        "allowed_paths": [str(EXAMPLES_DIR)],
        "state_session_capacity": sessions.session_capacity(free_ram()),
        "css": CSS,
        "theme": theme(),
    }
