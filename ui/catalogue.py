"""The tab catalogue: each tab's id and title, and the options it offers, each tied to the engine task
behind it (a name in ``onediffusion.tasks.TASKS``).

The widgets list their choices from here, the endpoints look options up here, and the model banner and
how-tos name from here what the loaded model was not trained for. Adding a condition to the app is
one entry in the engine's ``CONDITIONS`` and one ``ControlOption`` (and, if the model can estimate it
from a photo, one ``UnderstandOption``) below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from onediffusion.conditions import blur, canny_edges
from onediffusion.defaults import ModelDefaults
from onediffusion.tasks import TASKS, TaskPreset

from .inputs import InputError


@dataclass(frozen=True)
class Option:
    """One choice of a tab: the value its widget sends, the name notes use, the engine task it runs."""

    key: str
    name: str
    task: str
    choice: str = ""  # the widget's label, when it says more than the name

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"Option {self.key!r} names task {self.task!r}, which the engine does not have.")

    @property
    def label(self) -> str:
        return self.choice or self.name

    @property
    def preset(self) -> TaskPreset:
        return TASKS[self.task]

    @property
    def labelled(self) -> bool:
        """Whether the task takes class-and-colour rows (semantic maps, boxes)."""
        return self.preset.labelled


def _as_is(photo: Image.Image) -> Image.Image:
    return photo


@dataclass(frozen=True)
class ControlOption(Option):
    """A condition of the Control tab, with what the tab says about it and how it is made from a photo."""

    hint: str = ""  # what to give
    box: str = ""  # the condition box's label
    make_label: str | None = None  # the make button's label (None: no button)
    # How ``make_condition`` makes it from a photo: a function computed here, or the engine task the
    # model runs (its understanding direction).
    make: Callable[[Image.Image], Image.Image] | str = _as_is

    @property
    def takes_mask(self) -> bool:
        """Inpainting: the photo and the mask come from the image editor."""
        return "mask" in self.preset.params

    @property
    def takes_instruction(self) -> bool:
        """Editing: the caption box holds an instruction, and it must not be empty."""
        return "instruction" in self.preset.params


@dataclass(frozen=True)
class UnderstandOption(Option):
    shows: str = "overlay"  # how the result is shown: "depth" (colourised, 16-bit, a mesh), "overlay", "boxes"


@dataclass(frozen=True)
class Tab:
    """A tab of the page: its id (the API's and the page's), title, and the options it offers."""

    id: str
    title: str
    options: tuple[Option, ...] = ()
    pick: str = "an option"  # what an unknown option is called in the error

    def option(self, key: str) -> Option:
        for option in self.options:
            if option.key == key:
                return option
        raise InputError(f"Pick {self.pick} from the list; {key!r} is not one.")

    def choices(self) -> list[tuple[str, str]]:
        """(label, value) pairs for the tab's dropdown or radio."""
        return [(option.label, option.key) for option in self.options]

    def untrained(self, defaults: ModelDefaults) -> list[str]:
        """The names of the options whose task the model's ``tasks`` list leaves out."""
        return [option.name for option in self.options if not defaults.trained_for(option.task)]


