"""Every tool that loads a checkpoint reads it safely and strictly:
tools/test.py, load_from and --resume in tools/train.py."""
import json
import os
import os.path as osp
import re
import shutil

import pytest
import torch
from mmengine.config import Config

from conftest import TINY_LR, TINY_RKD, data_root_options, run_tool
from rkd_mm.utils.checkpoint import UNSAFE_LOAD_ENV, read_checkpoint
from rkd_mm.apis.latency import build_eval_model


class _Payload:
    """Unpickling it creates ``marker``: a stand-in for any code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


@pytest.fixture(autouse=True)
def no_unsafe_opt_in(monkeypatch):
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)


@pytest.fixture(scope='module')
def ckpts(tmp_path_factory):
    """Random tiny checkpoints: an LR-only model, a distiller whose student
    has exactly its weights, and variants that must be refused."""
    root = tmp_path_factory.mktemp('ckpts')
    torch.manual_seed(1)
    lr_only = build_eval_model(Config.fromfile(TINY_LR))
    rkd = build_eval_model(Config.fromfile(TINY_RKD))
    rkd.student.load_state_dict(lr_only.state_dict())
    paths = {}

    def save(name, **checkpoint):
        paths[name] = str(root / f'{name}.pth')
        torch.save(dict(meta=dict(iter=4), **checkpoint), paths[name])

    save('lr_only', state_dict=lr_only.state_dict())
    save('rkd', state_dict=rkd.state_dict())
    save('empty_state', state_dict={})
    return paths


def _test(config, checkpoint, data_root, work_dir, *options, check=True):
    return run_tool(['tools/test.py', config, checkpoint, '--work-dir',
                     work_dir, '--cfg-options',
                     *data_root_options(data_root), *options], check=check)


def _metrics(work_dir):
    files = [osp.join(r, f) for r, _, fs in os.walk(work_dir) for f in fs
             if f == 'test_metrics.json']
    return json.load(open(files[0]))['metrics']


def test_distiller_checkpoint_on_a_plain_config_scores_its_student(
        ckpts, tiny_data_root, tmp_path):
    proc = _test(TINY_LR, ckpts['rkd'], tiny_data_root, str(tmp_path / 'a'))
    log = proc.stdout + proc.stderr
    assert 'rkd.pth is a distiller checkpoint: loading its student' in log
    assert 'extract_student.py' in log
    _test(TINY_LR, ckpts['lr_only'], tiny_data_root, str(tmp_path / 'b'))
    assert _metrics(str(tmp_path / 'a')) == pytest.approx(
        _metrics(str(tmp_path / 'b')), nan_ok=True)


@pytest.mark.parametrize('config, name, message', [
    (TINY_RKD, 'lr_only', r'missing keys \(student\..*unexpected keys.*'
     'plain model checkpoint'),
    (TINY_LR, 'empty_state', r'192 missing keys.*holds no weights'),
])
def test_test_tool_refuses_a_checkpoint_that_does_not_fit(
        ckpts, tiny_data_root, tmp_path, config, name, message):
    proc = _test(config, ckpts[name], tiny_data_root, str(tmp_path),
                 'model.teacher_ckpt=None' if config == TINY_RKD else
                 'randomness.seed=0', check=False)
    assert proc.returncode != 0
    assert f'{name}.pth does not fit the model of {config}' in proc.stderr
    assert re.search(message, proc.stderr)
    assert not [f for _, _, fs in os.walk(str(tmp_path)) for f in fs
                if f == 'test_metrics.json']  # nothing was scored


@pytest.mark.parametrize('kind, message', [
    ('text', 'is not a PyTorch checkpoint'),
    ('dir', 'is a directory, not a checkpoint'),
])
def test_test_tool_names_what_is_not_a_checkpoint(tmp_path, kind, message):
    path = str(tmp_path / 'ckpt.pth')
    if kind == 'dir':
        os.makedirs(path)
    else:
        with open(path, 'w') as f:
            f.write('mIoU 42\n')
    proc = run_tool(['tools/test.py', TINY_LR, path], check=False)
    assert proc.returncode != 0
    assert f'{path} {message}' in proc.stderr
    assert 'Traceback' not in proc.stderr


def _crafted(source: str, path: str, marker: str) -> str:
    checkpoint = read_checkpoint(source)
    checkpoint['meta']['note'] = _Payload(marker)
    torch.save(checkpoint, path)
    return path


def test_test_tool_and_load_from_refuse_a_crafted_checkpoint(
        ckpts, tiny_data_root, tmp_path):
    marker = str(tmp_path / 'marker')
    evil = _crafted(ckpts['lr_only'], str(tmp_path / 'evil.pth'), marker)
    proc = _test(TINY_LR, evil, tiny_data_root, str(tmp_path / 't'),
                 check=False)
    assert proc.returncode != 0
    assert 'evil.pth was refused' in proc.stderr
    assert f'{UNSAFE_LOAD_ENV}=1' in proc.stderr
    proc = run_tool([
        'tools/train.py', TINY_LR, '--work-dir', str(tmp_path / 'w'),
        '--cfg-options', f'load_from={evil}',
        *data_root_options(tiny_data_root)
    ], check=False)
    assert proc.returncode != 0 and 'evil.pth was refused' in proc.stderr
    assert not osp.exists(marker)
    assert not osp.exists(osp.join(str(tmp_path / 'w'), 'iter_2.pth'))


def test_load_from_must_fit(ckpts, tiny_data_root, tmp_path):
    proc = run_tool([
        'tools/train.py', TINY_RKD, '--work-dir', str(tmp_path / 'w'),
        '--cfg-options', f'load_from={ckpts["lr_only"]}',
        'model.teacher_ckpt=None', *data_root_options(tiny_data_root)
    ], check=False)
    assert proc.returncode != 0
    assert 'lr_only.pth does not fit the model of' in proc.stderr


def test_resume_refuses_a_crafted_last_checkpoint(tiny_data_root,
                                                  tmp_path):
    """A run's own checkpoints resume (tests/test_tools/
    test_distill_tools.py: bit-exact); one swapped for a crafted file is
    refused before anything runs."""
    work_dir = str(tmp_path / 'run')
    run_tool(['tools/train.py', TINY_LR, '--work-dir', work_dir,
              '--cfg-options', 'train_cfg.max_iters=2',
              *data_root_options(tiny_data_root)])
    marker = str(tmp_path / 'marker')
    last = osp.join(work_dir, 'iter_2.pth')
    shutil.copy(last, str(tmp_path / 'own.pth'))
    _crafted(str(tmp_path / 'own.pth'), last, marker)
    proc = run_tool(['tools/train.py', TINY_LR, '--work-dir', work_dir,
                     '--resume', '--cfg-options', 'train_cfg.max_iters=4',
                     *data_root_options(tiny_data_root)], check=False)
    assert proc.returncode != 0
    assert 'iter_2.pth was refused' in proc.stderr
    assert not osp.exists(marker)
    assert not osp.exists(osp.join(work_dir, 'iter_4.pth'))
