"""MLP discriminator on globally pooled features."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from rkd_mm.registry import MODELS


@MODELS.register_module()
class FeatureDiscriminator(BaseModule):
    """Tells teacher (HR) features from student (LR) features, per image.

    ``(N, C, H, W)`` maps are globally average-pooled to ``(N, C)`` (so HR
    and LR maps of any size compare); ``(N, C)`` vectors are used as they
    are. Then ``num_layers`` linear layers with LeakyReLU(0.2) and a final
    linear layer give one logit per image.

    Args:
        in_channels: Feature width C (the teacher's, or the connector's).
        hidden_channels: Width of the hidden layers.
        num_layers: Number of hidden layers.
        spectral_norm: Wrap the linear layers in spectral normalisation
            (stabilises the adversarial game).
        init_cfg: MMEngine init config.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 256,
                 num_layers: int = 2, spectral_norm: bool = False,
                 init_cfg=None) -> None:
        super().__init__(init_cfg)
        layers = []
        width = in_channels
        for _ in range(num_layers):
            layers += [self._linear(width, hidden_channels, spectral_norm),
                       nn.LeakyReLU(0.2, inplace=True)]
            width = hidden_channels
        layers.append(self._linear(width, 1, spectral_norm))
        self.mlp = nn.Sequential(*layers)
        self.in_channels = in_channels

    @staticmethod
    def _linear(cin: int, cout: int, sn: bool) -> nn.Module:
        layer = nn.Linear(cin, cout)
        return nn.utils.spectral_norm(layer) if sn else layer

    def forward(self, feat: torch.Tensor) -> torch.Tensor:
        """Return ``(N, 1)`` real/fake logits."""
        if feat.dim() == 4:
            feat = feat.mean(dim=(2, 3))
        if feat.shape[1] != self.in_channels:
            raise ValueError(
                f'FeatureDiscriminator(in_channels={self.in_channels}) got '
                f'features of width {feat.shape[1]}: set in_channels to the '
                'width of the tapped features (after any connector).')
        return self.mlp(feat)
