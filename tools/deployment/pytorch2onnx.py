"""Export a config's deployed network (a distiller's student) to ONNX.

Usage::

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT --out FILE.onnx
        [--graph-output {logits,hr_logits,labels}] [--batch-size 1]
        [--dynamic-batch] [--opset 17] [--shape H [W]]
        [--verify] [--test-miou] [--tolerance 1e-4] [--num-images N]
        [--int8] [--calib-images 64] [--threads N] [--report FILE.json]
        [--cfg-options key=value ...]

CONFIG and CHECKPOINT may be an LR-only config with its checkpoint or an
extracted student (``tools/model_converters/extract_student.py``), or a
``ResolutionAwareDistiller`` config with its checkpoint (its student is
exported) or with an extracted student; a teacher (HR) config exports the
teacher. The input size is the config's: the HR test image size (or
``--shape``) times the LR data preprocessor's test scale, e.g. 32x32 for
the x0.25 configs.

The graph takes the *normalised* LR image (float32 NCHW; the LR resize,
BGR->RGB and mean/std stay outside, as in mmdeploy; their values are in the
file's metadata) and returns ``--graph-output``:

* ``logits`` (default): the raw logit grid at stride 4 of the input. Resize
  it bilinearly (``align_corners=False``) to the label size in one step and
  take the arg-max to get ``tools/test.py``'s labels;
* ``hr_logits``: that resize inside the graph (``seg_logits`` of
  ``tools/test.py``);
* ``labels``: resize and arg-max inside the graph (``pred_sem_seg``).

``--verify`` runs PyTorch and onnxruntime on the test split and fails
unless the outputs agree within ``--tolerance``; ``--test-miou`` also
scores both with the config's evaluator and fails unless the mIoU is
identical. ``--int8`` writes a statically quantized model instead
(calibrated on train images); its accuracy is its own, so it is reported,
not required to match.
"""
import argparse
import json
import math
import os
import os.path as osp
import sys
import tempfile
import time
from typing import List, Optional

import rkd_mm  # noqa: F401  (environment shims before mmengine runs)
import torch
from mmengine.config import Config, DictAction

from rkd_mm.deployment import (GRAPH_OUTPUTS, OrtSettings,
                               build_deployed_model, calibration_inputs,
                               compare_with_pytorch,
                               deploy_spec, export_onnx, import_onnxruntime,
                               make_session, quantize_int8, read_metadata,
                               spec_dict)
from rkd_mm.deployment.export import write_metadata
from rkd_mm.utils.checkpoint import CheckpointError


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a config\'s deployed network (a distiller\'s '
        'student) to ONNX and check it in onnxruntime')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint: the config\'s own, a distiller\'s '
        '(its student is exported) or an extracted student')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument(
        '--graph-output', choices=GRAPH_OUTPUTS, default='logits',
        help='what the graph returns: raw logits at stride 4 (default), '
        'logits resized to the label size, or labels (arg-max)')
    parser.add_argument(
        '--batch-size', type=int, default=1,
        help='static batch size of the graph (default 1)')
    parser.add_argument(
        '--dynamic-batch', action='store_true',
        help='dynamic batch axis (about 10%% slower at batch 1 for the '
        'x0.25 student: shape arithmetic is not folded)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset')
    parser.add_argument(
        '--shape', type=int, nargs='+',
        help='HR input size H [W] instead of the test data\'s')
    parser.add_argument(
        '--verify', action='store_true',
        help='compare onnxruntime with PyTorch on the test split')
    parser.add_argument(
        '--test-miou', action='store_true',
        help='also score both on the test split (the config\'s evaluator)')
    parser.add_argument(
        '--tolerance', type=float, default=1e-4,
        help='largest accepted |ONNX - PyTorch| of the graph output')
    parser.add_argument(
        '--num-images', type=int,
        help='check on the first N test images only (default: all; '
        '--test-miou always uses all)')
    parser.add_argument(
        '--int8', action='store_true',
        help='write an int8 (static, QDQ) model calibrated on train images')
    parser.add_argument(
        '--calib-images', type=int, default=64,
        help='train images for the int8 calibration')
    parser.add_argument(
        '--threads', type=int,
        help='onnxruntime intra-op threads for the checks (default: '
        'torch\'s)')
    parser.add_argument(
        '--report', help='write the export and check results as JSON here')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings in the config, key=value pairs')
    return parser.parse_args(argv)


def check_args(args: argparse.Namespace) -> None:
    """Refuse arguments that cannot work, before any model is built."""
    if not osp.isfile(args.checkpoint):
        raise SystemExit(f'checkpoint {args.checkpoint} not found.')
    if not args.out.endswith('.onnx'):
        raise SystemExit(f'--out {args.out}: use a .onnx file name.')
    if args.batch_size < 1:
        raise SystemExit(f'--batch-size {args.batch_size} must be >= 1.')
    if args.shape is not None and len(args.shape) not in (1, 2):
        raise SystemExit('--shape takes H or H W.')
    if args.num_images is not None and args.num_images < 1:
        raise SystemExit(f'--num-images {args.num_images} must be >= 1.')
    if args.threads is not None and args.threads < 1:
        raise SystemExit(f'--threads {args.threads} must be >= 1.')
    if args.calib_images < args.batch_size:
        raise SystemExit(f'--calib-images {args.calib_images} must be at '
                         f'least --batch-size {args.batch_size}.')
    if args.tolerance <= 0:
        raise SystemExit(f'--tolerance {args.tolerance} must be > 0.')
    import_onnxruntime()  # a clear message if the deploy extra is missing


