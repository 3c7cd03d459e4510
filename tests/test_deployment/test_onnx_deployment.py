"""rkd_mm.deployment, tools/deployment/pytorch2onnx.py and
``benchmark.py --backend onnxruntime`` on the tiny configs and data."""
import copy
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config

from conftest import (TINY_LR, TINY_RKD, data_root_options, load_tool,
                      set_data_root)
from rkd_mm.deployment import (CheckpointMismatchError, DeployInputs,
                               OrtSettings,
                               build_deployed_model, compare_with_pytorch,
                               deploy_spec, export_onnx, iter_batches,
                               make_session, predictions_from_output,
                               preprocess_image, read_metadata, run_padded,
                               run_session)
from rkd_mm.apis.latency import build_eval_model
from rkd_mm.apis.lr_scale import set_lr_scale

# The tests extra brings onnx and onnxruntime, so CI (CI=true) runs these
# tests and fails if they are missing; an older dev venv skips them.
if os.environ.get('CI') != 'true':
    pytest.importorskip(
        'onnxruntime', reason='onnxruntime is missing: pip install -e '
        '".[tests]" (or ".[deploy]")')


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Random tiny checkpoints: LR-only, a distiller whose student has other
    weights, and that student extracted."""
    root = tmp_path_factory.mktemp('deploy_ckpts')
    torch.manual_seed(3)
    lr_only = build_eval_model(Config.fromfile(TINY_LR))
    torch.manual_seed(4)
    rkd = build_eval_model(Config.fromfile(TINY_RKD))
    paths = dict(lr_only=str(root / 'lr_only.pth'),
                 rkd=str(root / 'rkd.pth'),
                 student=str(root / 'student.pth'))
    torch.save(dict(meta=dict(iter=4), state_dict=lr_only.state_dict()),
               paths['lr_only'])
    torch.save(dict(meta=dict(iter=4), state_dict=rkd.state_dict()),
               paths['rkd'])
    torch.save(dict(state_dict=rkd.student.state_dict()), paths['student'])
    return paths


def tiny_cfg(path: str, data_root: str) -> Config:
    return set_data_root(Config.fromfile(path), data_root)


def test_deploy_spec_lr_only_and_distiller(tiny_data_root):
    lr = deploy_spec(tiny_cfg(TINY_LR, tiny_data_root))
    assert lr.input_shape == (3, 32, 32)  # x0.5 of the 64x64 data
    assert lr.label_size == (64, 64)
    assert lr.scale_factor == 0.5 and not lr.is_distiller
    assert lr.bgr_to_rgb and lr.mean == [123.675, 116.28, 103.53]
    assert lr.classes[0] == 'background'
    cfg = tiny_cfg(TINY_RKD, tiny_data_root)
    set_lr_scale(cfg, 0.25)
    rkd = deploy_spec(cfg)
    assert rkd.is_distiller
    assert rkd.input_shape == (3, 16, 16) and rkd.label_size == (64, 64)
    assert rkd.model_cfg.type == 'rkd_mm.LREncoderDecoder'
    # an explicit HR size needs no data
    assert deploy_spec(cfg, (128, 96)).input_shape == (3, 32, 24)
    cfg.model.student.data_preprocessor = dict(scale_factor=[0.5, 0.25],
                                               test_scale_factor=None)
    with pytest.raises(ValueError, match='test_scale_factor'):
        deploy_spec(cfg)


def test_lr_only_export_matches_pytorch_on_real_inputs(tiny_data_root,
                                                       ckpts, tmp_path):
    cfg = tiny_cfg(TINY_LR, tiny_data_root)
    spec = deploy_spec(cfg)
    model, loaded = build_deployed_model(spec, ckpts['lr_only'])
    assert 'a model checkpoint' in loaded
    path = export_onnx(model, spec, str(tmp_path / 'lr.onnx'))
    session = make_session(path, OrtSettings(threads=1))
    inputs, _ = DeployInputs(cfg, spec)(next(iter_batches(cfg)))
    out = run_session(session, inputs.numpy())
    with torch.no_grad():
        ref = model(inputs, mode='tensor').numpy()
    assert out.shape == ref.shape == (1, 5, 8, 8)
    assert np.abs(out - ref).max() <= 1e-4
    assert np.abs(ref).max() > 1e-3  # not a trivially zero output
    result = compare_with_pytorch(cfg, spec, model, session, score=True)
    assert result['num_images'] == 4
    assert result['max_abs_diff'] <= 1e-4
    assert result['label_mismatch_pixels'] == 0
    np.testing.assert_equal(result['onnx'], result['pytorch'])  # nan == nan
    meta = read_metadata(path)
    assert meta['input']['shape'] == [1, 3, 32, 32]
    assert meta['preprocess']['scale_factor'] == 0.5
    assert meta['label_size'] == [64, 64]
    assert meta['graph_output'] == 'logits'


@pytest.mark.parametrize('graph_output', ['hr_logits', 'labels'])
def test_in_graph_resize_gives_the_predictions_of_test_py(
        tiny_data_root, ckpts, tmp_path, graph_output):
    """The graph's HR logits / labels equal what the segmentor's own
    ``predict`` (``tools/test.py``'s path) gives, batch by batch."""
    cfg = tiny_cfg(TINY_LR, tiny_data_root)
    spec = deploy_spec(cfg)
    model, _ = build_deployed_model(spec, ckpts['lr_only'])
    path = export_onnx(model, spec, str(tmp_path / 'm.onnx'), graph_output,
                       batch_size=2)
    session = make_session(path, OrtSettings(threads=1))
    to_inputs = DeployInputs(cfg, spec)
    for data_batch in iter_batches(cfg, batch_size=2):
        with torch.no_grad():
            expected = model.test_step(copy.deepcopy(data_batch))
        inputs, samples = to_inputs(data_batch)
        out = run_session(session, inputs.numpy())
        if graph_output == 'hr_logits':
            assert out.shape == (2, 5, 64, 64)
            ref = torch.stack([s.seg_logits.data for s in expected])
            assert np.abs(out - ref.numpy()).max() <= 1e-4
        else:
            assert out.shape == (2, 64, 64) and out.dtype == np.int64
        preds = predictions_from_output(model, torch.from_numpy(out),
                                        samples, graph_output)
        for got, want in zip(preds, expected):
            assert torch.equal(got.pred_sem_seg.data,
                               want.pred_sem_seg.data)


def test_distiller_student_export_with_the_cli(tiny_data_root, ckpts,
                                               tmp_path):
    tool = load_tool('deployment/pytorch2onnx.py')
    out = str(tmp_path / 'student.onnx')
    report = tool.main([
        TINY_RKD, ckpts['rkd'], '--out', out, '--verify', '--test-miou',
        '--threads', '1', '--report', str(tmp_path / 'report.json'),
        '--cfg-options', *data_root_options(tiny_data_root)
    ])
    assert 'student of a distiller checkpoint' in report['loaded']
    check = report['check']
    assert check['passed'] and check['num_images'] == 4
    assert check['max_abs_diff'] <= 1e-4
    assert check['onnx']['mIoU'] == check['pytorch']['mIoU']
    assert json.load(open(tmp_path / 'report.json'))['check']['passed']
    # its labels are the distiller's own test-time predictions (the
    # distiller makes the LR view from the HR batch: tools/test.py's path)
    cfg = tiny_cfg(TINY_RKD, tiny_data_root)
    spec = deploy_spec(cfg)
    distiller = build_eval_model(cfg, ckpts['rkd'])
    session = make_session(out)
    for data_batch in iter_batches(cfg, batch_size=2):
        with torch.no_grad():
            expected = distiller.test_step(copy.deepcopy(data_batch))
        inputs, samples = DeployInputs(cfg, spec)(data_batch)
        logits = torch.from_numpy(run_padded(session, inputs.numpy()))
        for got, want in zip(
                predictions_from_output(distiller.student, logits, samples,
                                        'logits'), expected):
            assert torch.equal(got.pred_sem_seg.data,
                               want.pred_sem_seg.data)
    # the exported graph is the distiller's student: equal to exporting
    # the extracted student with the LR-only config
    out2 = str(tmp_path / 'extracted.onnx')
    tool.main([
        TINY_LR, ckpts['student'], '--out', out2, '--cfg-options',
        *data_root_options(tiny_data_root)
    ])
    x = np.random.default_rng(0).standard_normal(
        (1, 3, 32, 32)).astype(np.float32)
    a = run_session(make_session(out), x)
    b = run_session(make_session(out2), x)
    assert np.abs(a - b).max() <= 1e-6
    # and it is not the LR-only checkpoint's network
    out3 = str(tmp_path / 'lr_only.onnx')
    tool.main([
        TINY_LR, ckpts['lr_only'], '--out', out3, '--cfg-options',
        *data_root_options(tiny_data_root)
    ])
    assert np.abs(a - run_session(make_session(out3), x)).max() > 1e-4


def test_a_checkpoint_that_does_not_fit_is_refused(tiny_data_root, ckpts,
                                                   tmp_path):
    state = torch.load(ckpts['lr_only'], weights_only=True)['state_dict']
    state.pop('decode_head.conv_seg.bias')
    state['backbone.layer1.0.conv1.weight'] = torch.zeros(1)
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict=state), bad)
    spec = deploy_spec(tiny_cfg(TINY_LR, tiny_data_root))
    with pytest.raises(CheckpointMismatchError) as info:
        build_deployed_model(spec, bad)
    # the message names both kinds of mismatch
    assert '1 missing key (decode_head.conv_seg.bias)' in str(info.value)
    assert 'backbone.layer1.0.conv1.weight: checkpoint (1,)' in str(
        info.value)
    tool = load_tool('deployment/pytorch2onnx.py')
    with pytest.raises(SystemExit, match='does not fit'):
        tool.main([TINY_LR, bad, '--out', str(tmp_path / 'x.onnx'),
                   '--cfg-options', *data_root_options(tiny_data_root)])
    with pytest.raises(SystemExit, match='not found'):
        tool.main([TINY_LR, str(tmp_path / 'none.pth'), '--out',
                   str(tmp_path / 'x.onnx')])
    assert not osp.exists(tmp_path / 'x.onnx')


