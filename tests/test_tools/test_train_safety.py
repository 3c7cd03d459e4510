"""tools/train.py keeps what is trained: --amp on the CPU, no overwriting,
honest --resume (moved work dir, another model's checkpoint, kill -9), NaN
losses stop the run, --cfg-options typos are refused."""
import argparse
import os
import os.path as osp
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import (REPO, TINY_LR, TINY_RKD, data_root_options, load_tool,
                      run_tool)


def train(config, work_dir, data_root, *options, flags=(), check=True):
    return run_tool(['tools/train.py', config, '--work-dir', work_dir,
                     *flags, '--cfg-options', *data_root_options(data_root),
                     *options], check=check)


def load(path):
    return torch.load(path, map_location='cpu', weights_only=False)


@pytest.fixture(scope='module')
def tool():
    return load_tool('train.py')


@pytest.fixture(scope='module')
def amp_run(tiny_data_root, tmp_path_factory):
    """Two iterations of the tiny LR-only student with --amp (checkpoint
    at 2); tests copy its work dir before changing anything."""
    work_dir = str(tmp_path_factory.mktemp('amp') / 'lr')
    proc = train(TINY_LR, work_dir, tiny_data_root, 'train_cfg.max_iters=2',
                 flags=['--amp'])
    return work_dir, proc.stdout + proc.stderr


def copy_run(src, dst):
    shutil.copytree(src, dst)
    return dst


# --amp ---------------------------------------------------------------------

def test_amp_trains_the_lr_only_student_with_cpu_bf16(amp_run):
    work_dir, log = amp_run
    assert "type='rkd_mm.AutocastOptimWrapper'" in log
    assert 'Iter(train) [2/2]' in log
    state = load(osp.join(work_dir, 'iter_2.pth'))
    assert all(v.dtype != torch.bfloat16 for v in state['state_dict'].values())


def test_amp_trains_every_part_of_the_distiller(tiny_data_root,
                                                tiny_teacher_ckpt, tmp_path):
    work_dir = str(tmp_path / 'rkd')
    proc = train(TINY_RKD, work_dir, tiny_data_root,
                 f'model.teacher_ckpt={tiny_teacher_ckpt}',
                 'train_cfg.max_iters=1', flags=['--amp'])
    log = proc.stdout + proc.stderr
    assert log.count("type='rkd_mm.AutocastOptimWrapper'") == 2
    assert 'distill.loss_kd' in log and 'disc.loss_real' in log
    assert set(load(osp.join(work_dir, 'iter_1.pth'))['optimizer']) == {
        'student', 'discriminator'
    }


# no overwriting, honest --resume --------------------------------------------

def tool_args(config, work_dir, resume=None, options=None):
    return argparse.Namespace(config=config, work_dir=work_dir,
                              resume=resume, amp=False, launcher='none',
                              cfg_options=options)


def test_fresh_run_refuses_checkpoints_without_last_checkpoint(tool,
                                                               tmp_path):
    from mmengine.config import Config
    for name in ('iter_4.pth', 'best_mIoU_iter_4.pth'):
        (tmp_path / name).write_bytes(b'trained')
    cfg = tool.merge_args(Config.fromfile(TINY_LR),
                          tool_args(TINY_LR, str(tmp_path)))
    with pytest.raises(FileExistsError) as err:
        tool.refuse_to_overwrite(cfg)
    msg = str(err.value)
    assert 'already holds a run (best_mIoU_iter_4.pth, iter_4.pth)' in msg
    assert '--resume' in msg and 'another --work-dir' in msg
    assert 'delete those files' in msg
    assert (tmp_path / 'iter_4.pth').read_bytes() == b'trained'


def test_resume_with_nothing_to_resume_says_so(tool, tmp_path):
    from mmengine.config import Config
    with pytest.raises(FileNotFoundError,
                       match=r'--resume: nothing to resume in .*Start a fresh'
                       r' run without --resume'):
        tool.merge_args(Config.fromfile(TINY_LR),
                        tool_args(TINY_LR, str(tmp_path), resume='auto'))


