"""tools/analysis_tools/loss_gradients.py on the tiny configs (in-process)."""
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner.checkpoint import load_checkpoint
from mmengine.runner.utils import set_random_seed

from conftest import (TINY_LR, TINY_RKD, data_root_options,
                      load_tool)
from rkd_mm.utils.lr_view import downsample_tensor
from rkd_mm.registry import MODELS
from rkd_mm.apis.loss_gradients import calibrate

RKD_TERMS = {'student.decode.loss_ce', 'student.decode.loss_lovasz', 'task',
             'distill.loss_kd', 'distill.loss_pair', 'distill.loss_mmd',
             'distill.loss_adv'}
DISTILL_TERMS = {k for k in RKD_TERMS if k.startswith('distill.')}
# the adversarial term is reported, never calibrated at initialisation
CALIBRATED = DISTILL_TERMS - {'distill.loss_adv'}


tool = load_tool('analysis_tools/loss_gradients.py')


def run(config, *args, options=()):
    return tool.main([config, *args, '--device', 'cpu', '--cfg-options',
                      *options])


@pytest.fixture(scope='module')
def calibrated(tiny_data_root, tmp_path_factory):
    """Two batches at the seeded initialisation, random teacher, R=0.1."""
    out = str(tmp_path_factory.mktemp('grads') / 'grads.json')
    options = [*data_root_options(tiny_data_root), 'model.teacher_ckpt=None']
    result = run(TINY_RKD, '--batches', '2', '--target-ratio', '0.1',
                 '--out', out, options=options)
    return result, out, options


def test_json_has_every_term(calibrated):
    result, out, _ = calibrated
    assert json.load(open(out)) == result
    assert set(result['terms']) == RKD_TERMS
    assert result['batches'] == 2 and result['target_ratio'] == 0.1
    for name, row in result['terms'].items():
        assert {'value', 'grad_norm', 'ratio', 'cos_task'} <= set(row), name
        assert row['grad_norm'] > 0, name
    for name in CALIBRATED:
        assert {'loss_weight', 'new_weight', 'cfg_option'} <= set(
            result['terms'][name]), name
    adv = result['terms']['distill.loss_adv']
    assert adv['loss_weight'] == 0.1 and 'new_weight' not in adv
    assert 'untrained discriminator' in adv['note']
    assert len(result['cfg_options']) == len(CALIBRATED)


def test_cosine_of_the_task_with_itself_is_one(calibrated):
    terms = calibrated[0]['terms']
    assert terms['task']['cos_task'] == pytest.approx(1.0, abs=1e-5)
    assert terms['task']['ratio'] == pytest.approx(1.0)
    for name, row in terms.items():
        assert -1 - 1e-5 <= row['cos_task'] <= 1 + 1e-5, name
    task = [r for k, r in terms.items() if k.startswith('student.')]
    assert terms['task']['value'] == pytest.approx(
        sum(r['value'] for r in task))


def test_target_ratio_weights_give_the_target_ratio(calibrated):
    result, _, options = calibrated
    rerun = run(TINY_RKD, '--batches', '2',
                options=options + result['cfg_options'])
    task = result['terms']['task']['grad_norm']
    assert rerun['terms']['task']['grad_norm'] == pytest.approx(task,
                                                                rel=1e-6)
    for name in CALIBRATED:
        row = rerun['terms'][name]
        assert row['loss_weight'] == pytest.approx(
            result['terms'][name]['new_weight'], rel=1e-5)
        assert row['ratio'] == pytest.approx(0.1, rel=1e-3), name


