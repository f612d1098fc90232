"""NextDiT: OneDiffusion's diffusion transformer over a sequence of views.

The network is written here because no library ships it: diffusers' Lumina-Next transformer is
close but differs in parameter names, its 2D RoPE (ours is 3D: view, row, column), the
soft-capped joint attention and the per-token timesteps that let every view carry its own
noise level. Parameter names match the published checkpoint exactly, so
``NextDiT.from_pretrained(path, subfolder="transformer")`` loads it with no missing keys.

Classes are ordered bottom-up: helpers, attention, feed-forward, block, final layer, model.
"""

from __future__ import annotations

import contextlib
import math

import einops
import torch
import torch.nn as nn
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.hooks._helpers import TransformerBlockMetadata, TransformerBlockRegistry
from diffusers.models.cache_utils import CacheMixin
from diffusers.models.modeling_utils import ModelMixin

from .attention import caption_attention, softcapped_attention


def grouped(x: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pair tokens x (B, L, D) with conditioning v (B, G, D) that is shared by groups of L/G tokens
    (G = L: one per token; G = views: one per view), as broadcastable (B, G, L/G, D) views."""
    B, L, D = x.shape
    G = v.shape[1]
    return x.reshape(B, G, L // G, D), v[:, :, None]


def modulate(x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    xg, sg = grouped(x, scale)
    return (xg * (1 + sg)).reshape(x.shape)


def gated(gate: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    xg, gg = grouped(x, gate)
    return (torch.tanh(gg) * xg).reshape(x.shape)


class RMSNorm(nn.Module):
    """RMSNorm computed in float32, cast back, then scaled (the reference's order of operations)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def timestep_embedding(t: torch.Tensor, dim: int = 256, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal features ``cat(cos, sin)`` of t (any shape) -> (*t.shape, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=t.dtype, device=t.device) / half)
    args = t[..., None] * freqs
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def rope_angles(
    grid: tuple[int, int, int],
    head_dim: int,
    theta: float = 10000.0,
    linear_factor: float = 1.0,
    device: torch.device | None = None,
) -> torch.Tensor:
    """Rotation angles of the 3D RoPE for a (views, rows, columns) token grid -> (T*H*W, head_dim/2).

    Each axis gets head_dim/6 rotation pairs with frequency theta^(-6j/head_dim), concatenated as
    (view, row, column); positions start at 0 and are divided by ``linear_factor``.
    """
    n = head_dim // 6
    freqs = 1.0 / (theta ** (torch.arange(0, head_dim, 6, device=device)[:n].float() / head_dim)) / linear_factor
    axes = [torch.outer(torch.arange(size, device=device, dtype=torch.float32), freqs) for size in grid]
    T, H, W = grid
    return torch.cat(
        [
            axes[0][:, None, None].expand(T, H, W, n),
            axes[1][None, :, None].expand(T, H, W, n),
            axes[2][None, None, :].expand(T, H, W, n),
        ],
        dim=-1,
    ).reshape(T * H * W, 3 * n)


def apply_rope(x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Rotate adjacent channel pairs (2i, 2i+1). x: (B, L, H, d); rope: (cos, sin) of the angles,
    each (L, d/2), computed once per forward. Float32 inside."""
    xf = x.float().reshape(*x.shape[:-1], -1, 2)
    cos, sin = rope[0][None, :, None], rope[1][None, :, None]
    x0, x1 = xf[..., 0], xf[..., 1]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2).type_as(x)


class Attention(nn.Module):
    """Joint self-attention over all views' tokens plus gated cross-attention to the caption."""

    def __init__(self, dim: int, n_heads: int, n_kv_heads: int, qk_norm: bool, y_dim: int):
        super().__init__()
        self.n_heads, self.n_kv_heads = n_heads, n_kv_heads
        self.head_dim = dim // n_heads
        self.backend = "auto"
        self.wq = nn.Linear(dim, n_heads * self.head_dim, bias=False)
        self.wk = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(dim, n_kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(n_heads * self.head_dim, dim, bias=False)
        self.wk_y = nn.Linear(y_dim, n_kv_heads * self.head_dim, bias=False)
        self.wv_y = nn.Linear(y_dim, n_kv_heads * self.head_dim, bias=False)
        self.gate = nn.Parameter(torch.zeros(n_heads))
        if qk_norm:
            self.q_norm = nn.LayerNorm(n_heads * self.head_dim)
            self.k_norm = nn.LayerNorm(n_kv_heads * self.head_dim)
            self.ky_norm = nn.LayerNorm(n_kv_heads * self.head_dim, eps=1e-6)
        else:
            self.q_norm = self.k_norm = self.ky_norm = nn.Identity()

    def caption_kv(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of the (normed) caption y (B, S, Y), each (B, H, S, d): they depend on the caption
        alone, so a denoising loop computes them once (``NextDiT.reuse_caption``)."""
        B, H, K, d = y.shape[0], self.n_heads, self.n_kv_heads, self.head_dim
        # Here the caption heads are tiled: query head i uses head i mod K.
        yk = einops.repeat(self.ky_norm(self.wk_y(y)).view(B, -1, K, d), "b s k d -> b (r k) s d", r=H // K)
        yv = einops.repeat(self.wv_y(y).view(B, -1, K, d), "b s k d -> b (r k) s d", r=H // K)
        return yk, yv

    def forward(
        self,
        x: torch.Tensor,
        rope: tuple[torch.Tensor, torch.Tensor],
        caption: tuple[torch.Tensor, torch.Tensor],
        y_mask: torch.Tensor,
    ) -> torch.Tensor:
        B, L, _ = x.shape
        H, K, d = self.n_heads, self.n_kv_heads, self.head_dim
        q = self.q_norm(self.wq(x)).view(B, L, H, d)
        k = self.k_norm(self.wk(x)).view(B, L, K, d)
        v = self.wv(x).view(B, L, K, d)
        # Self-attention: key/value head j serves query heads j*(H/K) ... (j+1)*(H/K)-1.
        k = k.repeat_interleave(H // K, dim=2)
        v = v.repeat_interleave(H // K, dim=2)
        q, k = apply_rope(q, rope), apply_rope(k, rope)
        out = softcapped_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), self.backend)

        # Cross-attention to the caption's keys and values (``caption_kv``).
        yk, yv = caption
        out_y = caption_attention(q.transpose(1, 2), yk, yv.to(q.dtype), y_mask)
        out = out + out_y * self.gate.tanh().view(1, H, 1, 1)
        return self.wo(out.transpose(1, 2).reshape(B, L, H * d))


class FeedForward(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x), hidden width rounded up to ``multiple_of``."""

    def __init__(self, dim: int, multiple_of: int, ffn_dim_multiplier: float | None):
        super().__init__()
        hidden = int(2 * 4 * dim / 3)
        if ffn_dim_multiplier is not None:
            hidden = int(ffn_dim_multiplier * hidden)
        hidden = multiple_of * ((hidden + multiple_of - 1) // multiple_of)
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class TransformerBlock(nn.Module):
    def __init__(self, dim, n_heads, n_kv_heads, multiple_of, ffn_dim_multiplier, norm_eps, qk_norm, y_dim):
        super().__init__()
        self.attention = Attention(dim, n_heads, n_kv_heads, qk_norm, y_dim)
        self.feed_forward = FeedForward(dim, multiple_of, ffn_dim_multiplier)
        self.attention_norm1 = RMSNorm(dim, eps=norm_eps)
        self.attention_norm2 = RMSNorm(dim, eps=norm_eps)
        self.ffn_norm1 = RMSNorm(dim, eps=norm_eps)
        self.ffn_norm2 = RMSNorm(dim, eps=norm_eps)
        self.attention_y_norm = RMSNorm(y_dim, eps=norm_eps)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(min(dim, 1024), 4 * dim))

    def caption_kv(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This block's keys and values of the raw caption states y (B, S, Y)."""
        return self.attention.caption_kv(self.attention_y_norm(y))

    def forward(self, hidden_states, rope, caption, y_mask, c):
        # ``hidden_states``, not ``x``: diffusers' cache hooks read the block's input by that name.
        x = hidden_states
        scale_msa, gate_msa, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(4, dim=-1)
        attn = self.attention(modulate(self.attention_norm1(x), scale_msa), rope, caption, y_mask)
        x = x + gated(gate_msa, self.attention_norm2(attn))
        ffn = self.feed_forward(modulate(self.ffn_norm1(x), scale_mlp))
        return x + gated(gate_mlp, self.ffn_norm2(ffn))


# diffusers' cache hooks (First Block Cache, MagCache, ...) skip or replay whole blocks: they must know
# that a block returns the image tokens' hidden states alone (no separate caption stream).
TransformerBlockRegistry.register(
    TransformerBlock, TransformerBlockMetadata(return_hidden_states_index=0, return_encoder_hidden_states_index=None)
)


class FinalLayer(nn.Module):
    def __init__(self, hidden_size: int, patch_dim: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, eps=1e-6, elementwise_affine=False)
        self.linear = nn.Linear(hidden_size, patch_dim)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(min(hidden_size, 1024), hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.linear(modulate(self.norm_final(x), self.adaLN_modulation(c)))


class NextDiT(ModelMixin, ConfigMixin, CacheMixin):
    """The OneDiffusion transformer. ``forward`` takes B x N views x C x h x w latents.

    ``CacheMixin`` gives it diffusers' step caches (``enable_cache``/``disable_cache``/``cache_context``);
    the pipeline's ``enable_cache`` chooses and checks them (``onediffusion.caching``).
    """

    _supports_gradient_checkpointing = True
    _no_split_modules = ["TransformerBlock"]
    _repeated_blocks = ["TransformerBlock"]  # for diffusers' compile_repeated_blocks()

    @register_to_config
    def __init__(
        self,
        input_size: tuple[int, int, int] = (1, 32, 32),
        patch_size: tuple[int, int, int] = (1, 2, 2),
        in_channels: int = 16,
        hidden_size: int = 4096,
        depth: int = 32,
        num_heads: int = 32,
        num_kv_heads: int | None = None,
        multiple_of: int = 256,
        ffn_dim_multiplier: float | None = None,
        norm_eps: float = 1e-5,
        pred_sigma: bool = False,
        caption_channels: int = 4096,
        qk_norm: bool = False,
        norm_type: str = "rms",
        model_max_length: int = 120,
        rotary_max_length: int = 384,
        rotary_max_length_t: int | None = None,
    ):
        super().__init__()
        if (hidden_size // num_heads) % 6:
            raise ValueError(
                f"`hidden_size / num_heads` must be divisible by 6 for the 3D RoPE, got {hidden_size // num_heads}."
            )
        n_kv = num_kv_heads or num_heads
        adaln = min(hidden_size, 1024)
        self.out_channels = in_channels * 2 if pred_sigma else in_channels
        self.gradient_checkpointing = False
        self.x_embedder = nn.Linear(math.prod(patch_size) * in_channels, hidden_size)
        self.t_embedder = nn.Module()
        self.t_embedder.mlp = nn.Sequential(nn.Linear(256, adaln), nn.SiLU(), nn.Linear(adaln, adaln))
        self.y_embedder = nn.Sequential(nn.LayerNorm(caption_channels, eps=1e-6), nn.Linear(caption_channels, adaln))
        self.layers = nn.ModuleList(
            TransformerBlock(
                hidden_size, num_heads, n_kv, multiple_of, ffn_dim_multiplier, norm_eps, qk_norm, caption_channels
            )
            for _ in range(depth)
        )
        self.final_layer = FinalLayer(hidden_size, math.prod(patch_size) * self.out_channels)
        self._caption_memo: list | None = None  # (states, per-layer keys and values) inside reuse_caption()

    @contextlib.contextmanager
    def reuse_caption(self):
        """Inside, the caption's keys and values (every layer's) are computed on the first forward and reused
        while ``encoder_hidden_states`` is the same tensor: exactly the same numbers, without the projections
        of a 300-token caption at every step (up to 14% of a 256 px step at full size)."""
        self._caption_memo = []
        try:
            yield self
        finally:
            self._caption_memo = None

    def caption_kv(self, encoder_hidden_states: torch.Tensor, dtype: torch.dtype) -> list:
        """Every layer's caption keys and values; memoised inside ``reuse_caption``."""
        memo = self._caption_memo
        if memo and memo[0] is encoder_hidden_states:
            return memo[1]
        y = encoder_hidden_states.to(dtype)
        kv = [block.caption_kv(y) for block in self.layers]
        if memo is not None and not torch.is_grad_enabled():
            memo[:] = [encoder_hidden_states, kv]
        return kv

    def set_attention_backend(self, backend: str) -> None:
        """Choose the self-attention kernel: "auto", "math", "chunked" or "flex" (see attention.py)."""
        from .attention import resolve_backend

        resolve_backend(backend, torch.device("cpu"))
        for block in self.layers:
            block.attention.backend = backend

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N, C, h, w) -> (B, tokens, pT*pH*pW*C): tokens ordered view, row, column; channel fastest."""
        pt, ph, pw = self.config.patch_size
        return einops.rearrange(x, "b (t pt) c (h ph) (w pw) -> b (t h w) (pt ph pw c)", pt=pt, ph=ph, pw=pw)

    def unpatchify(self, x: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        pt, ph, pw = self.config.patch_size
        T, H, W = grid
        return einops.rearrange(
            x, "b (t h w) (pt ph pw c) -> b (t pt) c (h ph) (w pw)", t=T, h=H, w=W, pt=pt, ph=ph, pw=pw
        )

    def _token_timesteps(self, timesteps: torch.Tensor, samples: torch.Tensor) -> torch.Tensor:
        B, N = samples.shape[:2]
        if timesteps.ndim == 1:
            timesteps = timesteps[:, None].expand(B, N)
        if timesteps.shape == (B, N):
            if self.config.patch_size[0] == 1:
                return timesteps.float()
            timesteps = timesteps[:, :, None, None, None].expand_as(samples)
        return self.patchify(timesteps.reshape(samples.shape)).mean(dim=-1)

    def _rope(self, grid, timesteps, scale_factor: float, scale_watershed: float, device) -> torch.Tensor:
        # Rotary scaling for resolutions beyond training: linear (positions / s) while the largest
        # timestep is below the watershed, NTK (theta * s) otherwise.
        theta, linear = 10000.0, 1.0
        if scale_factor != 1 or scale_watershed != 1:
            if timesteps.max().item() < scale_watershed:
                linear = scale_factor
            else:
                theta *= scale_factor
        return rope_angles(grid, self.config.hidden_size // self.config.num_heads, theta, linear, device)

    def forward(
        self,
        samples: torch.Tensor,
        timesteps: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        encoder_attention_mask: torch.Tensor,
        scale_factor: float = 1.0,
        scale_watershed: float = 1.0,
    ) -> torch.Tensor:
        """Predict the flow velocity of every view.

        samples: (B, N, C, h, w) or (B, C, h, w); encoder_hidden_states: (B, S, Y);
        encoder_attention_mask: (B, S); timesteps on the 0..1000 scale, one of
        - the shape of samples: a noise level per element, averaged over each patch (the reference);
        - (B, N): one noise level per view. Exactly the same result for such inputs, computed
          faster: the adaLN modulation is evaluated once per view instead of once per token;
        - (B,): one noise level per sample.
        Returns a tensor shaped like ``samples``.
        """
        squeeze = samples.ndim == 4
        if squeeze:
            samples = samples[:, None]
        B, N, C, h, w = samples.shape
        pt, ph, pw = self.config.patch_size
        grid = (N // pt, h // ph, w // pw)
        t = self._token_timesteps(timesteps, samples)  # (B, tokens) or, per view, (B, N)

        x = self.x_embedder(self.patchify(samples))
        t_emb = self.t_embedder.mlp(timestep_embedding(t).to(self.t_embedder.mlp[0].weight.dtype))
        mask = encoder_attention_mask[..., None].float()
        pooled = (encoder_hidden_states * mask).sum(dim=1) / (mask.sum(dim=1) + 1e-8)
        c = t_emb + self.y_embedder(pooled.to(x.dtype))[:, None]

        angles = self._rope(grid, timesteps, scale_factor, scale_watershed, samples.device)
        rope = (angles.cos(), angles.sin())
        captions = self.caption_kv(encoder_hidden_states, x.dtype)
        for block, caption in zip(self.layers, captions):
            if self.gradient_checkpointing and torch.is_grad_enabled():
                x = torch.utils.checkpoint.checkpoint(
                    block, x, rope, caption, encoder_attention_mask, c, use_reentrant=False
                )
            else:
                x = block(x, rope, caption, encoder_attention_mask, c)
        out = self.unpatchify(self.final_layer(x, c), grid)
        return out[:, 0] if squeeze else out
