"""The page on a phone (390 x 844) in light and dark mode: no tab scrolls sideways, Generate and the result
are in view, frames and the banner keep their contrast; a result dropped on "Reuse settings" fills the
tab; a depth run shows the before-and-after slider. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from onediffusion.metadata import ResultSettings, save_png
from tests.ui.conftest import open_app

pytestmark = pytest.mark.browser
WAIT_MS = 60_000
PHONE = {"width": 390, "height": 844}
# Each tab: its name, id, run button and result element.
TABS = [
    ("Text to image", "text-to-image", "Generate", "#t2i-gallery"),
    ("Control", "control", "Generate", "#control-gallery"),
    ("Understanding", "understanding", "Estimate", "#understand-result"),
    ("Identity", "identity", "Generate", "#identity-gallery"),
    ("Multiview", "multiview", "Generate", "#multiview-gallery"),
    ("Slots (advanced)", "slots", "Generate", "#slots-gallery"),
]
# The first ancestor with a painted background, and colours as [r, g, b] (alpha blended over white or black).
COLOURS = """([selector, property]) => {
  const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const element = document.querySelector(selector);
  let node = property === 'background' ? element : element.parentElement;
  while (node && parse(getComputedStyle(node).backgroundColor)[3] === 0) node = node.parentElement;
  const background = node ? parse(getComputedStyle(node).backgroundColor).slice(0, 3) : [255, 255, 255];
  const style = getComputedStyle(property === 'text' ? element.querySelector('.prose') : element);
  const colour = property === 'text' ? style.color : style.borderTopColor;
  return {colour: parse(colour).slice(0, 3), background: background};
}"""


def luminance(rgb: list[float]) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: list[float], b: list[float]) -> float:
    """WCAG contrast ratio of two sRGB colours (1 to 21)."""
    low, high = sorted([luminance(a), luminance(b)])
    return (high + 0.05) / (low + 0.05)


def phone_page(browser, url: str, dark: bool) -> Page:
    page = browser.new_context(viewport=PHONE, device_scale_factor=1).new_page()
    page.set_default_timeout(WAIT_MS)
    open_app(page, url + ("?__theme=dark" if dark else ""))
    # The app's CSS and the theme's class arrive after the first paint: wait for both.
    page.wait_for_function(
        "([dark]) => document.querySelector('#model-banner')"
        " && getComputedStyle(document.querySelector('#model-banner')).getPropertyValue('--od-banner-bg')"
        " && document.body.classList.contains('dark') === dark",
        arg=[dark],
    )
    return page


def open_tab(page: Page, name: str, tab_id: str) -> Locator:
    """Click the tab, or find it under "More tabs" where the phone's tab bar has no room for it."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count() and tab.is_visible():
        tab.click()
    else:
        menu = page.locator(".overflow-menu").first  # the page's tab bar comes before any nested one
        menu.get_by_label("More tabs").click()
        menu.locator(".overflow-dropdown button", has_text=name).click()
    panel = page.locator(f"#tab-{tab_id}")
    expect(panel).to_be_visible()
    return panel


def in_view_across(page: Page, locator: Locator) -> None:
    """Scrolled to, the element is inside the viewport from left to right."""
    locator.scroll_into_view_if_needed()
    expect(locator).to_be_in_viewport()
    box = locator.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, box


# How many lines an element's text takes (its line boxes), and whether it overflows its box.
LINES = """(element) => {
  const range = document.createRange(); range.selectNodeContents(element);
  const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
  return {lines: tops.size, overflows: element.scrollWidth > element.clientWidth + 1};
}"""


def banner_is_one_line(page: Page) -> None:
    """The model in use and why, on one line; the rest behind a fold that opens."""
    banner = page.locator("#model-banner")
    expect(banner.locator(".banner-wide")).to_be_hidden()
    summary = banner.locator(".banner-narrow > summary")
    expect(summary).to_contain_text("Model in use:")
    assert summary.evaluate(LINES)["lines"] == 1
    assert banner.bounding_box()["height"] < 60
    summary.click()
    expect(banner.locator(".banner-narrow")).to_contain_text("native size 64 × 64 px")
    summary.click()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_every_tab_fits_a_phone(browser, app_url, screenshots, mode):
    page = phone_page(browser, app_url, dark=mode == "dark")
    assert ("dark" in page.evaluate("document.body.className")) == (mode == "dark")
    banner_is_one_line(page)
    for name, tab_id, run, result in TABS:
        panel = open_tab(page, name, tab_id)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"
        in_view_across(page, panel.get_by_role("button", name=run, exact=True).first)
        in_view_across(page, panel.locator(result))
        expect(panel.locator(result).get_by_text("Click to Upload")).to_have_count(0)  # a result, not an upload
        # Gradio puts a Markdown's classes on its block and on its text: count the outermost ones only.
        notes = panel.locator(".describe-note:not(.describe-note .describe-note)")
        assert notes.count() <= 1, f"{name}: the captioner's note more than once"
        words = panel.locator(".random-seed").get_by_text("Random seed", exact=True).first
        words.scroll_into_view_if_needed()
        fits = (
            words.evaluate(LINES)["lines"] == 1
            and not panel.locator(".random-seed label").first.evaluate(LINES)["overflows"]
        )
        assert fits, f"{name}: 'Random seed' does not fit on one line"
        page.screenshot(path=str(screenshots / f"phone-{mode}-{tab_id}.png"), full_page=True)
    page.context.close()


