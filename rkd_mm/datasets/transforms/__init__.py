from .lr_downsample import (LRDownsample, check_scale_factor,
                            downsample_image, downsample_tensor, lr_size)

__all__ = [
    'LRDownsample', 'check_scale_factor', 'downsample_image',
    'downsample_tensor', 'lr_size'
]
