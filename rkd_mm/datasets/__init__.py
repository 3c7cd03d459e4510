from .elpv import ELPVDataset
from .fashion_mnist import OfflineFashionMNIST
from .synthetic_defect import SyntheticDefectDataset
from .transforms import LRDownsample

__all__ = [
    'ELPVDataset', 'OfflineFashionMNIST', 'SyntheticDefectDataset',
    'LRDownsample'
]
