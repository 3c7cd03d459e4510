"""Small convolutional discriminator on feature maps (PatchGAN style)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

from rkd_mm.registry import MODELS


@MODELS.register_module()
class PatchDiscriminator(BaseModule):
    """Judges each region of a feature map as teacher-like or student-like.

    HR teacher and LR student maps have different sizes, so every map is
    first area-pooled (``adaptive_avg_pool2d``) to a common ``grid_size``
    (choose the student's map size or smaller, so nothing is invented by
    upsampling). Then ``num_convs`` 3x3 convolutions (padding 1) with
    LeakyReLU(0.2) and a final 1x1 convolution to one channel give a map of
    patch logits (Isola et al., pix2pix, CVPR 2017):

    * **Stride.** The first convolution has stride 1. Each later one has
      stride 2 if the smaller side of the map it receives is at least 4,
      else stride 1 (a side ``s`` becomes ``ceil(s / 2)``).
    * **Channels.** The first convolution outputs ``base_channels``. The
      convolution *after* a stride-2 one outputs twice as many as that
      stride-2 one did, capped at ``4 * base_channels``; after a stride-1
      one the width stays.

    E.g. ``grid_size=8, base_channels=64, num_convs=3``: 8x8 -> 64 ch (s1),
    4x4 -> 64 ch (s2), 2x2 -> 128 ch (s2), then 1x1 -> 2x2 logits; with
    ``grid_size=32, num_convs=4``: widths 64, 64, 128, 256 at sides 32, 16,
    8, 4.

    Args:
        in_channels: Channels of the tapped maps (after any connector).
        grid_size: Common spatial size ``(h, w)`` (int for square).
        base_channels: Channels of the first convolution.
        num_convs: Number of 3x3 convolutions.
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, grid_size=8,
                 base_channels: int = 64, num_convs: int = 3,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.grid_size = (grid_size, grid_size) if isinstance(
            grid_size, int) else tuple(grid_size)
        self.in_channels = in_channels
        layers = []
        cin, cout, size = in_channels, base_channels, min(self.grid_size)
        for i in range(num_convs):
            stride = 2 if i > 0 and size >= 4 else 1
            size = (size + stride - 1) // stride
            layers += [nn.Conv2d(cin, cout, 3, stride, 1),
                       nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
            if stride == 2:
                cout = min(cout * 2, base_channels * 4)
        layers.append(nn.Conv2d(cin, 1, 1))
        self.convs = nn.Sequential(*layers)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """Return ``(N, 1, h', w')`` patch logits."""
        if feat.dim() != 4 or feat.shape[1] != self.in_channels:
            raise ValueError(
                f'PatchDiscriminator(in_channels={self.in_channels}) takes '
                f'(N, {self.in_channels}, H, W) maps, got '
                f'{tuple(feat.shape)}.')
        if tuple(feat.shape[-2:]) != self.grid_size:
            # (at the grid size already the pooling is the identity, bit
            # for bit, but its CPU kernel still costs ~7 ms at 8x128x32x32)
            feat = F.adaptive_avg_pool2d(feat, self.grid_size)
        return self.convs(feat)
