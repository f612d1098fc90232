"""A real headless Chromium on ``python app.py``: every tab opened, a generation run in each, the
outputs checked on the page, screenshots saved to test-artifacts/screenshots/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.ui.conftest import desktop_page

pytestmark = pytest.mark.browser
WAIT_MS = 60_000  # a generation at 2 steps and 64 px takes about a second; page work is the rest
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def page(browser, app_url) -> Page:
    with desktop_page(browser, app_url, WAIT_MS) as page:
        yield page


def open_tab(page: Page, name: str, tab_id: str) -> Locator:
    page.get_by_role("tab", name=name, exact=True).click()
    panel = page.locator(f"#tab-{tab_id}")
    expect(panel).to_be_visible()
    return panel


def fast_settings(panel: Locator, steps: int = 2) -> None:
    """Open the tab's Settings and set the step count (the slider's number box)."""
    accordion = panel.get_by_role("button", name="Settings").first
    steps_box = panel.locator(".steps input[type=number]").first
    if not steps_box.is_visible():
        accordion.click()
    steps_box.fill(str(steps))
    steps_box.press("Tab")


def use_example(panel: Locator, row: int = 0) -> None:
    """Click an example: a table row when it fills several inputs, a button when it fills one."""
    panel.locator(f"[data-testid=dataset-cell-{row}-0], .gallery-item >> nth={row}").first.click()


def click(panel: Locator, label: str) -> None:
    panel.get_by_role("button", name=label, exact=True).first.click()


def images_in(locator: Locator, count: int) -> None:
    expect(locator.locator("img")).to_have_count(count)


def shot(page: Page, screenshots, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def test_banner_names_the_model(page, tiny_model_dir):
    banner = page.locator("#model-banner")
    expect(banner).to_contain_text("Model in use:")
    expect(banner).to_contain_text("native size 64 × 64 px")


def test_text_to_image(page, screenshots):
    panel = open_tab(page, "Text to image", "text-to-image")
    panel.get_by_label("Prompt", exact=True).fill("a red cube on a table")
    fast_settings(panel)
    click(panel, "Generate")
    gallery = panel.locator("#t2i-gallery")
    images_in(gallery, 1)
    expect(gallery).to_contain_text(re.compile(r"image 1 · seed \d+"))
    seed = panel.locator(".seed input").first.input_value()
    expect(gallery).to_contain_text(f"seed {seed}")  # the seed used is written back into the box
    panel.get_by_role("button", name="Prompt sent to the model").click()
    expect(panel.locator(".assembled-prompt textarea")).to_have_value("[[text2image]] a red cube on a table")
    shot(page, screenshots, "1-text-to-image")


def test_control(page, screenshots):
    panel = open_tab(page, "Control", "control")
    use_example(panel, 0)  # a depth map and its caption
    expect(panel.locator("#control-condition img")).to_have_count(1)
    fast_settings(panel)
    click(panel, "Generate")
    images_in(panel.locator("#control-gallery"), 1)
    expect(panel.locator(".condition img").nth(1)).to_be_visible()  # the condition, beside the result
    shot(page, screenshots, "2-control")


def test_understanding_depth_with_mesh(page, screenshots):
    panel = open_tab(page, "Understanding", "understanding")
    use_example(panel, 0)
    fast_settings(panel)
    click(panel, "Estimate")
    expect(panel.locator("#understand-result img")).to_have_count(1)
    expect(panel.locator("#understand-mesh canvas")).to_have_count(1)
    expect(panel.locator("#understand-files")).to_contain_text("depth_16bit")
    shot(page, screenshots, "3-understanding")


def test_identity(page, screenshots):
    panel = open_tab(page, "Identity", "identity")
    use_example(panel, 0)
    expect(panel.locator("#reference-1 img")).to_have_count(1)  # loaded before the run is asked for
    fast_settings(panel)
    click(panel, "Generate")
    images_in(panel.locator("#identity-gallery"), 1)
    panel.get_by_role("button", name="Prompt sent to the model").click()
    expect(panel.locator(".assembled-prompt textarea")).to_have_value(
        re.compile(r"^\[\[faceid\]\] \[\[img0\]\] .* \[\[img1\]\] .* \[\[img2\]\] ")
    )
    shot(page, screenshots, "4-identity")


def test_multiview_novel_views(page, screenshots):
    open_tab(page, "Multiview", "multiview")
    panel = page.locator("#tab-novel-views")
    expect(panel.locator("#camera-figure .js-plotly-plot")).to_have_count(1)  # cameras drawn before any run
    use_example(panel, 0)
    fast_settings(panel)
    click(panel, "Generate")
    gallery = panel.locator("#multiview-gallery")
    images_in(gallery, 4)
    expect(gallery).to_contain_text("your photo (condition)")
    expect(panel.locator("#multiview-zip")).to_contain_text("multiview")
    shot(page, screenshots, "5-multiview")


def test_multiview_camera_poses(page, screenshots):
    open_tab(page, "Multiview", "multiview")
    page.get_by_role("tab", name="Camera poses", exact=True).click()
    panel = page.locator("#tab-camera-poses")
    use_example(panel, 0)
    expect(panel.locator("#pose-photos img")).to_have_count(3)
    fast_settings(panel)
    click(panel, "Estimate cameras")
    expect(panel.locator("#pose-figure .js-plotly-plot")).to_have_count(1)
    expect(panel.locator("#pose-table")).to_contain_text("1.7")
    shot(page, screenshots, "6-camera-poses")


def test_slots(page, screenshots):
    panel = open_tab(page, "Slots (advanced)", "slots")
    panel.get_by_text("An image and its depth map, both generated").click()
    fast_settings(panel)
    click(panel, "Generate")
    gallery = panel.locator("#slots-gallery")
    images_in(gallery, 2)
    expect(gallery).to_contain_text("slot 1 · generated")
    shot(page, screenshots, "7-slots")


def test_errors_are_plain_and_stop_frees_the_model(page, screenshots):
    panel = open_tab(page, "Text to image", "text-to-image")
    prompt = panel.get_by_placeholder("Describe the image in detail...")  # its label holds the message at fault
    prompt.fill("")
    click(panel, "Generate")
    expect(panel.locator(".validation-error").first).to_have_text(
        "Describe the image to generate in the Prompt box first."
    )
    shot(page, screenshots, "8-error")
    prompt.fill("a slow red cube")
    fast_settings(panel, steps=200)
    click(panel, "Generate")
    expect(panel.locator("#t2i-gallery").get_by_text(re.compile(r"Denoising"))).to_be_visible()  # progress per step
    shot(page, screenshots, "9-progress")
    click(panel, "Stop")
    fast_settings(panel, steps=2)
    prompt.fill("a quick blue cube")
    click(panel, "Generate")
    expect(panel.locator("#t2i-gallery")).to_contain_text(re.compile(r"image 1 · seed"), timeout=20_000)


def test_inputs_follow_the_chosen_task(page, screenshots):
    panel = open_tab(page, "Control", "control")
    panel.get_by_label("Condition", exact=True).click()
    page.get_by_role("option", name="Inpainting (paint a mask on the photo)").click()
    expect(panel.get_by_text("Photo: paint over the region to fill in")).to_be_visible()
    expect(panel.locator("#control-condition")).to_be_hidden()
    panel.get_by_label("Condition", exact=True).click()
    page.get_by_role("option", name="Instruction editing").click()
    expect(panel.get_by_label("Instruction", exact=True)).to_be_visible()
    expect(panel.locator("#control-condition")).to_be_visible()

    open_tab(page, "Multiview", "multiview")
    page.get_by_role("tab", name="Novel views", exact=True).click()
    views = page.locator("#tab-novel-views")
    views.get_by_label("Camera preset", exact=True).click()
    page.get_by_role("option", name="Orbit: 6 views around the object").click()
    expect(views.locator("#camera-table")).to_contain_text("300")
    labels = "() => document.querySelector('#camera-figure .js-plotly-plot').data.find(t => t.name === 'labels').text"
    page.wait_for_function(f"({labels})().length === 6")  # the 3D view follows the table
    shot(page, screenshots, "10-camera-preset")

    panel = open_tab(page, "Identity", "identity")
    panel.get_by_label("Subject-driven: the same object in a new scene").check()
    expect(panel.get_by_label("Subject name (e.g. 'robot')")).to_be_visible()
    expect(panel.locator("#reference-2")).to_be_hidden()
    expect(panel.locator("#reference-1")).to_be_visible()


# Each tab's run button on a fresh page, what to empty first (the slots' prompt has a default), and the message
# shown at the input at fault.
EMPTY_RUNS = [
    ("Text to image", "text-to-image", "Generate", None, "Describe the image to generate in the Prompt box first."),
    ("Control", "control", "Generate", None, "Add a condition image first: the condition image box is empty."),
    ("Understanding", "understanding", "Estimate", None, "Add a photo first: the photo box is empty."),
    ("Identity", "identity", "Generate", None, "Describe the new photo in 'Target caption' first."),
    ("Multiview", "novel-views", "Generate", None, "Add a photo, or describe the object in the caption"),
    ("Camera poses", "camera-poses", "Estimate cameras", None, "Give 2 to 4 photos; 0 were given."),
    ("Slots (advanced)", "slots", "Generate", "Raw prompt", "Write the raw prompt first, task token included"),
]


@pytest.fixture(scope="module")
def fresh(browser, app_url) -> Page:
    """A second page, its tabs as they load: nothing generated yet."""
    with desktop_page(browser, app_url, WAIT_MS) as page:
        yield page


def test_an_empty_run_shows_the_message_at_the_input_and_keeps_the_outputs(fresh, screenshots):
    for name, tab_id, run, emptied, message in EMPTY_RUNS:
        if tab_id == "camera-poses":
            open_tab(fresh, "Multiview", "multiview")
        fresh.get_by_role("tab", name=name, exact=True).first.click()
        panel = fresh.locator(f"#tab-{tab_id}")
        if emptied:
            panel.get_by_label(emptied, exact=True).fill("")
        figure = panel.locator("#camera-figure .js-plotly-plot")
        drawn = 1 if tab_id == "novel-views" else 0  # the multiview cameras, drawn before any run
        expect(figure).to_have_count(drawn)
        click(panel, run)
        expect(panel.locator(".validation-error", has_text=message)).to_be_visible()
        expect(panel.get_by_text("Error", exact=True)).to_have_count(0)  # no badge on any output
        expect(figure).to_have_count(drawn)
        expect(panel.locator(".seed input").first).to_have_value("0")  # the seed box as it was
        fresh.wait_for_timeout(300)
    send = fresh.locator("#tab-text-to-image")
    fresh.get_by_role("tab", name="Text to image", exact=True).click()
    click(send, "➜ Understanding")  # nothing made yet: said at the gallery, the tab stays
    expect(send.locator(".validation-error", has_text="Nothing to send yet")).to_be_visible()
    expect(send).to_be_visible()
    shot(fresh, screenshots, "11-empty-runs")


def test_send_to_chains_text_to_image_depth_and_depth_to_image(fresh, screenshots):
    page = fresh  # nothing generated on it before: each result waited for is the new one
    t2i = open_tab(page, "Text to image", "text-to-image")
    t2i.get_by_placeholder("Describe the image in detail...").fill("a red cube on a table")
    fast_settings(t2i)
    click(t2i, "Generate")
    images_in(t2i.locator("#t2i-gallery"), 1)
    click(t2i, "➜ Understanding")
    understand = page.locator("#tab-understanding")
    expect(understand).to_be_visible()  # the tab opens with the image and its caption
    expect(understand.get_by_label("Caption of the photo (optional)", exact=True)).to_have_value(
        "a red cube on a table"
    )
    understand.get_by_label("Depth", exact=True).check()
    fast_settings(understand)
    click(understand, "Estimate")
    expect(understand.locator("#understand-raw img")).to_have_count(1)
    click(understand, "➜ Control (as condition)")
    control = page.locator("#tab-control")
    expect(control).to_be_visible()
    expect(control.locator("#control-condition img")).to_have_count(1)
    expect(control.get_by_label("Caption (what the result shows)", exact=True)).to_have_value("a red cube on a table")
    fast_settings(control)
    click(control, "Generate")
    expect(control.locator("#control-gallery")).to_contain_text("generated 1 · seed")
    control.get_by_role("button", name="Prompt sent to the model").click()
    expect(control.locator(".assembled-prompt textarea")).to_have_value("[[depth2image]] a red cube on a table")
    shot(page, screenshots, "12-send-to-chain")


def test_a_compare_grid_on_the_page(page, screenshots):
    panel = open_tab(page, "Text to image", "text-to-image")
    panel.get_by_placeholder("Describe the image in detail...").fill("a green cone")
    fast_settings(panel)
    panel.get_by_role("button", name="Compare: a grid of settings (X/Y)").click()
    values = panel.locator(".x-values textarea").first
    values.fill("1-4 (-1)")
    click(panel, "Run the grid")  # a wrong-signed step: said at the X values, nothing run
    expect(panel.locator(".validation-error", has_text="so its step must be +, not -1")).to_be_visible()
    values.fill("1, 2")
    expect(panel.locator(".block.grid-cost")).to_contain_text("2 cells × 2 steps × 1 view = 4 view-steps")
    click(panel, "Run the grid")
    expect(panel.locator("#cells-text-to-image img")).to_have_count(2)
    expect(panel.locator("#cells-text-to-image")).to_contain_text("seed 2")
    expect(panel.locator("#grid-text-to-image img")).to_have_count(1)
    expect(panel.locator(".block.grid-summary")).to_contain_text("2 of 2 cells done")
    expect(panel.locator(".block.grid-cost")).to_contain_text("on cpu")  # timed once a run has measured it
    shot(page, screenshots, "13-compare-grid")


def test_orbit_video_plays_in_the_page_with_its_duration(page, screenshots):
    """A caption-only orbit of 6 views at 4 frames a second: the MP4 loads in the page's video element and
    lasts 6 / 4 = 1.5 s; the frame strip, the GIF and the zip come with it."""
    open_tab(page, "Multiview", "multiview")
    page.get_by_role("tab", name="Orbit video", exact=True).click()
    panel = page.locator("#tab-orbit-video")
    expect(panel.locator("#orbit-figure .js-plotly-plot")).to_have_count(1)  # the path drawn before any run
    panel.get_by_placeholder("e.g. a red cube and a blue sphere").fill("a red cube and a blue sphere")
    for label, value in (("Number of views", 6), ("Frames a second", 4)):
        box = panel.get_by_label(f"number input for {label}")
        box.fill(str(value))
        box.press("Tab")
    fast_settings(panel, steps=1)
    click(panel, "Make the video")
    video = panel.locator("#orbit-video video")
    expect(video).to_have_count(1)
    page.wait_for_function("(v) => v.readyState >= 1 && isFinite(v.duration)", arg=video.element_handle())
    assert video.evaluate("(v) => v.duration") == pytest.approx(6 / 4, abs=0.05)
    assert video.evaluate("(v) => [v.videoWidth, v.videoHeight]") == [64, 64]
    images_in(panel.locator("#orbit-frames"), 6)
    expect(panel.locator("#orbit-summary")).to_contain_text("6 of 6 views")
    expect(panel.locator("#orbit-zip")).to_contain_text(".zip")
    expect(panel.locator("#orbit-gif")).to_contain_text(".gif")
    shot(page, screenshots, "14-orbit-video")


def test_upscale_a_sent_result(page, screenshots):
    """Text to image's result sent to Upscale, made twice as large: the slider shows both and the PNG comes."""
    t2i = open_tab(page, "Text to image", "text-to-image")
    t2i.get_by_label("Prompt", exact=True).fill("a yellow cone")
    fast_settings(t2i)
    t2i.locator(".random-seed input[type=checkbox]").first.uncheck()
    t2i.locator(".seed input").first.fill("4242")
    click(t2i, "Generate")
    expect(t2i.locator("#t2i-gallery")).to_contain_text("seed 4242")  # this run's image, not an earlier test's
    click(t2i, "➜ Upscale")
    panel = page.locator("#tab-upscale")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Caption (optional)", exact=True)).to_have_value("a yellow cone")
    expect(panel.locator("#upscale-plan")).to_contain_text("128")  # the plan said before the run
    fast_settings(panel)
    click(panel, "Upscale")
    expect(panel.locator("#upscale-compare img")).to_have_count(2)
    expect(panel.locator("#upscale-summary")).to_contain_text("128 × 128 px from 64 × 64")
    expect(panel.locator("#upscale-file").get_by_role("cell", name="upscaled-128x128.png")).to_have_count(1)
    shot(page, screenshots, "15-upscale")