CLASS_ROWS = "class and colour rows"
CONTROL = Tab(
    "control",
    "Control",
    pick="a condition",
    options=(
        ControlOption(
            "depth",
            "Depth map",
            "depth2image",
            hint="Give a depth map (near is bright).",
            box="Depth map",
            make_label="Estimate the depth map (model)",
            make="image2depth",
        ),
        ControlOption(
            "canny",
            "Canny edges",
            "canny2image",
            hint="Give white edges on black.",
            box="Canny edges",
            make_label="Compute Canny edges",
            make=canny_edges,
        ),
        ControlOption(
            "hed",
            "HED soft edges",
            "hed2image",
            hint="Give soft HED edges.",
            box="HED soft edges",
            make_label="Estimate HED edges (model)",
            make="image2hed",
        ),
        ControlOption(
            "pose",
            "Human pose",
            "pose2image",
            hint="Give an OpenPose-style skeleton on black.",
            box="Pose skeleton",
            make_label="Estimate the pose (model)",
            make="image2pose",
        ),
        ControlOption(
            "semanticmap",
            "Semantic map",
            "semanticmap2image",
            f"Semantic map ({CLASS_ROWS})",
            hint="Give a map painted in palette colours and name each colour's class in the table.",
            box="Semantic map",
            make_label="Segment the photo (model; name the classes first)",
            make="image2semanticmap",
        ),
        ControlOption(
            "boundingbox",
            "Bounding boxes",
            "boundingbox2image",
            f"Bounding boxes ({CLASS_ROWS})",
            hint="Give boxes drawn in palette colours and name each colour's class in the table.",
            box="Bounding boxes",
            make_label="Find the boxes (model; name the classes first)",
            make="image2boundingbox",
        ),
        ControlOption(
            "inpainting",
            "Inpainting",
            "inpainting",
            "Inpainting (paint a mask on the photo)",
            hint="Upload a photo in the editor and paint over the region to fill in; describe what goes there.",
        ),
        ControlOption(
            "deblurring",
            "Deblurring",
            "deblurring",
            hint="Give a blurry photo (or blur a sharp one to try it).",
            box="Blurry photo",
            make_label="Blur the photo",
            make=blur,
        ),
        ControlOption(
            "editing",
            "Instruction editing",
            "editing",
            box="Photo to edit",
            make_label="Use the photo as is",
            hint="Give the photo to edit and write the instruction, e.g. 'make the sky purple'.",
        ),
    ),
)
UNDERSTANDING = Tab(
    "understanding",
    "Understanding",
    pick="what to estimate",
    options=(
        UnderstandOption("depth", "Depth", "image2depth", shows="depth"),
        UnderstandOption("pose", "Human pose", "image2pose"),
        UnderstandOption("hed", "HED soft edges", "image2hed"),
        UnderstandOption("canny", "Canny edges", "image2canny"),
        UnderstandOption("semanticmap", "Segmentation", "image2semanticmap", f"Segmentation ({CLASS_ROWS})"),
        UnderstandOption(
            "boundingbox", "Bounding boxes", "image2boundingbox", f"Bounding boxes ({CLASS_ROWS})", shows="boxes"
        ),
    ),
)
IDENTITY = Tab(
    "identity",
    "Identity",
    pick="a mode",
    options=(
        Option("identity", "identity", "identity", "Identity: the same person in a new photo"),
        Option("subject_driven", "subject-driven", "subject_driven", "Subject-driven: the same object in a new scene"),
    ),
)
TABS: dict[str, Tab] = {
    tab.id: tab
    for tab in (
        Tab("text-to-image", "Text to image", (Option("text2image", "text to image", "text2image"),)),
        CONTROL,
        UNDERSTANDING,
        IDENTITY,
        Tab(
            "multiview",
            "Multiview",
            (
                Option("image2multiview", "novel views of a photo", "image2multiview"),
                Option("text2multiview", "novel views from a caption", "text2multiview"),
                Option("camera_estimation", "camera poses", "camera_estimation"),
            ),
        ),
        Tab("upscale", "Upscale", (Option("upscaling", "upscaling", "upscaling"),)),
        Tab("slots", "Slots (advanced)"),  # any slots, any prompt: no task of its own
    )
}


def untrained_note(tab_id: str, defaults: ModelDefaults) -> str:
    """A how-to line naming the options of a tab the model was not trained for ("" when none)."""
    names = TABS[tab_id].untrained(defaults)
    if not names:
        return ""
    return f"\n\n⚠️ **Not trained for {', '.join(names)}**: this model gives noise there."


def untrained_banner(defaults: ModelDefaults) -> str:
    """The banner's line naming, tab by tab, the options the model was not trained for ("" when none)."""
    missing = [f"{tab.title}: {', '.join(names)}" for tab in TABS.values() if (names := tab.untrained(defaults))]
    return f"  \nNot trained for (expect noise): {'; '.join(missing)}." if missing else ""
