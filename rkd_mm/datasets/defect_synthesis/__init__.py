"""Procedural defect segmentation data (textures + defect renderers)."""
from .defects import CLASSES, DEFECT_KINDS, PALETTE
from .generator import (DefectDataSettings, DefectSample, ensure_dataset,
                        generate_dataset, read_meta, render_sample,
                        sample_rng)

__all__ = [
    'CLASSES', 'DEFECT_KINDS', 'PALETTE', 'DefectDataSettings',
    'DefectSample', 'ensure_dataset', 'generate_dataset', 'read_meta',
    'render_sample', 'sample_rng'
]
