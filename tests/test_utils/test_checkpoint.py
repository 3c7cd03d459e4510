"""rkd_mm.utils.checkpoint: safe reading, clear errors, strict fitting."""
import os
import os.path as osp
import pickle
import uuid
import warnings

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import _load_checkpoint
from torch import nn
from torch.utils.data import Dataset

from rkd_mm.utils.checkpoint import (SAFE_GLOBALS, UNSAFE_LOAD_ENV,
                                     CheckpointMismatchError,
                                     CheckpointNotFoundError,
                                     NotACheckpointError,
                                     UnsafeCheckpointError, UnsafeLoadWarning,
                                     compare_state_dict, fit_state_dict,
                                     load_weights, read_checkpoint)


# --------------------------------------------------------------------------
# a real MMEngine checkpoint, written by a tiny Runner
# --------------------------------------------------------------------------
class _ToyModel(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=(out - data_samples).pow(2).mean())
        return out


class _ToyData(Dataset):

    def __len__(self) -> int:
        return 8

    def __getitem__(self, idx: int) -> dict:
        x = torch.randn(2, generator=torch.Generator().manual_seed(idx))
        return dict(inputs=x, data_samples=x.sum(0, keepdim=True))


def _train(work_dir: str, max_iters: int, resume_from=None) -> nn.Module:
    torch.manual_seed(0)  # the model is built before the runner seeds
    runner = Runner(
        model=_ToyModel(),
        work_dir=work_dir,
        experiment_name=f'toy_{uuid.uuid4().hex}',
        train_dataloader=dict(
            dataset=_ToyData(), batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=[  # as the configs' schedules
            dict(type='LinearLR', start_factor=0.1, by_epoch=False,
                 begin=0, end=2),
            dict(type='PolyLR', eta_min=1e-5, power=1.0, by_epoch=False,
                 begin=2, end=4)
        ],
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(
            type='CheckpointHook', interval=2, by_epoch=False)),
        custom_hooks=[dict(type='rkd_mm.RNGStateHook')],
        randomness=dict(seed=0),
        log_level='WARNING',
        load_from=resume_from,
        resume=resume_from is not None)
    runner.train()
    return runner.model


@pytest.fixture(scope='module')
def mmengine_run(tmp_path_factory):
    """Four iterations of a toy model; checkpoints at 2 and 4."""
    work_dir = str(tmp_path_factory.mktemp('toy') / 'full')
    model = _train(work_dir, 4)
    return work_dir, model


