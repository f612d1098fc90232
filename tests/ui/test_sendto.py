"""Send to, as the page is built: every image result offers every target on another tab, each button opens
its tab with the image (and caption) in place; a sent result's caption is read from its PNG."""

from __future__ import annotations

import gradio as gr
from PIL import Image

from onediffusion.metadata import ResultSettings, save_png
from ui import sendto


def test_every_result_reaches_every_other_tab(studio):
    from ui.layout import build_demo

    config = build_demo(studio).get_config_file()
    labels = {c["id"]: c["props"].get("value") for c in config["components"] if c["type"] == "button"}
    sent = [d for d in config["dependencies"] if any(str(labels.get(t, "")).startswith("➜ ") for t, _ in d["targets"])]
    words = {str(labels[d["targets"][0][0]])[2:] for d in sent}
    assert words == {w for w, _ in sendto.TARGETS.values()}  # Upscale and Orbit video among them
    sources = ("text-to-image", "control", "understanding", "identity", "multiview", "slots")
    # Each source offers every target but those on its own tab (Multiview's results: not to Multiview or Orbit).
    assert len(sent) == sum(tab != source for source in sources for _, tab in sendto.TARGETS.values())


def test_the_orbit_target_opens_the_orbit_sub_tab(tmp_path):
    path = tmp_path / "made.png"
    settings = ResultSettings("[[text2image]] a red cube", seed=1, steps=2, guidance=4.0, width=8, height=8)
    save_png(Image.new("RGB", (8, 8)), path, settings)
    target = sendto.Target(gr.Image(), gr.Textbox(), [(gr.Tabs(), lambda sent: gr.Tabs(selected="orbit-video"))])
    image, caption, sub_tab, page_tab = sendto._send("text-to-image", "orbit", target, [[str(path), "image 1"]], 0)
    assert image == str(path) and caption["value"] == "a red cube"
    assert sub_tab.selected == "orbit-video" and page_tab.selected == "multiview"
    assert sendto.picked(None) is None and sendto.picked({"path": str(path)}) == str(path)
