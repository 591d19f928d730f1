"""RENAISSANCE generators: a multilayer perceptron from noise to ln Km, trained by NES.

Architecture (as published): 99 Gaussian noise inputs plus one constant label input
(= 1) -> Linear 256 -> LeakyReLU(0.2) -> Linear 512 -> LeakyReLU(0.2) -> Linear 1024 ->
LeakyReLU(0.2) -> Linear ``n_km``; for the 384 Km of the anthranilate model that is
1,076,352 weights and biases. The published dropout (0.5) never acts (samples are drawn
in inference mode) and is left out. Initialization as Keras': Glorot-uniform weights,
zero biases.

The last layer's outputs are mapped into the Km bounds ``[log_km_low, log_km_high]``
(ln of Km in mol/L, RENAISSANCE: [-25, 3]) by :func:`map_log_km`:

- ``"published"``: one min-max affine map over the whole batch (all samples x all Km),
  so the smallest output of the batch becomes ``log_km_low`` and the largest
  ``log_km_high``. It couples the samples and depends on the batch size.
- ``"sigmoid"`` (default): per element, ``low + (high - low) * sigmoid(x)``; every sample
  is independent of the others and of the batch size.

Shapes: noise ``(batch, latent_dim)``; ln Km ``(batch, n_km)``; flat weights
``(n_weights,)`` in the order of ``torch.nn.utils.parameters_to_vector`` (per layer:
weight ``(out, in)`` row-major, then bias).

Example:
    >>> g = KmGenerator(n_km=384)
    >>> g.n_weights
    1076352
    >>> z = torch.randn(5, 99, generator=torch.Generator().manual_seed(0))
    >>> lk = g(z)
    >>> lk.shape, bool(((lk >= -25) & (lk <= 3)).all())
    (torch.Size([5, 384]), True)
"""

from __future__ import annotations

import torch
from torch import nn

from kinflux import KinfluxError

__all__ = [
    "LATENT_DIM",
    "HIDDEN",
    "OUTPUT_MAPS",
    "KmGenerator",
    "map_log_km",
    "batched_log_km",
]

#: noise inputs of the published generator (one more input carries the label 1)
LATENT_DIM = 99
#: hidden widths of the published generator
HIDDEN = (256, 512, 1024)
#: slope of the LeakyReLU for negative inputs
LEAKY_SLOPE = 0.2
#: output maps into the Km bounds
OUTPUT_MAPS = ("sigmoid", "published")


def map_log_km(raw: torch.Tensor, low: float, high: float, output_map: str) -> torch.Tensor:
    """Raw generator outputs ``(..., batch, n_km)`` -> ln Km in ``[low, high]`` (ln mol/L).

    ``"published"`` maps each ``(batch, n_km)`` block affinely so that its minimum is
    ``low`` and its maximum ``high`` (a constant block maps to the midpoint);
    ``"sigmoid"`` maps each element by ``low + (high - low) * sigmoid(x)``.

    Example:
        >>> map_log_km(torch.tensor([[0.0, 1.0], [2.0, 4.0]]), -25.0, 3.0, "published")
        tensor([[-25., -18.],
                [-11.,   3.]])
    """
    if output_map == "sigmoid":
        return low + (high - low) * torch.sigmoid(raw)
    if output_map == "published":
        lo = raw.amin(dim=(-2, -1), keepdim=True)
        hi = raw.amax(dim=(-2, -1), keepdim=True)
        span = hi - lo
        unit = torch.where(span > 0, (raw - lo) / torch.where(span > 0, span, 1), 0.5)
        return low + (high - low) * unit
    raise KinfluxError(f"unknown output map '{output_map}'; choose one of {', '.join(OUTPUT_MAPS)}")


