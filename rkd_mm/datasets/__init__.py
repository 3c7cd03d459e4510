from .synthetic_defect import SyntheticDefectDataset
from .transforms import LRDownsample

__all__ = ['SyntheticDefectDataset', 'LRDownsample']
