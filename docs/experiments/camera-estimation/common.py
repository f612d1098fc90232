"""What the diagnostic scripts share: a Trainer on the first ``scenes`` training scenes, with a
model folder's VAE, tokenizer and T5 (the shipped Mini's by default) and one task."""

from pathlib import Path

from diffusers import AutoencoderKL
from transformers import T5EncoderModel, T5Tokenizer

from onediffusion.mini import MINI_MODEL as MINI
from onediffusion.mini.training.data import build_store, make_record
from onediffusion.mini.training.trainer import TrainConfig, Trainer
from onediffusion.model import NextDiT


def single_task_trainer(task: str, scenes: int, folder: Path = MINI, load_transformer: bool = False, **config):
    """A Trainer drawing only ``task``; ``load_transformer``: its model is the folder's transformer."""
    folder = Path(folder)
    records = [make_record(i) for i in range(scenes)]
    store = build_store(AutoencoderKL.from_pretrained(folder / "vae").eval(), records)
    tokenizer = T5Tokenizer.from_pretrained(folder / "tokenizer")
    encoder = T5EncoderModel.from_pretrained(folder / "text_encoder").float()
    trainer = Trainer(TrainConfig(tasks=(task,), micro_batches=1, **config), records, store, tokenizer, encoder)
    if load_transformer:
        trainer.model = NextDiT.from_pretrained(folder / "transformer").eval()
    return trainer