class KmGenerator(nn.Module):
    """The RENAISSANCE generator: noise ``(batch, latent_dim)`` -> ln Km ``(batch, n_km)``.

    Args:
        n_km: number of Michaelis constants (output width).
        latent_dim: Gaussian noise inputs (published 99); a constant label input 1 is
            appended, so the first layer has ``latent_dim + 1`` inputs.
        hidden: hidden layer widths (published 256, 512, 1024).
        log_km_low, log_km_high: Km bounds, ln(mol/L) (published -25, 3).
        output_map: ``"sigmoid"`` (per element) or ``"published"`` (batch min-max).
        generator: torch random generator for the Glorot-uniform initialization.
    """

    def __init__(
        self,
        n_km: int,
        latent_dim: int = LATENT_DIM,
        hidden: tuple[int, ...] = HIDDEN,
        log_km_low: float = -25.0,
        log_km_high: float = 3.0,
        output_map: str = "sigmoid",
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if int(n_km) < 1 or int(latent_dim) < 1 or not hidden:
            raise KinfluxError(f"need n_km >= 1, latent_dim >= 1, hidden layers; got {n_km}")
        if not log_km_low < log_km_high:
            raise KinfluxError(f"need log_km_low < log_km_high, got {log_km_low}, {log_km_high}")
        if output_map not in OUTPUT_MAPS:
            raise KinfluxError(f"unknown output map '{output_map}'; choose {OUTPUT_MAPS}")
        self.n_km, self.latent_dim = int(n_km), int(latent_dim)
        self.log_km_low, self.log_km_high = float(log_km_low), float(log_km_high)
        self.output_map = output_map
        sizes = [self.latent_dim + 1, *map(int, hidden), self.n_km]
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        g = generator if generator is not None else torch.Generator().manual_seed(0)
        with torch.no_grad():
            for lin in self.layers:
                nn.init.xavier_uniform_(lin.weight, generator=g)
                nn.init.zeros_(lin.bias)

    @property
    def n_weights(self) -> int:
        """Number of trainable numbers (weights and biases)."""
        return sum(p.numel() for p in self.parameters())

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """``(out, in)`` of every linear layer."""
        return [(lin.out_features, lin.in_features) for lin in self.layers]

    def raw(self, noise: torch.Tensor) -> torch.Tensor:
        """Last-layer outputs before the map, ``(batch, n_km)``."""
        h = _with_label(noise)
        for i, lin in enumerate(self.layers):
            h = lin(h)
            if i < len(self.layers) - 1:
                h = nn.functional.leaky_relu(h, LEAKY_SLOPE, inplace=True)
        return h

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        """ln Km (ln mol/L) ``(batch, n_km)`` from noise ``(batch, latent_dim)``."""
        return map_log_km(self.raw(noise), self.log_km_low, self.log_km_high, self.output_map)

    def flat(self) -> torch.Tensor:
        """All weights as one detached vector ``(n_weights,)``."""
        return nn.utils.parameters_to_vector(self.parameters()).detach().clone()

    def load_flat(self, w: torch.Tensor) -> KmGenerator:
        """Set all weights from a vector ``(n_weights,)``; returns self."""
        if w.numel() != self.n_weights:
            raise KinfluxError(f"expected {self.n_weights} weights, got {w.numel()}")
        with torch.no_grad():
            nn.utils.vector_to_parameters(w.to(self.layers[0].weight), self.parameters())
        return self


def _with_label(noise: torch.Tensor) -> torch.Tensor:
    return torch.cat([noise, torch.ones_like(noise[..., :1])], dim=-1)


def batched_log_km(
    generator: KmGenerator, weights: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """ln Km of several weight vectors at once: ``weights (P, n_weights)``, ``noise
    (P, batch, latent_dim)`` -> ``(P, batch, n_km)`` (ln mol/L), mapped as
    ``generator.output_map`` per member (the published min-max covers one member's
    batch, as in training)."""
    if weights.dim() != 2 or weights.shape[1] != generator.n_weights:
        raise KinfluxError(
            f"expected weights (P, {generator.n_weights}), got {tuple(weights.shape)}"
        )
    h = _with_label(noise.to(weights.dtype))
    off, shapes = 0, generator.shapes
    for i, (o, n_in) in enumerate(shapes):
        W = weights[:, off : off + o * n_in].reshape(-1, o, n_in)
        off += o * n_in
        b = weights[:, off : off + o]
        off += o
        h = torch.baddbmm(b[:, None, :], h, W.transpose(1, 2))
        if i < len(shapes) - 1:
            h = nn.functional.leaky_relu(h, LEAKY_SLOPE)
    return map_log_km(h, generator.log_km_low, generator.log_km_high, generator.output_map)
