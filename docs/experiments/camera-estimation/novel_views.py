"""Novel views on the validation scenes, with the true target cameras and with the two swapped (a
model that ignores its cameras does not notice the swap).

    PYTHONPATH=. python docs/experiments/camera-estimation/novel_views.py MODEL
"""

import sys

from onediffusion.evaluate import Evaluator
from onediffusion.pipeline import OneDiffusionPipeline

evaluator = Evaluator(OneDiffusionPipeline.from_pretrained(sys.argv[1]), split="validation")
for swap in (False, True):
    r = evaluator.image2multiview(swap_cameras=swap)
    print(f"swapped cameras {swap}: PSNR {r.ours:.2f} dB, copy the input {r.baseline:.2f} dB, {r.samples} views")