def test_unknown_top_level_cfg_option_is_refused_by_train_and_test(tool):
    from mmengine.config import Config
    with pytest.raises(ValueError, match="no top-level key 'randomnes'; did "
                       "you mean 'randomness'"):
        tool.merge_args(Config.fromfile(TINY_LR),
                        tool_args(TINY_LR, None,
                                  options={'randomnes.seed': 5}))
    test_tool = load_tool('test.py')
    args = argparse.Namespace(
        config=TINY_LR, checkpoint='x.pth', work_dir=None, out=None,
        show=False, show_dir=None, launcher='none',
        cfg_options={'test_dataloder.batch_size': 1})
    with pytest.raises(ValueError, match="did you mean 'test_dataloader'"):
        test_tool.merge_args(Config.fromfile(TINY_LR), args)


def test_a_moved_work_dir_resumes(amp_run, tiny_data_root, tmp_path):
    work_dir = copy_run(amp_run[0], str(tmp_path / 'moved'))
    # what `mv` leaves: last_checkpoint names the old absolute path
    with open(osp.join(work_dir, 'last_checkpoint'), 'w') as f:
        f.write(str(tmp_path / 'old' / 'iter_2.pth'))
    proc = train(TINY_LR, work_dir, tiny_data_root, 'train_cfg.max_iters=3',
                 flags=['--resume'])
    log = proc.stdout + proc.stderr
    assert 'the work dir was moved or copied' in log
    assert 'resumed epoch: 0, iter: 2' in log and 'Iter(train) [3/3]' in log
    assert load(osp.join(work_dir, 'iter_3.pth'))['meta']['iter'] == 3


def test_distiller_resume_into_an_lr_only_run_is_refused(
        amp_run, tiny_data_root, tiny_teacher_ckpt, tmp_path):
    work_dir = copy_run(amp_run[0], str(tmp_path / 'lr'))
    proc = train(TINY_RKD, work_dir, tiny_data_root,
                 f'model.teacher_ckpt={tiny_teacher_ckpt}',
                 flags=['--resume'], check=False)
    assert proc.returncode != 0
    assert "does not fit this config's model (ResolutionAwareDistiller)" \
        in proc.stderr
    assert 'another --work-dir' in proc.stderr
    assert 'Mismatched' not in proc.stderr
    assert sorted(f for f in os.listdir(work_dir) if f.endswith('.pth')) == \
        sorted(f for f in os.listdir(amp_run[0]) if f.endswith('.pth'))


# NaN -----------------------------------------------------------------------

def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(
        amp_run, tiny_data_root, tmp_path):
    work_dir = copy_run(amp_run[0], str(tmp_path / 'nan'))
    marker = osp.join(work_dir, 'last_checkpoint')
    with open(marker) as f:
        entry = f.read()
    # a checkpoint every iteration: the NaN iteration would be saved if the
    # hook ran after MMEngine's CheckpointHook
    proc = train(TINY_LR, work_dir, tiny_data_root,
                 'model.decode_head.loss_decode.0.loss_weight=nan',
                 'default_hooks.checkpoint.interval=1', flags=['--resume'],
                 check=False)
    assert proc.returncode != 0
    assert 'NonFiniteLossError: Iteration 3: non-finite loss ' \
        'decode.loss_ce=nan.' in proc.stderr
    good = osp.join(work_dir, 'iter_2.pth')
    assert f'the newest good one is {good}' in proc.stderr
    assert not osp.exists(osp.join(work_dir, 'iter_3.pth'))
    with open(marker) as f:
        assert f.read() == entry  # no newer checkpoint was recorded
    assert all(torch.isfinite(v).all()
               for v in load(good)['state_dict'].values()
               if v.is_floating_point())


# kill -9 -------------------------------------------------------------------