@pytest.mark.parametrize("mode", ["light", "dark"])
def test_frames_and_banner_keep_their_contrast(browser, app_url, mode):
    page = phone_page(browser, app_url, dark=mode == "dark")
    open_tab(page, "Control", "control")
    for selector in ("#tab-control .condition", "#tab-control .generated"):
        found = page.evaluate(COLOURS, [selector, "border"])
        assert contrast(found["colour"], found["background"]) >= 3, (selector, found)
    banner = page.evaluate(COLOURS, ["#model-banner", "text"])
    banner_background = page.evaluate(COLOURS, ["#model-banner", "background"])["background"]
    assert contrast(banner["colour"], banner_background) >= 4.5, (banner, banner_background)
    if mode == "dark":  # the light banner colours would glare: the banner follows the mode
        assert luminance(banner_background) < 0.1
    page.context.close()


def test_a_dropped_result_fills_the_tab(browser, app_url, screenshots, tmp_path):
    settings = ResultSettings(
        prompt="[[text2image]] a green cone",
        negative_prompt="",
        seed=77,
        steps=3,
        guidance=2.5,
        width=64,
        height=64,
        task="text2image",
    )
    save_png(Image.new("RGB", (64, 64), "green"), tmp_path / "result.png", settings)
    page = phone_page(browser, app_url, dark=True)
    panel = open_tab(page, "Text to image", "text-to-image")
    panel.locator(".reuse input[type=file]").set_input_files(str(tmp_path / "result.png"))
    expect(panel.get_by_label("Prompt", exact=True)).to_have_value("a green cone")
    expect(panel.locator(".seed input").first).to_have_value("77")
    expect(panel.locator(".random-seed input[type=checkbox]")).not_to_be_checked()
    expect(page.get_by_text("Read from result.png")).to_be_visible()
    page.screenshot(path=str(screenshots / "phone-reuse.png"), full_page=True)
    page.context.close()


def test_depth_comes_with_a_before_and_after_slider(browser, app_url, screenshots):
    page = phone_page(browser, app_url, dark=False)
    panel = open_tab(page, "Understanding", "understanding")
    panel.locator("[data-testid=dataset-cell-0-0]").first.click()  # the depth example
    expect(panel.locator(".condition img").first).to_be_visible()
    panel.get_by_role("button", name="Settings").first.click()
    panel.locator(".steps input[type=number]").first.fill("2")
    panel.locator(".steps input[type=number]").first.press("Tab")
    panel.get_by_role("button", name="Estimate", exact=True).first.click()
    expect(panel.locator("#understand-result img")).to_have_count(1)
    slider = panel.locator("#understand-compare")
    expect(slider.locator("img")).to_have_count(2)
    in_view_across(page, slider)
    page.screenshot(path=str(screenshots / "phone-compare.png"), full_page=True)
    page.context.close()


def test_a_dropped_control_result_keeps_its_guidance(browser, app_url, tmp_path):
    """The condition a result names is set with the guidance it was made with: the condition's own
    change (which would reset the guidance to the model's default for it) does not win the race."""
    from onediffusion import build_task

    prompt = build_task("editing", image=Image.new("RGB", (64, 64)), instruction="make the cube red").prompt
    settings = ResultSettings(
        prompt=prompt, negative_prompt="", seed=12, steps=3, guidance=1.7, width=64, height=64, task="editing"
    )
    save_png(Image.new("RGB", (64, 64), "red"), tmp_path / "edited.png", settings)
    page = phone_page(browser, app_url, dark=False)
    panel = open_tab(page, "Control", "control")
    panel.locator(".reuse input[type=file]").set_input_files(str(tmp_path / "edited.png"))
    expect(panel.get_by_label("Instruction", exact=True)).to_have_value("make the cube red")
    page.wait_for_timeout(1500)  # time for the condition's change events to run, had they reset the guidance
    panel.get_by_role("button", name="Settings").first.click()
    expect(panel.locator(".guidance input[type=number]").first).to_have_value("1.7")
    page.context.close()
