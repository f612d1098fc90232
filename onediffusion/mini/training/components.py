"""OneDiffusion-Mini's frozen parts: a tokenizer trained on the world's prompts, a small T5
encoder pretrained on them to carry each token's context, and a small VAE trained on the
world's images."""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL
from transformers import T5Config, T5EncoderModel

from ...prompts import TASK_TOKENS
from ...tiny import train_tokenizer

MINI_T5 = {"d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 2, "num_heads": 4, "feed_forward_proj": "gated-gelu"}
MINI_VAE = {
    "in_channels": 3, "out_channels": 3, "latent_channels": 16, "block_out_channels": (16, 32, 64),
    "down_block_types": ("DownEncoderBlock2D",) * 3, "up_block_types": ("UpDecoderBlock2D",) * 3,
    "layers_per_block": 1, "norm_num_groups": 4, "sample_size": 32, "mid_block_add_attention": False,
    "use_quant_conv": False, "use_post_quant_conv": False, "scaling_factor": 1.0, "shift_factor": 0.0,
}  # fmt: skip
SPECIAL_PIECES = [*TASK_TOKENS.values(), "[[img0]]", "[[img1]]", "[[img2]]", "[[img3]]"]


def build_tokenizer(folder: Path, prompts: list[str], vocab_size: int = 400):
    return train_tokenizer(folder, prompts, vocab_size=vocab_size, user_defined_symbols=SPECIAL_PIECES)


def build_text_encoder(vocab_size: int, seed: int) -> T5EncoderModel:
    torch.manual_seed(seed)
    return T5EncoderModel(T5Config(vocab_size=vocab_size, **MINI_T5)).eval()


def context_targets(ids: torch.Tensor, mask: torch.Tensor, window: int) -> torch.Tensor:
    """(B, L) token ids -> (B, L, 2 * window): the ids at offsets -window..-1, 1..window of each
    position, -100 (ignored) past either end of the prompt or at padding."""
    keep = mask.bool()
    padded = F.pad(ids.masked_fill(~keep, -100), (window, window), value=-100)
    windows = padded.unfold(1, 2 * window + 1, 1)  # (B, L, 2 * window + 1): offsets -window..window
    targets = torch.cat([windows[..., :window], windows[..., window + 1 :]], dim=-1)  # the token itself dropped
    return targets.masked_fill(~keep[..., None], -100)


def pretrain_text_encoder(
    encoder: T5EncoderModel,
    tokenizer,
    prompts: list[str],
    steps: int,
    seed: int,
    window: int = 6,
    batch: int = 32,
    lr: float = 2e-3,
    log=print,
) -> tuple[T5EncoderModel, list[float]]:
    """Teach the encoder that each token's output carries its neighbours: from every position, a
    linear head predicts the tokens up to ``window`` places either side. The DiT reads the caption
    only through cross-attention (its text tokens are never updated), so a label's binding, "the
    lime cube is drawn in red" in ``<#FF0000 red mask: lime cube>``, must already sit in the
    encoder's output at the label's tokens; a random encoder mixes too little of it. (T5's own
    span-corruption objective needs a decoder, and nothing in transformers pretrains an encoder
    alone on a corpus this small, hence this one.) Returns the encoder in eval mode and the losses."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    vocab, width = encoder.config.vocab_size, encoder.config.d_model
    head = torch.nn.Linear(width, 2 * window * vocab)
    opt = torch.optim.AdamW([*encoder.parameters(), *head.parameters()], lr=lr, weight_decay=0.0)
    encoder.train()
    losses, start = [], time.time()
    for step in range(steps):
        chosen = torch.randint(len(prompts), (batch,), generator=generator)
        tokens = tokenizer([prompts[i] for i in chosen], padding="longest", return_tensors="pt")
        states = encoder(tokens.input_ids, attention_mask=tokens.attention_mask)[0]
        logits = head(states).unflatten(-1, (2 * window, vocab))
        targets = context_targets(tokens.input_ids, tokens.attention_mask, window)
        loss = F.cross_entropy(logits.reshape(-1, vocab), targets.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            log(f"text encoder step {step}/{steps} context loss {loss.item():.3f} ({time.time() - start:.0f}s)")
    return encoder.eval().requires_grad_(False), losses


def object_weights(x: torch.Tensor, boost: float = 4.0) -> torch.Tensor:
    """Per-pixel loss weights (B, 1, H, W): saturated pixels (the objects, their masks and boxes)
    count ``1 + boost`` times, so grey floor and sky do not drown the colours out."""
    saturation = x.amax(1, keepdim=True) - x.amin(1, keepdim=True)  # in [-1, 1] units: 0 for grey
    return 1.0 + boost * (saturation > 0.5).float()


def train_vae(images: np.ndarray, steps: int, seed: int, batch: int = 16, lr: float = 1e-3, log=print) -> AutoencoderKL:
    """Fit the VAE to (n, H, W, 3) uint8 images: L1 + MSE reconstruction, a light KL term; then
    set ``scaling_factor`` so that scaled latents have unit standard deviation."""
    torch.manual_seed(seed)
    vae = AutoencoderKL(**MINI_VAE).to(memory_format=torch.channels_last)  # faster convolutions on CPU
    opt = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / 50) * 0.5 * (1 + math.cos(math.pi * s / steps))
    )
    gen = torch.Generator().manual_seed(seed)
    pixels = torch.from_numpy(images).permute(0, 3, 1, 2)
    start = time.time()
    for step in range(steps):
        x = pixels[torch.randint(len(pixels), (batch,), generator=gen)].float() / 127.5 - 1
        x = x.contiguous(memory_format=torch.channels_last)
        post = vae.encode(x).latent_dist
        rec = vae.decode(post.sample(gen)).sample
        loss = (object_weights(x) * ((rec - x).abs() + (rec - x).pow(2))).mean() + 1e-6 * post.kl().mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step(), opt.zero_grad(), sched.step()
        if step % 250 == 0 or step == steps - 1:
            log(f"vae step {step}/{steps} loss {loss.item():.4f} ({time.time() - start:.0f}s)")
    vae = vae.to(memory_format=torch.contiguous_format).eval()
    with torch.no_grad():
        sample = pixels[torch.randperm(len(pixels), generator=gen)[:512]].float() / 127.5 - 1
        std = vae.encode(sample).latent_dist.mean.std().item()
    vae.register_to_config(scaling_factor=1.0 / std)
    return vae
