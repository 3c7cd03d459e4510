from .lr_downsample import (UPSAMPLE_MODES, LRDownsample, check_scale_factor,
                            downsample_image, downsample_tensor, lr_size,
                            upsample_tensor)

__all__ = [
    'LRDownsample', 'UPSAMPLE_MODES', 'check_scale_factor',
    'downsample_image', 'downsample_tensor', 'lr_size', 'upsample_tensor'
]
