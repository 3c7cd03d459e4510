"""tools/model_converters/mobilenetv2_torchvision_to_mmpretrain.py maps
torchvision's MobileNetV2 onto mmpretrain's: same features, to 1e-5.

The reference is torchvision's architecture written out here in plain torch
(torchvision itself is not imported), with random weights and BN
statistics, so the check needs no download."""
import importlib.util
import os.path as osp
import subprocess
import sys
from typing import List

import pytest
import torch
from torch import nn

import rkd_mm  # noqa: F401  (environment shims: import before mmpretrain)
from mmpretrain.models.backbones import MobileNetV2

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOOL = osp.join(ROOT, 'tools', 'model_converters',
                'mobilenetv2_torchvision_to_mmpretrain.py')


def _load_tool():
    spec = importlib.util.spec_from_file_location('mnv2_converter', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = _load_tool()


# ---- torchvision's MobileNetV2 (v0.8+ layout), written out ----------------
def _conv_bn_relu(in_ch: int, out_ch: int, stride: int = 1,
                  groups: int = 1, kernel: int = 3) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, kernel, stride, (kernel - 1) // 2,
                  groups=groups, bias=False), nn.BatchNorm2d(out_ch),
        nn.ReLU6(inplace=True))


class _InvertedResidual(nn.Module):

    def __init__(self, in_ch: int, out_ch: int, stride: int,
                 expand: int) -> None:
        super().__init__()
        hidden = in_ch * expand
        self.use_res = stride == 1 and in_ch == out_ch
        layers: List[nn.Module] = []
        if expand != 1:
            layers.append(_conv_bn_relu(in_ch, hidden, kernel=1))
        layers += [
            _conv_bn_relu(hidden, hidden, stride, groups=hidden),
            nn.Conv2d(hidden, out_ch, 1, 1, 0, bias=False),
            nn.BatchNorm2d(out_ch)
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class _TorchvisionMobileNetV2(nn.Module):
    SETTINGS = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2],
                [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        features: List[nn.Module] = [_conv_bn_relu(3, 32, stride=2)]
        in_ch = 32
        for t, c, n, s in self.SETTINGS:
            for i in range(n):
                features.append(
                    _InvertedResidual(in_ch, c, s if i == 0 else 1, t))
                in_ch = c
        features.append(_conv_bn_relu(in_ch, 1280, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(
            nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)


def _randomised_reference() -> _TorchvisionMobileNetV2:
    torch.manual_seed(0)
    net = _TorchvisionMobileNetV2(num_classes=7)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(7)
    return net.eval()


@pytest.fixture(scope='module')
def reference():
    return _randomised_reference()


def test_features_match_reference(reference):
    state = converter.convert_state_dict(reference.state_dict())
    assert all(k.startswith('backbone.') for k in state)
    assert not any('classifier' in k for k in state)
    backbone = MobileNetV2(widen_factor=1.0, out_indices=(7, ))
    backbone.load_state_dict(
        {k[len('backbone.'):]: v for k, v in state.items()}, strict=True)
    backbone.eval()  # (mmpretrain's train() returns None: no chaining)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected = reference(x)
        (got, ) = backbone(x)
    assert got.shape == expected.shape == (2, 1280, 2, 2)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_shape_mismatch_is_named(reference):
    state = dict(reference.state_dict())
    state['features.3.conv.1.0.weight'] = torch.zeros(144, 1, 5, 5)
    with pytest.raises(ValueError, match=r'features\.3\.conv\.1\.0\.weight'):
        converter.convert_state_dict(state)


def test_missing_and_unknown_keys(reference):
    state = dict(reference.state_dict())
    del state['features.18.1.running_var']
    with pytest.raises(KeyError, match='missing'):
        converter.convert_state_dict(state)
    state = dict(reference.state_dict(), **{'features.19.0.weight':
                                            torch.zeros(1)})
    with pytest.raises(KeyError, match='not part of MobileNetV2'):
        converter.convert_state_dict(state)


def test_cli_writes_safe_checkpoint(reference, tmp_path):
    src, dst = tmp_path / 'tv.pth', tmp_path / 'out' / 'mm.pth'
    torch.save(reference.state_dict(), src)
    subprocess.run([sys.executable, TOOL, str(src), str(dst)], check=True,
                   cwd=ROOT, capture_output=True)
    ckpt = torch.load(dst, map_location='cpu', weights_only=True)
    assert len(ckpt['state_dict']) == 312
    assert ckpt['meta']['source'] == 'tv.pth'
    # never overwrites
    result = subprocess.run([sys.executable, TOOL, str(src), str(dst)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0 and 'exists' in result.stderr