def test_int8_export_reports_its_own_accuracy(tiny_data_root, ckpts,
                                              tmp_path):
    tool = load_tool('deployment/pytorch2onnx.py')
    out = str(tmp_path / 'int8.onnx')
    report = tool.main([
        TINY_LR, ckpts['lr_only'], '--out', out, '--int8',
        '--calib-images', '4', '--test-miou', '--threads', '1',
        '--cfg-options', *data_root_options(tiny_data_root)
    ])
    check = report['check']
    # not required to match PyTorch: reported, and the run passes
    assert check['passed'] and 'mIoU' in check['onnx']
    meta = read_metadata(out)
    assert meta['precision'].startswith('int8')
    assert meta['input']['shape'] == [1, 3, 32, 32]
    import onnx
    ops = {n.op_type for n in onnx.load(out).graph.node}
    assert 'QuantizeLinear' in ops and 'DequantizeLinear' in ops
    spec = deploy_spec(tiny_cfg(TINY_LR, tiny_data_root))
    model, _ = build_deployed_model(spec, ckpts['lr_only'])
    fp32 = export_onnx(model, spec, str(tmp_path / 'fp32.onnx'))
    assert osp.getsize(out) < 0.5 * osp.getsize(fp32)  # int8 weights


def test_run_padded_splits_and_pads_static_batches(tiny_data_root,
                                                   tmp_path):
    cfg = tiny_cfg(TINY_LR, tiny_data_root)
    spec = deploy_spec(cfg)
    torch.manual_seed(0)
    model, _ = build_deployed_model(spec)
    static = make_session(export_onnx(model, spec, str(tmp_path / 's.onnx'),
                                      batch_size=2))
    dynamic = make_session(export_onnx(model, spec,
                                       str(tmp_path / 'd.onnx'),
                                       dynamic_batch=True))
    x = np.random.default_rng(1).standard_normal(
        (5, 3, 32, 32)).astype(np.float32)
    got = run_padded(static, x)
    assert got.shape == (5, 5, 8, 8)
    assert np.abs(got - run_session(dynamic, x)).max() <= 1e-5