def test_mmengine_checkpoints_load_safely(mmengine_run):
    work_dir, _ = mmengine_run
    path = osp.join(work_dir, 'iter_4.pth')
    # what the allow-list is for: weights_only alone refuses the file
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
    needed = set(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in needed
    assert needed <= set(SAFE_GLOBALS)
    ckpt = read_checkpoint(path, map_location='cpu')
    assert ckpt['meta']['iter'] == 4
    assert set(ckpt) >= {'state_dict', 'optimizer', 'param_schedulers',
                         'message_hub', 'rng_state'}
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert type(buffer) is HistoryBuffer  # not the checking subclass
    assert buffer.statistics('mean') == pytest.approx(buffer.mean())
    assert isinstance(ckpt['rng_state']['numpy'][1], np.ndarray)


def test_resume_through_the_safe_loader_is_exact(mmengine_run, tmp_path):
    work_dir, full = mmengine_run
    split_dir = str(tmp_path / 'split')
    _train(split_dir, 2)
    resumed = _train(split_dir, 4,
                     resume_from=osp.join(split_dir, 'iter_2.pth'))
    for (name, a), b in zip(full.state_dict().items(),
                            resumed.state_dict().values()):
        assert torch.equal(a, b), name
    a = read_checkpoint(osp.join(work_dir, 'iter_4.pth'))['optimizer']
    b = read_checkpoint(osp.join(split_dir, 'iter_4.pth'))['optimizer']
    for key, state in a['state'].items():
        assert torch.equal(state['momentum_buffer'],
                           b['state'][key]['momentum_buffer'])


# --------------------------------------------------------------------------
# crafted checkpoints
# --------------------------------------------------------------------------
class _Payload:
    """Unpickling it creates ``marker``: a stand-in for any code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def crafted_checkpoint(path: str, marker: str) -> str:
    """A checkpoint that looks like a real one and carries a payload."""
    torch.save(
        dict(meta=dict(iter=4, note=_Payload(marker)),
             state_dict=dict(w=torch.zeros(2))), path)
    return path


def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path,
                                                        monkeypatch):
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)
    marker = str(tmp_path / 'marker')
    path = crafted_checkpoint(str(tmp_path / 'evil.pth'), marker)
    for load in (read_checkpoint, _load_checkpoint):  # + MMEngine's path
        with pytest.raises(UnsafeCheckpointError) as info:
            load(path)
        message = str(info.value)
        assert path in message and '`io.open`' in message
        assert f'{UNSAFE_LOAD_ENV}=1' in message
    assert not osp.exists(marker)


def test_full_unpickling_is_an_explicit_opt_in_that_warns(tmp_path,
                                                          monkeypatch):
    marker = str(tmp_path / 'marker')
    path = crafted_checkpoint(str(tmp_path / 'trusted.pth'), marker)
    monkeypatch.setenv(UNSAFE_LOAD_ENV, '1')
    with pytest.warns(UnsafeLoadWarning, match='trusted.pth.*full pickle'):
        ckpt = read_checkpoint(path)
    assert torch.equal(ckpt['state_dict']['w'], torch.zeros(2))
    assert osp.exists(marker)  # the payload did run: the opt-in is real
    # a safe file loads without a warning even then
    plain = str(tmp_path / 'plain.pth')
    torch.save(dict(state_dict=dict(w=torch.ones(1))), plain)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        read_checkpoint(plain)
    assert not [w for w in caught if w.category is UnsafeLoadWarning]


class _GetattrPayload:
    """``getattr(HistoryBuffer, 'update')``: not one of the four methods."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, 'update'))


class _InjectedBuffer:
    """A HistoryBuffer whose state registers ``np.dtype`` as 'mean'."""

    def __reduce__(self):
        return (HistoryBuffer, (), dict(statistics_methods=dict(
            mean=np.dtype), max_length=1))


@pytest.mark.parametrize('payload, reason', [
    (_GetattrPayload(), "getattr.*'update'.*not allowed"),
    (_InjectedBuffer(), "'mean'.*not allowed"),
])
def test_getattr_and_history_buffer_are_restricted(tmp_path, monkeypatch,
                                                   payload, reason):
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)
    before = dict(HistoryBuffer._statistics_methods)
    path = str(tmp_path / 'x.pth')
    torch.save(dict(meta=dict(hub=payload)), path)
    with pytest.raises(UnsafeCheckpointError, match=reason):
        read_checkpoint(path)
    assert HistoryBuffer._statistics_methods == before


# --------------------------------------------------------------------------
# paths that are no checkpoint
# --------------------------------------------------------------------------
def _write(path, data: bytes) -> str:
    with open(path, 'wb') as f:
        f.write(data)
    return str(path)


def test_not_a_checkpoint_is_named(tmp_path):
    real = str(tmp_path / 'real.pth')
    torch.save(dict(state_dict=dict(w=torch.zeros(1000))), real)
    with open(real, 'rb') as f:
        data = f.read()
    cases = {
        _write(tmp_path / 'notes.pth', b'epoch 3 looked good\n'):
        'is not a PyTorch checkpoint: it starts with',
        _write(tmp_path / 'empty.pth', b''): r'is empty \(0 bytes\)',
        _write(tmp_path / 'cut.pth', data[:len(data) // 2]):
        'is a truncated or corrupted checkpoint',
    }
    os.makedirs(tmp_path / 'run')
    _write(tmp_path / 'run' / 'iter_2.pth', data)
    cases[str(tmp_path / 'run')] = (
        r'is a directory, not a checkpoint.*newest here: .*iter_2.pth')
    for path, match in cases.items():
        with pytest.raises(NotACheckpointError, match=match) as info:
            read_checkpoint(path)
        assert path in str(info.value)
    with pytest.raises(CheckpointNotFoundError, match='absent.pth not found'):
        read_checkpoint(str(tmp_path / 'absent.pth'))
    assert issubclass(CheckpointNotFoundError, FileNotFoundError)


# --------------------------------------------------------------------------
# fitting a state dict to a model
# --------------------------------------------------------------------------
def _student() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))


