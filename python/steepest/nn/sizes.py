"""The layer sizes the models are given: checked once, for all of them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, List, Optional

from steepest._validation import positive_int


def layer_sizes_of(sizes: Any) -> List[int]:
    """``sizes`` as a list of at least two positive ints (input, then each layer's width)."""
    if not isinstance(sizes, Iterable) or isinstance(sizes, str):
        raise TypeError(f"layer_sizes must be a list of ints, got {type(sizes).__name__}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}")
    return [positive_int(size, f"layer_sizes[{i}]") for i, size in enumerate(sizes)]


def decoder_sizes_of(encoder_sizes: List[int], decoder_sizes: Optional[Any]) -> List[int]:
    """The decoder's sizes from the latent size back to the input size: ``decoder_sizes``
    checked, or the encoder's mirrored."""
    decoder = layer_sizes_of(decoder_sizes) if decoder_sizes is not None else encoder_sizes[::-1]
    if decoder[0] != encoder_sizes[-1] or decoder[-1] != encoder_sizes[0]:
        raise ValueError(f"decoder_sizes must go from the latent size {encoder_sizes[-1]} back to the input size {encoder_sizes[0]}, got {list(decoder)}")
    return decoder