def test_gradient_norms_match_autograd_on_hand_built_losses(
        tiny_data_root, tiny_teacher_ckpt, tmp_path):
    """A distiller checkpoint, one batch: the tool's norms against autograd
    on losses built here from the student's and teacher's own tensors."""
    options = [*data_root_options(tiny_data_root),
               f'model.teacher_ckpt={tiny_teacher_ckpt}']
    cfg = Config.fromfile(TINY_RKD)
    cfg.merge_from_dict(dict(
        kv.split('=', 1) for kv in data_root_options(tiny_data_root)))
    cfg.model.teacher_ckpt = tiny_teacher_ckpt
    cfg.model.teacher_cache = None
    init_default_scope('mmseg')
    torch.manual_seed(3)
    ckpt = str(tmp_path / 'rkd.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), ckpt)

    result = run(TINY_RKD, ckpt, '--batches', '1', '--seed', '5',
                 options=options)

    batch = tool.train_batches(cfg, 1, seed=5)[0]
    model = MODELS.build(cfg.model)
    load_checkpoint(model, ckpt, map_location='cpu', strict=True)
    model.train()
    feats = {}  # the config's 'feat' tap, recorded by plain hooks here
    for side in ('student', 'teacher'):
        tap = cfg.model.distiller[f'{side}_taps']['feat']
        assert tap.get('source') == 'input' and tap.get('index') is None
        module = getattr(model, side).get_submodule(tap['module'])
        module.register_forward_hook(
            lambda m, i, o, side=side: feats.__setitem__(side, i[0]))
    data = model.data_preprocessor(batch, True)
    hr, samples = data['inputs'], data['data_samples']
    pre = model.data_preprocessor
    lr = downsample_tensor(hr, 0.5, pre.mean, pre.std)
    assert lr.shape[-1] == hr.shape[-1] // 2
    with torch.no_grad():
        model.teacher._forward(hr)
    set_random_seed(5)  # the same dropout mask as the tool's forward
    task = model.student.loss(lr, samples)
    losses = {f'student.{k}': v for k, v in task.items() if 'loss' in k}
    losses['task'] = sum(losses.values())
    s, t = feats['student'], feats['teacher']
    for name in ('loss_mmd', 'loss_pair'):
        loss = MODELS.build(cfg.model.distiller.distill_losses[name])
        losses[f'distill.{name}'] = loss(preds_S=s, preds_T=t)
    pred = model.distiller.discriminator(s)  # lsgan: student wants 1
    losses['distill.loss_adv'] = 0.1 * ((pred - 1)**2).mean()

    params = list(model.student.parameters())
    for name, loss in losses.items():
        grads = torch.autograd.grad(loss, params, retain_graph=True,
                                    allow_unused=True)
        norm = torch.sqrt(sum((g**2).sum() for g in grads if g is not None))
        row = result['terms'][name]
        assert row['value'] == pytest.approx(loss.item(), rel=1e-5), name
        assert row['grad_norm'] == pytest.approx(float(norm), rel=1e-4), name


def test_plain_config_reports_task_terms_only(tiny_data_root, capsys):
    result = run(TINY_LR, '--batches', '1', '--target-ratio', '0.1',
                 options=data_root_options(tiny_data_root))
    assert set(result['terms']) == {'decode.loss_ce', 'decode.loss_lovasz',
                                    'task'}
    assert result['cfg_options'] == []
    assert 'the whole model' in capsys.readouterr().out


def test_a_degenerate_term_is_reported_and_never_calibrated(
        calibrated, tmp_path):
    """A term whose gradient dwarfs the task's by > 1e4 (here: loss_kd at
    a weight 1e9 times the calibrated one) is noted, not rescaled, and
    the runner's calibration refuses it: its calibrated weight would
    switch the term off."""
    result, _, options = calibrated
    kd = result['terms']['distill.loss_kd']
    huge = kd['new_weight'] * 1e9
    key = 'model.distiller.distill_losses.loss_kd.loss_weight'
    out = tmp_path / 'grads.json'
    with pytest.raises(SystemExit, match='calibration refused: '
                       'distill.loss_kd degenerate'):
        run(TINY_RKD, '--batches', '2', '--target-ratio', '0.1', '--out',
            str(out), options=options + [f'{key}={huge}'])
    rerun = json.load(open(out))  # the table is written before refusing
    row = rerun['terms']['distill.loss_kd']
    assert row['ratio'] == pytest.approx(1e8, rel=1e-3)
    assert 'degenerate' in row['note'] and 'new_weight' not in row
    assert not any(o.startswith(key) for o in rerun['cfg_options'])
    # the other terms are calibrated as before
    assert len(rerun['cfg_options']) == len(CALIBRATED) - 1

    cfg = Config.fromfile(TINY_RKD)
    cfg.merge_from_dict(dict(kv.split('=', 1) for kv in options))
    cfg.merge_from_dict({key: huge, 'model.teacher_ckpt': None})
    with pytest.raises(ValueError, match=r'calibration refused: '
                       r'distill\.loss_kd .*leave the method out'):
        calibrate(cfg, 0.1, batches=2)
