"""Connectors: map student features to the teacher's width."""
from typing import Dict, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from rkd_mm.registry import MODELS


@MODELS.register_module()
class ConvConnector(BaseModule):
    """1x1 convolution (+ optional BN) from ``in_channels`` to
    ``out_channels``, e.g. R18's 512-channel C5 to R50's 2048 (FitNets'
    regressor, Romero et al. 2015). Trained with the student; used only
    while distilling, so the deployed student is unchanged.

    Args:
        in_channels: Student channels.
        out_channels: Teacher channels.
        norm: Add a BatchNorm after the convolution.
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm: bool = False, init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=not norm)
        self.norm = nn.BatchNorm2d(out_channels) if norm else nn.Identity()

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(feat))


@MODELS.register_module()
class UpsampleConnector(BaseModule):
    """Learned sub-pixel upsampling of an LR student map to the teacher's
    grid: a 1x1 convolution to ``out_channels * scale**2`` channels and a
    pixel shuffle (Shi et al., "Real-Time Single Image and Video
    Super-Resolution Using an Efficient Sub-Pixel Convolutional Neural
    Network", CVPR 2016), so each LR cell predicts its own ``scale x scale``
    HR sub-cells instead of a fixed bilinear blend of its neighbours.

    It aligns the maps of dense losses (pixel affinities, pixel MMD, a patch
    discriminator) by learning, as the paper's distillation does where the
    student's map is coarser than the teacher's. Trained with the student,
    dropped at deployment.

    Args:
        in_channels: Student channels.
        out_channels: Channels after upsampling (the teacher's, for losses
            that compare widths).
        scale: Integer upsampling factor (teacher grid / student grid, 2 at
            x0.5 and 4 at x0.25 in our configs).
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, out_channels: int, scale: int,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        if int(scale) != scale or scale < 1:
            raise ValueError(f'UpsampleConnector scale={scale}: an integer '
                             '>= 1 (the teacher grid over the student grid).')
        self.scale = int(scale)
        self.conv = nn.Conv2d(in_channels, out_channels * self.scale**2, 1)
        self.shuffle = nn.PixelShuffle(self.scale)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(feat))


@MODELS.register_module()
class LinearConnector(BaseModule):
    """Linear map for ``(N, C)`` features (4-D maps are pooled first).

    Args:
        in_channels: Student width.
        out_channels: Teacher width.
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        self.fc = nn.Linear(in_channels, out_channels)

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        if feat.dim() == 4:
            feat = feat.mean(dim=(2, 3))
        return self.fc(feat)


class ConnectorDict(nn.ModuleDict):
    """The distiller's connectors, keyed by student tap name.

    Called once per step with all recorded student taps, it returns them
    with each connected one replaced by its connector's output. One forward
    for all connectors keeps a DDP-wrapped ``ConnectorDict`` (MMEngine's
    separate-DDP wrapper wraps it as one module) to one forward per step.

    Args:
        cfgs: ``{student tap: connector config}``.
    """

    def __init__(self, cfgs: Optional[Dict[str, dict]] = None) -> None:
        super().__init__(
            {name: MODELS.build(cfg) for name, cfg in (cfgs or {}).items()})

    def forward(self, records: Dict[str, torch.Tensor]
                ) -> Dict[str, torch.Tensor]:
        out = dict(records)
        for name, connector in self.items():
            if name in out:
                out[name] = connector(out[name])
        return out
