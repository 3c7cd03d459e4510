from .hooks import NumClassCheckHook, ProgressBarHook, RNGStateHook
from .optimizers import MultiOptimWrapperConstructor
from .runner import DistillTestLoop, DistillValLoop

__all__ = [
    'NumClassCheckHook', 'ProgressBarHook', 'RNGStateHook',
    'MultiOptimWrapperConstructor', 'DistillValLoop', 'DistillTestLoop'
]
