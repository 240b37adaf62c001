"""Networks: layers, and the models built from them (structure, predictions, parameters,
saving). Training lives in :mod:`steepest.train`."""

from steepest.nn.autoencoder import Autoencoder
from steepest.nn.layers import Dense, Dropout, Layer
from steepest.nn.mlp import MLP
from steepest.nn.saving import load
from steepest.nn.sequential import Sequential
from steepest.nn.vae import VAE

__all__ = ["MLP", "VAE", "Autoencoder", "Dense", "Dropout", "Layer", "Sequential", "load"]
