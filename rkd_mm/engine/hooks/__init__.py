from .num_class_check_hook import NumClassCheckHook
from .progress_bar_hook import ProgressBarHook
from .rng_state_hook import RNGStateHook

__all__ = ['NumClassCheckHook', 'ProgressBarHook', 'RNGStateHook']
