from .hooks import (NonFiniteLossHook, NumClassCheckHook, ProgressBarHook,
                    ResumeCheckHook, RNGStateHook, StrictLoadHook,
                    register_strict_load_hook)
from .optimizers import AutocastOptimWrapper, MultiOptimWrapperConstructor
from .runner import DistillTestLoop, DistillValLoop

__all__ = [
    'NonFiniteLossHook', 'NumClassCheckHook', 'ProgressBarHook',
    'ResumeCheckHook', 'RNGStateHook', 'StrictLoadHook',
    'register_strict_load_hook', 'AutocastOptimWrapper',
    'MultiOptimWrapperConstructor', 'DistillValLoop', 'DistillTestLoop'
]