class _Distiller(nn.Module):
    """The shape of rkd_mm's distiller: student + training-only parts."""

    def __init__(self) -> None:
        super().__init__()
        self.student = _student()
        self.discriminator = nn.Linear(4, 1)


def test_a_fitting_state_dict_passes_as_it_is():
    model = _student()
    state = model.state_dict()
    fitted, note = fit_state_dict(model, state, 'a.pth')
    assert fitted is state and note is None
    # MMEngine strips DDP's prefix before loading; so does the check
    wrapped = {f'module.{k}': v for k, v in state.items()}
    assert not compare_state_dict(model, wrapped)


def test_mismatch_names_counts_keys_and_shapes():
    model = _student()
    state = dict(model.state_dict())
    del state['1.running_var']
    state['0.weight'] = torch.zeros(5, 3, 1, 1)
    state['2.weight'] = torch.zeros(1)
    with pytest.raises(CheckpointMismatchError) as info:
        fit_state_dict(model, state, 'b.pth', 'the model of cfg.py')
    message = str(info.value)
    assert message.startswith('b.pth does not fit the model of cfg.py: ')
    assert '1 missing key (1.running_var)' in message
    assert '1 unexpected key (2.weight)' in message
    assert ('1 shape mismatch (0.weight: checkpoint (5, 3, 1, 1) vs model '
            '(4, 3, 1, 1))') in message
    with pytest.raises(CheckpointMismatchError,
                       match='7 missing keys.*holds no weights'):
        fit_state_dict(model, {}, 'empty.pth')


def test_distiller_checkpoint_loads_as_its_student_into_a_plain_model():
    distiller = _Distiller()
    state = distiller.state_dict()
    model = _student()
    fitted, note = fit_state_dict(model, state, 'rkd.pth')
    assert set(fitted) == set(model.state_dict())
    assert 'rkd.pth is a distiller checkpoint: loading its student' in note
    assert 'discriminator (training only) left out' in note
    assert ('python tools/model_converters/extract_student.py rkd.pth '
            'student.pth') in note
    # resuming cannot take the student alone
    with pytest.raises(CheckpointMismatchError,
                       match='extract_student.py rkd.pth student.pth'):
        fit_state_dict(model, state, 'rkd.pth', allow_student=False)


def test_plain_checkpoint_on_a_distiller_and_a_foreign_student_refused():
    distiller = _Distiller()
    with pytest.raises(CheckpointMismatchError,
                       match='plain model checkpoint.*builds a distiller'):
        fit_state_dict(distiller, _student().state_dict(), 'student.pth')
    other = nn.Sequential(nn.Conv2d(3, 8, 1), nn.BatchNorm2d(8))
    with pytest.raises(CheckpointMismatchError,
                       match='its student does not fit either'):
        fit_state_dict(other, distiller.state_dict(), 'rkd.pth')


def test_load_weights_reads_fits_and_loads(tmp_path):
    distiller = _Distiller()
    path = str(tmp_path / 'rkd.pth')
    torch.save(dict(meta=dict(iter=np.int64(4)),
                    state_dict=distiller.state_dict()), path)
    model = _student()
    load_weights(model, path)
    for key, value in model.state_dict().items():
        assert torch.equal(value, distiller.student.state_dict()[key]), key
    bad = str(tmp_path / 'bad.pth')
    torch.save(dict(state_dict=dict(w=torch.zeros(1))), bad)
    with pytest.raises(CheckpointMismatchError, match='bad.pth does not fit'):
        load_weights(_student(), bad)


def test_threads_read_checkpoints_side_by_side(tmp_path):
    """The runner's parallel jobs read checkpoints at the same time: the
    safe reader's allow-list must hold for each of them throughout (it is
    one process-wide list that a finished read used to empty)."""
    import threading
    path = str(tmp_path / 'ckpt.pth')
    torch.save(dict(state_dict={'w': torch.ones(2)},
                    message_hub=dict(best_score=np.float64(0.5),
                                     values=np.arange(3))), path)
    errors = []

    def read():
        for _ in range(30):
            try:
                assert read_checkpoint(path)['message_hub'][
                    'best_score'] == 0.5
            except Exception as err:  # collected: a thread cannot raise
                errors.append(err)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
