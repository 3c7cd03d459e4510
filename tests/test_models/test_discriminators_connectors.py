"""Discriminators and connectors: shapes, size-independence, bad input."""
import pytest
import torch

from rkd_mm.models import (ConvConnector, FeatureDiscriminator,
                           LinearConnector, PatchDiscriminator)
from rkd_mm.models.connectors import ConnectorDict


def test_feature_discriminator_takes_maps_of_any_size():
    d = FeatureDiscriminator(in_channels=8, hidden_channels=16)
    hr, lr = torch.randn(3, 8, 32, 32), torch.randn(3, 8, 8, 8)
    assert d(hr).shape == (3, 1) and d(lr).shape == (3, 1)
    # pooled input gives the same answer as the map
    assert torch.allclose(d(hr), d(hr.mean(dim=(2, 3))))
    with pytest.raises(ValueError, match='in_channels'):
        d(torch.randn(3, 4))


def test_patch_discriminator_uses_a_common_grid():
    d = PatchDiscriminator(in_channels=8, grid_size=8, base_channels=8)
    out_hr = d(torch.randn(2, 8, 32, 32))
    out_lr = d(torch.randn(2, 8, 8, 8))
    assert out_hr.shape == out_lr.shape and out_hr.shape[:2] == (2, 1)
    with pytest.raises(ValueError, match='in_channels'):
        d(torch.randn(2, 4, 8, 8))


@pytest.mark.parametrize('grid,num_convs,widths,strides,out', [
    (8, 3, [64, 64, 128], [1, 2, 2], 2),
    (32, 4, [64, 64, 128, 256], [1, 2, 2, 2], 4),
    (32, 6, [64, 64, 128, 256, 256, 256], [1, 2, 2, 2, 2, 1], 2),
    (3, 3, [64, 64, 64], [1, 1, 1], 3),  # too small to stride
])
def test_patch_discriminator_strides_and_widths_as_documented(
        grid, num_convs, widths, strides, out):
    d = PatchDiscriminator(in_channels=8, grid_size=grid, base_channels=64,
                           num_convs=num_convs)
    convs = [m for m in d.convs if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs[:-1]] == widths
    assert [c.stride[0] for c in convs[:-1]] == strides
    assert convs[-1].kernel_size == (1, 1) and convs[-1].out_channels == 1
    assert d(torch.randn(1, 8, grid, grid)).shape == (1, 1, out, out)


def test_connectors_map_widths():
    assert ConvConnector(512, 2048)(torch.randn(2, 512, 4, 4)).shape == \
        (2, 2048, 4, 4)
    assert LinearConnector(8, 16)(torch.randn(2, 8, 3, 3)).shape == (2, 16)
    conns = ConnectorDict(
        dict(c5=dict(type='rkd_mm.ConvConnector', in_channels=4,
                     out_channels=6)))
    out = conns(dict(c5=torch.randn(1, 4, 2, 2), logits=torch.ones(1, 3)))
    assert out['c5'].shape == (1, 6, 2, 2)
    assert torch.equal(out['logits'], torch.ones(1, 3))  # passed through


def test_upsample_connector_is_a_learned_sub_pixel_upsampling():
    from rkd_mm.models.connectors import UpsampleConnector
    torch.manual_seed(0)
    conn = UpsampleConnector(3, 2, scale=2)
    x = torch.randn(1, 3, 2, 3)
    out = conn(x)
    assert out.shape == (1, 2, 4, 6)
    w = conn.conv.weight[:, :, 0, 0]
    b = conn.conv.bias
    # HR cell (2i + a, 2j + b) of channel c is 1x1-conv output channel
    # c * 4 + a * 2 + b at LR cell (i, j)
    for c in range(2):
        for i in range(2):
            for j in range(3):
                for a in range(2):
                    for bb in range(2):
                        k = c * 4 + a * 2 + bb
                        ref = (w[k] * x[0, :, i, j]).sum() + b[k]
                        assert out[0, c, 2 * i + a, 2 * j + bb].item() == \
                            pytest.approx(ref.item(), abs=1e-6)
    with pytest.raises(ValueError, match='integer'):
        UpsampleConnector(3, 2, scale=1.5)