def export(args: argparse.Namespace, cfg: Config) -> dict:
    """Build, load, export (and quantize); return what was written."""
    shape = None
    if args.shape:
        shape = args.shape * 2 if len(args.shape) == 1 else args.shape
    spec = deploy_spec(cfg, shape)
    try:
        model, loaded = build_deployed_model(spec, args.checkpoint)
    except (CheckpointError, TypeError) as err:
        # checkpoint missing/unreadable/unsafe/unfit; a model it cannot export
        raise SystemExit(str(err)) from None
    print(f'loaded {loaded}')
    source = dict(config=args.config, checkpoint=args.checkpoint)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not args.int8:
        export_onnx(model, spec, args.out, args.graph_output,
                    args.batch_size, args.dynamic_batch, args.opset,
                    metadata=dict(source=source, precision='fp32'))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = export_onnx(
                model, spec, osp.join(tmp, 'fp32.onnx'), args.graph_output,
                args.batch_size, args.dynamic_batch, args.opset,
                metadata=dict(source=source))
            calib = calibration_inputs(cfg, spec, args.calib_images,
                                       args.batch_size)
            quantize_int8(fp32, args.out, calib)
            meta = {k: json.dumps(v) for k, v in read_metadata(fp32).items()}
        meta['precision'] = json.dumps(
            f'int8 (static QDQ, per-channel weights, calibrated on '
            f'{sum(len(b) for b in calib)} train images)')
        write_metadata(args.out, meta)
    return dict(model=model, spec=spec, loaded=loaded)


def print_export(args: argparse.Namespace, spec) -> None:
    c, h, w = spec.input_shape
    batch = 'N' if args.dynamic_batch else args.batch_size
    out_shape = {
        'logits': 'N x K x h/4 x w/4 (raw logits)',
        'hr_logits': f'N x K x {spec.label_size[0]} x {spec.label_size[1]}',
        'labels': f'N x {spec.label_size[0]} x {spec.label_size[1]} int64'
    }[args.graph_output]
    size_mb = osp.getsize(args.out) / 2**20
    role = 'student of the distiller' if spec.is_distiller else 'model'
    print(f'wrote {args.out} ({size_mb:.1f} MiB, '
          f'{"int8" if args.int8 else "fp32"}, opset {args.opset}): the '
          f'{role}, input "input" {batch}x{c}x{h}x{w} (x{spec.scale_factor:g}'
          f' of {spec.label_size[0]}x{spec.label_size[1]}), output '
          f'"{args.graph_output}" {out_shape}')
    print(f'input = (RGB if bgr_to_rgb) (image - mean) / std with '
          f'bgr_to_rgb={spec.bgr_to_rgb}, mean={spec.mean}, std={spec.std}'
          + (', after the cv2.INTER_AREA resize of the HR image'
             if spec.scale_factor != 1.0 else ''))


def check(args: argparse.Namespace, cfg: Config, built: dict) -> dict:
    """Compare onnxruntime with PyTorch; SystemExit(1) on a failure."""
    session = make_session(args.out, OrtSettings(threads=args.threads))
    limit = None if args.test_miou else args.num_images
    start = time.perf_counter()
    result = compare_with_pytorch(
        cfg, built['spec'], built['model'], session, args.graph_output,
        batch_size=max(args.batch_size, 8), limit=limit,
        score=args.test_miou)
    result['seconds'] = round(time.perf_counter() - start, 1)
    print(format_check(result, args.graph_output))
    failures = []
    diff = result['max_abs_diff']
    if not args.int8 and diff is not None and diff > args.tolerance:
        failures.append(f'max |ONNX - PyTorch| {diff:.3g} > tolerance '
                        f'{args.tolerance:g}')
    if not args.int8 and args.test_miou and not _same(
            result['onnx']['mIoU'], result['pytorch']['mIoU']):
        failures.append('the test mIoU differs')
    result['passed'] = not failures
    if failures:
        print('FAILED: ' + '; '.join(failures), file=sys.stderr)
    return result


def _same(a: float, b: float) -> bool:
    """Equal, counting two NaNs (no class present) as equal."""
    return a == b or (math.isnan(a) and math.isnan(b))


def format_check(result: dict, graph_output: str) -> str:
    lines = [f'checked on {result["num_images"]} test images '
             f'({result["seconds"]} s):']
    if result['max_abs_diff'] is not None:
        lines.append(f'  {graph_output}: max |ONNX - PyTorch| = '
                     f'{result["max_abs_diff"]:.3g} (largest |logit| '
                     f'{result["max_abs_logit"]:.3g})')
    lines.append(f'  predicted labels that differ: '
                 f'{result["label_mismatch_pixels"]:,} of '
                 f'{result["num_pixels"]:,} pixels')
    if 'onnx' in result:
        names = [k for k in result['pytorch'] if k in result['onnx']]
        lines.append(f'  {"test metric":<22} {"PyTorch":>8} {"ONNX":>8}')
        for name in names:
            lines.append(f'  {name:<22} {result["pytorch"][name]:>8.2f} '
                         f'{result["onnx"][name]:>8.2f}')
    return '\n'.join(lines)


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    check_args(args)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    built = export(args, cfg)
    print_export(args, built['spec'])
    report = dict(config=args.config, checkpoint=args.checkpoint,
                  out=args.out, loaded=built['loaded'],
                  graph_output=args.graph_output, int8=args.int8,
                  batch_size=args.batch_size,
                  dynamic_batch=args.dynamic_batch, opset=args.opset,
                  spec=spec_dict(built['spec']))
    if args.verify or args.test_miou:
        report['check'] = check(args, cfg, built)
    if args.report:
        os.makedirs(osp.dirname(osp.abspath(args.report)), exist_ok=True)
        with open(args.report, 'w') as f:
            json.dump(report, f, indent=2)
        print(f'report written to {args.report}')
    if not report.get('check', {}).get('passed', True):
        raise SystemExit(1)
    return report


if __name__ == '__main__':
    main()
