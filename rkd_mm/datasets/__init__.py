from .elpv import ELPVDataset
from .fashion_mnist import OfflineFashionMNIST
from .lfw_pairs import LFWPairsDataset
from .market1501 import Market1501Dataset
from .samplers import PKBatchSampler
from .synthetic_defect import SyntheticDefectDataset

__all__ = [
    'ELPVDataset', 'OfflineFashionMNIST', 'LFWPairsDataset',
    'Market1501Dataset', 'PKBatchSampler', 'SyntheticDefectDataset'
]