def _tensors_equal(a, b, where='') -> None:
    """Assert two checkpoint parts are bit-identical, tensor by tensor."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype, where
        assert torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _tensors_equal(a[k], b[k], f'{where}.{k}')
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _tensors_equal(x, y, f'{where}.{i}')
    else:
        assert a == b, where


def test_kill_9_then_resume_repeats_the_uninterrupted_run(
        tiny_data_root, tiny_teacher_ckpt, tmp_path):
    """A real ``kill -9`` of the whole process group right after the first
    checkpoint, ``--resume``, and every weight and optimizer tensor equals
    an uninterrupted run's at the same iteration."""
    options = [f'model.teacher_ckpt={tiny_teacher_ckpt}']
    killed = str(tmp_path / 'killed')
    with open(str(tmp_path / 'killed.log'), 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, 'tools/train.py', TINY_RKD, '--work-dir', killed,
             '--cfg-options', *data_root_options(tiny_data_root), *options,
             'train_cfg.max_iters=1000'],
            cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # its data-loader worker dies with it
        marker = osp.join(killed, 'last_checkpoint')
        deadline = time.monotonic() + 300
        last = ''
        while proc.poll() is None and time.monotonic() < deadline:
            if osp.isfile(marker):
                with open(marker) as f:
                    last = f.read().strip()
                if last:
                    os.killpg(proc.pid, signal.SIGKILL)
                    break
            time.sleep(0.02)
        else:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, open(
        str(tmp_path / 'killed.log')).read()[-3000:]
    done = load(last)['meta']['iter']
    target = done + 2  # the next checkpoint (interval 2)
    train(TINY_RKD, killed, tiny_data_root, *options,
          f'train_cfg.max_iters={target}', flags=['--resume'])
    full = str(tmp_path / 'full')
    train(TINY_RKD, full, tiny_data_root, *options,
          f'train_cfg.max_iters={target}')
    a = load(osp.join(full, f'iter_{target}.pth'))
    b = load(osp.join(killed, f'iter_{target}.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == target
    _tensors_equal(a['state_dict'], b['state_dict'], 'state_dict')
    assert set(a['optimizer']) == {'student', 'discriminator'}
    _tensors_equal(a['optimizer'], b['optimizer'], 'optimizer')
    _tensors_equal(a['param_schedulers'], b['param_schedulers'],
                   'param_schedulers')


def test_a_missing_teacher_stops_before_the_runner(tool, tiny_teacher_ckpt,
                                                   tmp_path, monkeypatch):
    """model.teacher_ckpt is resolved before anything is built: a missing
    one is named with the absolute pattern searched and the working
    directory; a found one is logged as the file it resolved to."""
    class Reached(Exception):
        pass

    def from_cfg(cfg):
        raise Reached

    monkeypatch.setattr(tool.Runner, 'from_cfg', from_cfg)
    logged = []
    monkeypatch.setattr(tool, 'print_log',
                        lambda msg, *a, **k: logged.append(msg))
    monkeypatch.chdir(tmp_path)
    work = str(tmp_path / 'work')
    base = ['train.py', TINY_RKD, '--work-dir', work, '--no-data-check',
            '--cfg-options']
    monkeypatch.setattr('sys.argv', base + [
        'model.teacher_ckpt=work_dirs/teacher/best_mIoU_iter_*.pth'])
    with pytest.raises(SystemExit) as err:
        tool.main()
    message = str(err.value)
    assert osp.join(str(tmp_path), 'work_dirs/teacher/best_mIoU_iter_*.pth') \
        in message
    assert f'working directory {tmp_path}' in message
    assert 'tools/train.py' in message and not osp.exists(work)

    # a pattern resolves to the newest match, which the log names
    os.makedirs('work_dirs/teacher')
    shutil.copy(tiny_teacher_ckpt, 'work_dirs/teacher/best_mIoU_iter_4.pth')
    monkeypatch.setattr('sys.argv', base + [
        'model.teacher_ckpt=work_dirs/teacher/best_mIoU_iter_*.pth'])
    with pytest.raises(Reached):
        tool.main()
    assert any(osp.join(str(tmp_path), 'work_dirs/teacher/'
                        'best_mIoU_iter_4.pth') in msg for msg in logged)