def test_ort_settings_are_checked():
    assert OrtSettings(threads=None).resolved().threads == \
        torch.get_num_threads()
    with pytest.raises(ValueError, match='optimization'):
        OrtSettings(optimization='max').resolved()
    with pytest.raises(ValueError, match='execution_mode'):
        OrtSettings(execution_mode='async').resolved()
    with pytest.raises(ValueError, match='>= 1'):
        OrtSettings(threads=0).resolved()


def test_benchmark_onnxruntime_backend(tiny_data_root, tmp_path):
    out = str(tmp_path / 'bench.json')
    load_tool('analysis_tools/benchmark.py').main([
        TINY_RKD, '--backend', 'onnxruntime', '--warmup', '1', '--repeats',
        '3', '--batch-size', '2', '--threads', '1', '--out', out,
        '--cfg-options', *data_root_options(tiny_data_root)
    ])
    result = json.load(open(out))
    assert result['backend'] == 'onnxruntime'
    assert result['ort_settings']['threads'] == 1
    teacher, student = result['models']['teacher'], result['models']['student']
    assert teacher['input_shape'] == [3, 64, 64]
    assert student['input_shape'] == [3, 32, 32]
    for m in (teacher, student):
        assert m['n'] == 3 and m['min_ms'] > 0
        assert m['fps'] == pytest.approx(2 * 1000 / m['median_ms'])
    assert result['speedup_vs_flops'] == pytest.approx(
        result['latency_ratio'] / result['flops_ratio'])


@pytest.mark.parametrize('config', [TINY_LR, TINY_RKD])
def test_preprocess_from_metadata_gives_the_pipeline_inputs(
        tiny_data_root, tmp_path, config):
    """A deployment reading only the ONNX file feeds the network the
    pixels tools/test.py feeds it (LR-only pipeline or distiller LR view).
    """
    import cv2
    cfg = tiny_cfg(config, tiny_data_root)
    spec = deploy_spec(cfg)
    torch.manual_seed(0)
    model, _ = build_deployed_model(spec)
    meta = read_metadata(export_onnx(model, spec, str(tmp_path / 'm.onnx')))
    to_inputs = DeployInputs(cfg, spec)
    for data_batch in iter_batches(cfg):
        expected, samples = to_inputs(data_batch)
        img = cv2.imread(samples[0].metainfo['img_path'])
        got = preprocess_image(img, meta)
        assert got.shape == (1, 3, 32, 32)
        np.testing.assert_array_equal(got, expected.numpy())


def test_a_classifier_is_refused_with_what_to_use_instead(tmp_path):
    from conftest import TINY_CLS_LR
    spec = deploy_spec(Config.fromfile(TINY_CLS_LR), (28, 28))
    with pytest.raises(TypeError, match='segmentors only.*ImageClassifier'):
        build_deployed_model(spec)
