"""Chromium on ``python app.py --captioner <tiny captioner>``: "Describe this photo" fills the caption box,
and advice shows as a note before a run whose settings are outside the advised range (the run goes on)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import EXAMPLES, desktop_page, launched_app
from ui.captioner import build_tiny_captioner
from ui.tabs.captions import LABEL

pytestmark = pytest.mark.browser
WAIT_MS = 90_000  # the tiny captioner writes its 160 random tokens in a few seconds; the rest is page work
expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def page(browser, tiny_model_dir, tmp_path_factory) -> Page:
    captioner = build_tiny_captioner(tmp_path_factory.mktemp("tiny-captioner"))
    with launched_app("--model", str(tiny_model_dir), "--captioner", str(captioner), log_name="app-page.log") as url:
        with desktop_page(browser, url, WAIT_MS) as page:
            yield page


def test_describe_this_photo_fills_the_caption_box(page):
    page.get_by_role("tab", name="Understanding", exact=True).click()
    panel = page.locator("#tab-understanding")
    panel.locator("input[type=file]").first.set_input_files(str(EXAMPLES / "scene_az000.png"))
    caption = panel.get_by_label("Caption of the photo (optional)", exact=True)
    expect(caption).to_have_value("")
    panel.get_by_role("button", name=LABEL, exact=True).click()
    expect(caption).not_to_have_value("")  # random weights write random words, but words
    assert len(caption.input_value().split()) >= 1


def test_advice_shows_before_the_run_and_the_run_goes_on(page):
    page.get_by_role("tab", name="Control", exact=True).click()
    panel = page.locator("#tab-control")
    panel.locator("[data-testid=dataset-cell-5-0]").first.click()  # the editing example
    expect(panel.get_by_label("Instruction", exact=True)).not_to_have_value("")
    panel.get_by_role("button", name="Settings").first.click()
    panel.locator(".steps input[type=number]").first.fill("2")
    guidance = panel.locator(".guidance input[type=number]").first
    guidance.fill("6")
    guidance.press("Tab")
    panel.get_by_role("button", name="Generate", exact=True).first.click()
    expect(page.get_by_text("Guidance 6 is high for editing")).to_be_visible()
    expect(panel.locator("#control-gallery img")).to_have_count(1)  # advice never blocks the run
