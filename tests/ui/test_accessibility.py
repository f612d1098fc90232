"""axe-core on every tab, in light and dark mode, on a desktop and at 390 x 844: no violation of "serious" or
"critical" impact, but the exceptions named below, each with its reason.

axe-core is the npm package (``.ci/run`` installs it: ``npm install --prefix .cache/axe axe-core@4.14.1``),
injected into the page; ``AXE_CORE_JS`` may point at another ``axe.min.js``. Without it the tests skip, saying so.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.ui.conftest import ROOT, open_app

pytestmark = pytest.mark.browser
WAIT_MS = 60_000
AXE = Path(os.environ.get("AXE_CORE_JS", ROOT / ".cache/axe/node_modules/axe-core/axe.min.js"))
VIEWPORTS = {"desktop": {"width": 1400, "height": 1000}, "phone": {"width": 390, "height": 844}}
TABS = [("Text to image", "text-to-image"), ("Control", "control"), ("Understanding", "understanding"),
        ("Identity", "identity"), ("Multiview", "multiview"), ("Upscale", "upscale"),
        ("Slots (advanced)", "slots")]  # fmt: skip
# Serious findings in Gradio 6.31's own markup, which the app cannot change without rewriting Gradio's DOM: each
# rule, the elements it is allowed on (a pattern of their HTML), and why.
EXCEPTIONS = {
    "aria-prohibited-attr": (
        re.compile(r'^<div aria-label="Empty value" class="empty'),
        "Gradio's placeholder in an empty image, gallery, file or 3D output is a <div aria-label='Empty value'> "
        "without a role; screen readers skip the label (nothing is lost, the output is empty).",
    ),
    "label-content-name-mismatch": (
        re.compile(r'^<button class="upload-container'),
        "Gradio's upload area is named 'Click to upload or drop files' (or 'Drop an image file...') while it "
        "shows 'Drop Image Here - or - Click to Upload'; it is reachable and named, but voice control by the "
        "visible words may miss it.",
    ),
}
SERIOUS = ("serious", "critical")
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html}))}));
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.skip(f"axe-core not found at {AXE}: npm install --prefix .cache/axe axe-core@4.14.1 (as .ci/run does)")
    return AXE.read_text()


def open_tab(page, name: str, tab_id: str) -> None:
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count() and tab.is_visible():
        tab.click()
    else:  # a phone's tab bar keeps the rest under "More tabs"
        menu = page.locator(".overflow-menu").first
        menu.get_by_label("More tabs").click()
        menu.locator(".overflow-dropdown button", has_text=name).click()
    page.locator(f"#tab-{tab_id}").wait_for(state="visible")


def serious_findings(page, axe_source: str, excused: set[str]) -> list[str]:
    """What axe-core finds of serious or critical impact on the page as it is, but the named exceptions (the
    rules excused are added to ``excused``)."""
    if not page.evaluate("() => !!window.axe"):
        page.add_script_tag(content=axe_source)
    found = []
    for violation in page.evaluate(RUN_AXE):
        if violation["impact"] not in SERIOUS:
            continue
        allowed = EXCEPTIONS.get(violation["id"], (None, ""))[0]
        for node in violation["nodes"]:
            if allowed is not None and allowed.match(node["html"]):
                excused.add(violation["id"])
            else:
                found.append(f"{violation['id']} ({violation['impact']}: {violation['help']}): {node['target']}")
    return found


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("mode", ["light", "dark"])
def test_no_serious_violation_on_any_tab(browser, app_url, axe_source, viewport, mode):
    context = browser.new_context(viewport=VIEWPORTS[viewport])
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    try:
        open_app(page, app_url + ("?__theme=dark" if mode == "dark" else ""))
        page.wait_for_function("([dark]) => document.body.classList.contains('dark') === dark", arg=[mode == "dark"])
        found, excused = {}, set()
        for name, tab_id in TABS:
            open_tab(page, name, tab_id)
            found[tab_id] = serious_findings(page, axe_source, excused)
        assert not any(found.values()), {tab: items for tab, items in found.items() if items}
        assert excused == set(EXCEPTIONS), "an exception no longer needed: take it out of EXCEPTIONS"
    finally:
        context.close()
