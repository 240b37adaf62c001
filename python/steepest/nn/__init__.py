"""Networks: layers, and the models built from them (structure, predictions, parameters,
saving). Training lives in :mod:`steepest.train`."""

from steepest.nn.autoencoder import Autoencoder
from steepest.nn.layers import Dense, Dropout, Layer
from steepest.nn.mlp import MLP
from steepest.nn.saving import load
from steepest.nn.sequential import Sequential

__all__ = ["MLP", "Autoencoder", "Dense", "Dropout", "Layer", "Sequential", "load"]
