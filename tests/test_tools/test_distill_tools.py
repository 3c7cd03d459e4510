"""Distillation through the tools: exact resume, extracted student, logs."""
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
import torch

from conftest import REPO, TINY_LR, TINY_RKD, data_root_options, run_tool


@pytest.fixture(scope='session')
def teacher_ckpt(tiny_teacher_ckpt):
    return tiny_teacher_ckpt


def train(work_dir, data_root, teacher_ckpt, *options, resume=False):
    args = ['tools/train.py', TINY_RKD, '--work-dir', work_dir]
    if resume:
        args.append('--resume')
    return run_tool(args + [
        '--cfg-options', f'model.teacher_ckpt={teacher_ckpt}',
        *data_root_options(data_root), *options
    ])


def metrics_of(work_dir):
    files = [osp.join(r, f) for r, _, fs in os.walk(work_dir) for f in fs
             if f == 'test_metrics.json']
    return json.load(open(max(files, key=osp.getmtime)))['metrics']


@pytest.fixture(scope='module')
def uninterrupted(tiny_data_root, teacher_ckpt, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('rkd') / 'full')
    proc = train(work_dir, tiny_data_root, teacher_ckpt)
    return work_dir, proc.stdout + proc.stderr


def test_training_logs_the_distillation_losses_and_teacher_score(
        uninterrupted):
    _, log = uninterrupted
    for key in ('student.decode.loss_ce', 'distill.loss_kd',
                'distill.loss_pair', 'distill.loss_mmd', 'distill.loss_adv',
                'disc.loss_real', 'disc.loss_fake', 'teacher/mIoU', 'mIoU'):
        assert key in log, key


def test_resume_repeats_the_uninterrupted_run_exactly(
        uninterrupted, tiny_data_root, teacher_ckpt, tmp_path):
    full_dir, _ = uninterrupted
    work_dir = str(tmp_path / 'split')
    train(work_dir, tiny_data_root, teacher_ckpt, 'train_cfg.max_iters=2')
    train(work_dir, tiny_data_root, teacher_ckpt, 'train_cfg.max_iters=4',
          resume=True)
    a = torch.load(osp.join(full_dir, 'iter_4.pth'), weights_only=False)
    b = torch.load(osp.join(work_dir, 'iter_4.pth'), weights_only=False)
    assert a['state_dict'].keys() == b['state_dict'].keys()
    assert not any(k.startswith('teacher.') for k in a['state_dict'])
    assert any(k.startswith('distiller.discriminator.')
               for k in a['state_dict'])
    worst = max((a['state_dict'][k].float() - b['state_dict'][k].float()
                 ).abs().max().item() for k in a['state_dict'])
    assert worst <= 1e-6
    # both optimizers and both schedulers are in the checkpoint
    assert set(a['optimizer']) >= {'student', 'discriminator'}
    assert 'rng_state' in a


def test_extracted_student_scores_like_the_distiller(
        uninterrupted, tiny_data_root, teacher_ckpt, tmp_path):
    full_dir, _ = uninterrupted
    ckpt = osp.join(full_dir, 'iter_4.pth')
    run_tool([
        'tools/test.py', TINY_RKD, ckpt, '--work-dir',
        str(tmp_path / 'distiller'), '--cfg-options',
        f'model.teacher_ckpt={teacher_ckpt}',
        *data_root_options(tiny_data_root)
    ])
    student = str(tmp_path / 'student.pth')
    proc = run_tool(
        ['tools/model_converters/extract_student.py', ckpt, student])
    # the connectors and the discriminator live in the distiller block
    assert "dropped ['distiller']" in proc.stdout
    state = torch.load(student, weights_only=True)['state_dict']
    assert all(not k.startswith(('student.', 'teacher.')) for k in state)
    run_tool([
        'tools/test.py', TINY_LR, student, '--work-dir',
        str(tmp_path / 'student'), '--cfg-options',
        *data_root_options(tiny_data_root)
    ])
    distilled = metrics_of(str(tmp_path / 'distiller'))
    plain = metrics_of(str(tmp_path / 'student'))
    assert 'teacher/mIoU' in distilled
    for key, value in plain.items():
        # a class absent from the tiny test split is NaN in both
        assert distilled[key] == pytest.approx(value, abs=1e-6,
                                               nan_ok=True), key


def test_two_process_cpu_training_with_the_adversarial_step(
        tiny_data_root, teacher_ckpt, tmp_path):
    """tools/dist_train.sh: two processes over gloo, each part of the
    distiller in its own DDP wrapper (MMSeparateDistributedDataParallel)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    work_dir = str(tmp_path / 'ddp')
    # the scripts call `python`: make it this interpreter
    path = osp.dirname(sys.executable) + os.pathsep + os.environ['PATH']
    env = dict(os.environ, PORT=str(port), PYTHONUNBUFFERED='1',
               OMP_NUM_THREADS='1', PATH=path)
    proc = subprocess.run(
        ['bash', 'tools/dist_train.sh', TINY_RKD, '2', '--work-dir', work_dir,
         '--cfg-options', f'model.teacher_ckpt={teacher_ckpt}',
         *data_root_options(tiny_data_root)],
        cwd=REPO,
        env=env, capture_output=True, text=True, timeout=600)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert 'Distributed launcher: pytorch' in log or 'launcher: pytorch' in log
    assert 'distill.loss_adv' in log and 'disc.loss_real' in log
    ckpt = torch.load(osp.join(work_dir, 'iter_4.pth'), weights_only=False)
    assert ckpt['meta']['iter'] == 4
