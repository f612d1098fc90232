"""The authors' advice as pure rules (settings -> notes), shown before a run without blocking it, and next to
the controls it concerns."""

from __future__ import annotations

import pytest

from ui import advice

TWELVE = " ".join(["word"] * 12)
FORTY = "A woman with short red hair in a green wool coat stands on a wet street at dusk, " + " ".join(["lit"] * 22)


@pytest.mark.parametrize(
    ("native", "text_to_image", "side", "span"),
    [
        (1024, True, 1024, "768 to 1280"),
        (1024, False, 512, "384 to 640"),
        (64, True, 64, "48 to 80"),
        (64, False, 64, "48 to 80"),
    ],
)
def test_sizes_follow_the_published_model_and_scale_with_any_other(native, text_to_image, side, span):
    assert advice.advised_side(native, text_to_image) == side
    assert span in advice.size_tip(native, text_to_image)


def test_size_notes_by_area_only_outside_the_advised_range():
    assert advice.size_notes(1024, 1024, 1024, text_to_image=True) == []
    assert advice.size_notes(1280, 768, 1024, text_to_image=True) == []  # about a 991 px square
    (note,) = advice.size_notes(512, 512, 1024, text_to_image=True)
    assert note.startswith("512 × 512 is outside") and "768 to 1280" in note
    (note,) = advice.size_notes(1024, 1024, 1024, text_to_image=False)
    assert "384 to 640" in note
    assert advice.size_notes(64, 64, 64, text_to_image=False) == []


def test_editing_guidance_above_3_5_is_noted():
    assert advice.editing_notes(3.2) == advice.editing_notes(3.5) == []
    (note,) = advice.editing_notes(4.2)
    assert "4.2" in note and "over-saturates" in note


def test_identity_captions_30_to_75_words_and_repeated_in_the_target():
    assert advice.identity_notes([FORTY], "the woman with red hair and a green coat, in a cafe") == []
    notes = advice.identity_notes([TWELVE, "", FORTY], "a cat")
    assert notes[0] == "The caption of photo 1 has 12 words: 30 to 75 work best."
    assert notes[1].startswith("Photo 2 has no caption")
    assert notes[2].startswith("The target caption repeats nothing")
    assert advice.identity_notes(["", ""], "anything") == [
        f"Photo {i} has no caption: 'Describe this photo' writes one (30 to 75 words work best)." for i in (1, 2)
    ]


def test_multiview_views_square_size_and_facial_details():
    assert advice.multiview_notes(3, 64, 64, "a red cube", 64) == []
    notes = advice.multiview_notes(6, 96, 64, "a robot with big Eyes and a smiling mouth", 64)
    assert notes[0] == "6 views: multiview works best with 2 to 5."
    assert "not square" in notes[1]
    assert notes[2].startswith("The caption mentions eyes, mouth, smiling")
    assert advice.multiview_notes(4, 1024, 1024, "a chair", 1024) == [
        f"1024 × 1024 is outside the advised size: {advice.size_tip(1024, False)}"
    ]


def test_extrapolation_advice_only_when_rotary_scaling_is_on():
    assert advice.extrapolation_notes(1.0, 1.0, 2) == []
    assert advice.extrapolation_notes(1.3, 250, 80) == []
    assert advice.extrapolation_notes(2.0, 50, 50) == [
        "Scale factor 2: for extrapolation 1.1 to 1.5 work best.",
        "Scale watershed 50: for extrapolation 100 to 400 work best.",
        "Steps 50: for extrapolation 75 to 100 work best.",
    ]


def test_a_run_outside_the_advice_says_so_and_still_runs(studio, fast, capsys):
    """Outside a page, gr.Info prints its note; the run goes ahead."""
    rows = [[0, 20, 1.5], [90, 20, 1.5], [180, 20, 1.5]]
    result = studio.multiview(None, "a cube with a smiling face", rows, size="64x64", **fast, scale_factor=2.0)
    printed = capsys.readouterr().out
    assert "The caption mentions face, smiling" in printed and "Scale factor 2: for extrapolation" in printed
    assert len(result[0]) == 3 and result[-1] == "[[multiview]] a cube with a smiling face"


def test_editing_advice_before_an_editing_run(studio, fast, photo, capsys):
    studio.control("editing", photo, None, "make the sky purple", None, size="64x64", **{**fast, "guidance": 5.0})
    assert "Guidance 5 is high for editing" in capsys.readouterr().out


def test_tips_sit_next_to_their_controls(studio):
    from ui.layout import build_demo

    infos = {
        c["props"].get("label"): c["props"].get("info") for c in build_demo(studio).get_config_file()["components"]
    }
    assert infos["Caption of photo 1"] == advice.IDENTITY_CAPTION_TIP
    assert infos["Target caption: the new photo"] == advice.IDENTITY_TARGET_TIP
    assert infos["Scale factor"] == advice.SCALE_FACTOR_TIP and infos["Noise scale"] == advice.NOISE_SCALE_TIP
    assert infos["Caption"] == advice.MULTIVIEW_CAPTION_TIP
