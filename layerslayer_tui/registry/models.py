"""The image values, re-exported for compatibility: they live in `layerslayer_tui.image`."""

from layerslayer_tui.image import Descriptor, HistoryStep, ImageInfo, LayerInfo, Platform

__all__ = ["Descriptor", "HistoryStep", "ImageInfo", "LayerInfo", "Platform"]
