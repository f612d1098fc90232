"""The tab catalogue: every option runs a task the engine has; labels, lookups and "not trained for" notes."""

from __future__ import annotations

import pytest

from onediffusion.defaults import ModelDefaults
from onediffusion.tasks import TASKS
from ui.catalogue import CONTROL, IDENTITY, TABS, UNDERSTANDING, Option, untrained_banner, untrained_note
from ui.inputs import InputError
from ui.layout import TAB_MODULES


def test_every_option_runs_an_engine_task_and_every_tab_has_a_module():
    assert list(TABS) == list(TAB_MODULES)  # the page's tabs, in order
    assert all(option.task in TASKS for tab in TABS.values() for option in tab.options)
    with pytest.raises(ValueError, match="names task 'normal2image', which the engine does not have"):
        Option("normal", "Normal map", "normal2image")


def test_labels_and_lookups():
    assert CONTROL.choices()[4] == ("Semantic map (class and colour rows)", "semanticmap")
    assert [key for _, key in UNDERSTANDING.choices()] == [
        "depth",
        "pose",
        "hed",
        "canny",
        "semanticmap",
        "boundingbox",
    ]
    assert IDENTITY.option("subject_driven").label == "Subject-driven: the same object in a new scene"
    with pytest.raises(InputError, match="Pick a condition from the list; 'sketch' is not one."):
        CONTROL.option("sketch")


def test_what_each_condition_takes_comes_from_its_task():
    assert [o.key for o in CONTROL.options if o.labelled] == ["semanticmap", "boundingbox"]
    assert [o.key for o in CONTROL.options if o.takes_mask] == ["inpainting"]
    assert [o.key for o in CONTROL.options if o.takes_instruction] == ["editing"]
    made_by_the_model = {o.key: o.make for o in CONTROL.options if isinstance(o.make, str)}
    assert made_by_the_model == {key: f"image2{key}" for key in ("depth", "hed", "pose", "semanticmap", "boundingbox")}


def test_not_trained_for_names_options_tab_by_tab():
    trained = ModelDefaults(tasks=frozenset(TASKS) - {"pose2image", "image2pose", "subject_driven"})
    assert CONTROL.untrained(trained) == ["Human pose"] and UNDERSTANDING.untrained(trained) == ["Human pose"]
    assert untrained_note("identity", trained).endswith(
        "**Not trained for subject-driven**: this model gives noise there."
    )
    assert untrained_note("text-to-image", trained) == ""
    expected = (
        "  \nNot trained for (expect noise): Control: Human pose; Understanding: Human pose; Identity: subject-driven."
    )
    assert untrained_banner(trained) == expected
    assert untrained_banner(ModelDefaults()) == ""  # no tasks list: trained for every task
