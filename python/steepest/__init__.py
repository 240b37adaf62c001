"""steepest: fast dense neural networks on the CPU.

SIMD C++ kernels chosen at import for this CPU, a training loop that runs natively with the
GIL released, autoencoders, and scikit-learn estimators.
"""

from steepest import ops
from steepest._config import get_num_threads, set_num_threads, show_config, simd_level
from steepest._core import __version__

__all__ = [
    "__version__",
    "get_num_threads",
    "ops",
    "set_num_threads",
    "show_config",
    "simd_level",
]
