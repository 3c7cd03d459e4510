"""Segmentors the task library lacks."""
from .lr_encoder_decoder import LREncoderDecoder

__all__ = ['LREncoderDecoder']
