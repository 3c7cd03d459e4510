from .autocast_optim_wrapper import (AutocastOptimWrapper,
                                     amp_optim_wrapper_cfg)
from .multi_optim_wrapper_constructor import MultiOptimWrapperConstructor

__all__ = [
    'AutocastOptimWrapper', 'MultiOptimWrapperConstructor',
    'amp_optim_wrapper_cfg'
]
