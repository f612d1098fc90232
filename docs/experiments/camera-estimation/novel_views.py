"""Novel views on the validation scenes, with the true target cameras and with the two swapped (a
model that ignores its cameras does not notice the swap).

    PYTHONPATH=. python docs/experiments/camera-estimation/novel_views.py MODEL
"""

import sys

from onediffusion.mini.evaluate import Evaluator
from onediffusion.pipeline import OneDiffusionPipeline


def main(argv: list[str] | None = None) -> None:
    model = (sys.argv[1:] if argv is None else argv)[0]
    evaluator = Evaluator(OneDiffusionPipeline.from_pretrained(model), split="validation")
    for swap in (False, True):
        r = evaluator.image2multiview(swap_cameras=swap)
        print(f"swapped cameras {swap}: PSNR {r.ours:.2f} dB, copy the input {r.baseline:.2f} dB, {r.samples} views")


if __name__ == "__main__":
    main()
