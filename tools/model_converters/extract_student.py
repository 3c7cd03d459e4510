"""Extract the trained student from a distiller checkpoint.

Usage::

    python tools/model_converters/extract_student.py DISTILL_CKPT OUT.pth

Writes a plain mmseg checkpoint of the student (``{'state_dict': ...,
'meta': ...}``, tensors only, loadable with ``torch.load(...,
weights_only=True)``). Test it with the student's own LR config, e.g.
``python tools/test.py configs/baselines/defect_seg_r18_lr.py OUT.pth``;
it scores exactly as the distiller did. Connectors and the discriminator
are training-only and are dropped.
"""
import argparse
import os.path as osp

import torch

import rkd_mm  # noqa: F401  (environment shims)
from rkd_mm.utils.checkpoint import (read_checkpoint, split_student_state,
                                     state_dict_of)


def extract_student(src: str, dst: str) -> dict:
    """Write the student of distiller checkpoint ``src`` to ``dst``.

    Returns:
        dict: ``num_tensors`` kept and ``dropped`` key prefixes.
    """
    if not osp.exists(src):
        raise FileNotFoundError(f'{src} not found.')
    if osp.exists(dst):
        raise FileExistsError(f'{dst} exists; choose another output path.')
    ckpt = read_checkpoint(src, map_location='cpu')  # runs no code
    state = state_dict_of(ckpt, src)
    student, other = split_student_state(state)
    if not student:
        raise KeyError(
            f'{src} has no "student." weights: it is not a checkpoint of '
            'rkd_mm.ResolutionAwareDistiller (a plain model checkpoint is '
            'already usable as it is).')
    meta = ckpt.get('meta', {})
    dataset_meta = meta.get('dataset_meta') or {}
    # plain Python types only, so that weights_only=True can load it
    plain_meta = dict(source=osp.abspath(src), iter=int(meta.get('iter', -1)))
    if 'classes' in dataset_meta:
        plain_meta['classes'] = [str(c) for c in dataset_meta['classes']]
    if 'palette' in dataset_meta:
        plain_meta['palette'] = [[int(v) for v in p]
                                 for p in dataset_meta['palette']]
    torch.save(dict(state_dict=student, meta=plain_meta), dst)
    torch.load(dst, map_location='cpu', weights_only=True)  # proves it
    return dict(num_tensors=len(student),
                dropped=sorted({k.split('.')[0] for k in other}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Extract the student from a distiller checkpoint')
    parser.add_argument('src', help='distiller checkpoint (.pth)')
    parser.add_argument('dst', help='output student checkpoint (.pth)')
    args = parser.parse_args()
    info = extract_student(args.src, args.dst)
    print(f'wrote {args.dst}: {info["num_tensors"]} student tensors; '
          f'dropped {info["dropped"] or "nothing"}')


if __name__ == '__main__':
    main()
