"""Training OneDiffusion-Mini: the paper's recipe on the procedural world, on a CPU.

    python -m onediffusion.mini.training --out assets/onediffusion-mini

- ``data.py``: scenes rendered once (colour, depth, semantic map, boxes, edges, and the inputs of
  inpainting, deblurring and editing), then encoded once by the VAE into a latent store;
- ``tasks.py``: every task as a recipe of slots, roles and prompt, sampled with equal probability;
- ``components.py``: the tokenizer (trained), the T5 text encoder (built), the VAE (trained);
- ``trainer.py``: the flow-matching objective with a noise level per view, and the checkpoint,
  written in the published folder layout so ``OneDiffusionPipeline.from_pretrained`` loads it;
- ``state.py``: the full training state, saved atomically, for ``--resume`` and ``--init-from`` stages.
"""
