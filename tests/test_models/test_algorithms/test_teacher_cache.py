"""TeacherOutputCache and TeacherCacheHook on the tiny RKD distiller."""
import glob
import json
import logging
import os
import os.path as osp
import shutil
import threading
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import init_default_scope
from mmengine.optim import OptimWrapperDict
from mmengine.runner import Runner
from torch import nn

from conftest import REPO, TINY_RKD, seg_batch
from rkd_mm.engine import MultiOptimWrapperConstructor
from rkd_mm.engine.hooks import TeacherCacheHook
from rkd_mm.models.algorithms import TeacherOutputCache
from rkd_mm.models.algorithms.teacher_cache import tap_id
from rkd_mm.registry import MODELS

FLIPS = osp.join(REPO, 'configs', '_base_', 'datasets',
                 'synthetic_defect.py')
LOSSES = ('student.', 'distill.', 'disc.')


@pytest.fixture(autouse=True)
def mmseg_scope():
    init_default_scope('mmseg')
    MessageHub.get_current_instance().update_info('iter', 0)


def build(teacher_ckpt, cache=None, seed=0, teacher_taps=None):
    """The tiny distiller; the same ``seed`` gives the same student and
    discriminator weights, so runs differ in the teacher cache only."""
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.model.teacher_cache = cache
    if teacher_taps is not None:  # replaced, not merged
        cfg.model.distiller.teacher_taps = teacher_taps
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.train()
    return model, cfg


def optim(model, cfg) -> OptimWrapperDict:
    return MultiOptimWrapperConstructor(
        {k: v for k, v in cfg.optim_wrapper.items() if k != 'constructor'})(
            model)


def hr_lr(model, n=4, scale=0.5, seed=0):
    data = model.data_preprocessor(seg_batch(n=n, seed=seed), True)
    return data['inputs'], model.lr_view(data['inputs'], scale)


def assert_close(actual, expected, rel=1e-6):
    """Equal up to float rounding, relative to the tensor's magnitude."""
    scale = expected.abs().max().item()
    torch.testing.assert_close(actual, expected, rtol=rel,
                               atol=rel * max(scale, 1e-12))


def losses_of(log_vars):
    return {k: float(torch.as_tensor(v).detach())
            for k, v in log_vars.items() if k.startswith(LOSSES)}


class Records(logging.Handler):
    """Collect the messages of MMEngine's current logger."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)

    def __enter__(self):
        MMLogger.get_current_instance().addHandler(self)
        return self

    def __exit__(self, *exc):
        MMLogger.get_current_instance().removeHandler(self)

    def warnings(self):
        return [r.getMessage() for r in self.records
                if r.levelno == logging.WARNING]


# ----------------------------------------------------------------------
# the cache in the distiller
# ----------------------------------------------------------------------
def test_cached_training_gives_the_online_losses(tiny_teacher_ckpt,
                                                 tmp_path):
    """A cold cache (filled by the step) and a warm one (a new distiller
    reading the files) give the online losses (on the CPU bit for bit; 1e-6
    is the promise elsewhere); the hit rate is logged."""
    cache = dict(cache_dir=str(tmp_path / 'cache'))
    data = seg_batch(n=4)
    results = {}
    for name, cfg in (('online', None), ('cold', cache), ('warm', cache)):
        model, config = build(tiny_teacher_ckpt, cfg)
        results[name] = model.train_step(
            dict(inputs=list(data['inputs']),
                 data_samples=data['data_samples']),
            optim(model, config))
    online = losses_of(results['online'])
    # task (2 losses + accuracy), distill (4), disc (2)
    assert len(online) == 9 and 'student.decode.acc_seg' in online
    assert 'teacher_cache.hit_rate' not in results['online']
    for name in ('cold', 'warm'):
        cached = losses_of(results[name])
        assert set(cached) == set(online)
        for k, v in online.items():
            assert cached[k] == pytest.approx(v, rel=1e-6, abs=1e-9), k
        assert cached == online
    assert float(results['cold']['teacher_cache.hit_rate']) == 0.0
    assert float(results['warm']['teacher_cache.hit_rate']) == 1.0


def test_forward_loss_with_a_warm_cache_equals_online(tiny_teacher_ckpt):
    model, _ = build(tiny_teacher_ckpt, dict(cache_dir=None))
    online, _ = build(tiny_teacher_ckpt)
    data = model.data_preprocessor(seg_batch(n=4), True)
    with torch.no_grad():
        model(data['inputs'], data['data_samples'], mode='loss')  # fill
        assert model.teacher_cache.hits == 0
        torch.manual_seed(1)  # the same dropout masks in both students
        warm = model(data['inputs'], data['data_samples'], mode='loss')
        assert model.teacher_cache.hits == 8  # 4 HR + 4 LR samples
        torch.manual_seed(1)
        expected = online(data['inputs'], data['data_samples'], mode='loss')
    assert set(warm) == set(expected)
    for k, v in expected.items():
        assert warm[k].item() == pytest.approx(v.item(), rel=1e-6), k


def test_partial_hits_assemble_the_batch_in_order(tiny_teacher_ckpt):
    """Half the batch cached: the teacher runs on the other half only, and
    the batch equals the online one sample by sample."""
    model, _ = build(tiny_teacher_ckpt, dict(cache_dir=None))
    online, _ = build(tiny_teacher_ckpt)
    hr, lr = hr_lr(model, n=4)
    model.teacher_forward(hr[[2, 0]], lr[[2, 0]])  # cache samples 0 and 2
    ran = []
    original = model._run_teacher
    model._run_teacher = lambda x: ran.append(x) or original(x)
    out = model.teacher_forward(hr, lr)
    # one forward of the misses (samples 1 and 3) on HR, one on LR
    assert len(ran) == 2 and torch.equal(ran[0], hr[[1, 3]])
    assert tuple(ran[1].shape) == (2, 3, 64, 64)
    assert model.teacher_cache.stats()['hits'] == 4

    expected = online.teacher_forward(hr, lr)
    assert set(out) == {'feat', 'logits', 'logits@lr'}
    for k, v in out.items():
        assert_close(v, expected[k])
        # on the CPU bit for bit: what makes a run independent of the
        # cache's history (TeacherOutputCache docstring)
        assert torch.equal(v, expected[k]), \
            f'{k}: cached != online; see TeacherOutputCache "Exact reuse"'


def test_a_lone_miss_runs_in_a_batch_of_two(tiny_teacher_ckpt):
    model, _ = build(tiny_teacher_ckpt, dict(cache_dir=None))
    online, _ = build(tiny_teacher_ckpt)
    hr, _ = hr_lr(model, n=3)
    model.teacher_forward(hr[:2])
    ran = []
    original = model._run_teacher
    model._run_teacher = lambda x: ran.append(x) or original(x)
    out = model.teacher_forward(hr)
    assert len(ran) == 1 and torch.equal(ran[0], hr[[2, 2]])
    for k, v in online.teacher_forward(hr).items():
        assert torch.equal(out[k], v), k


def test_lr_entries_are_keyed_by_the_lr_view(tiny_teacher_ckpt):
    model, _ = build(tiny_teacher_ckpt, dict(cache_dir=None))
    online, _ = build(tiny_teacher_ckpt)
    hr, lr_half = hr_lr(model, n=2, scale=0.5)
    lr_quarter = model.lr_view(hr, 0.25)
    cache = model.teacher_cache
    half = model.teacher_forward(hr, lr_half)
    assert (cache.hits, cache.lookups) == (0, 4)
    quarter = model.teacher_forward(hr, lr_quarter)
    assert (cache.hits, cache.lookups) == (2, 8)  # HR read, LR computed
    assert torch.equal(quarter['logits'], half['logits'])
    assert not torch.allclose(quarter['logits@lr'], half['logits@lr'])
    assert_close(quarter['logits@lr'],
                 online.teacher_forward(hr, lr_quarter)['logits@lr'])
    again = model.teacher_forward(hr, lr_half)
    assert (cache.hits, cache.lookups) == (6, 12)
    assert torch.equal(again['logits@lr'], half['logits@lr'])
    # one entry per sample and tap: HR (feat, logits), LR x0.5 and x0.25
    # (logits only)
    assert len(cache.memory) == 2 * 2 + 2 + 2


def pt_files(root):
    return sorted(osp.join(r, f) for r, _, fs in os.walk(root)
                  for f in fs if f.endswith('.pt'))


def test_only_the_lr_taps_a_loss_takes_are_stored(tiny_teacher_ckpt,
                                                  tmp_path):
    """One file per sample and tap, under a directory per tap spec:
    HR samples get every teacher tap, LR views only ``logits``."""
    model, _ = build(tiny_teacher_ckpt,
                     dict(cache_dir=str(tmp_path), max_memory_gb=0))
    hr, lr = hr_lr(model, n=2)
    out = model.teacher_forward(hr, lr)
    cache = model.teacher_cache
    assert not cache.memory
    specs = model.distiller.teacher_recorder.specs
    by_tap = {name: pt_files(osp.join(cache.directory, tap_id(spec)))
              for name, spec in specs.items()}
    assert len(pt_files(cache.directory)) == 6
    assert [len(by_tap['feat']), len(by_tap['logits'])] == [2, 4]
    found = set()
    for name, files in by_tap.items():
        with open(osp.join(osp.dirname(osp.dirname(files[0])),
                           'tap.json')) as f:
            assert f.read().count(specs[name]['module']) == 1
        for path in files:
            t = torch.load(path, weights_only=True)
            # a compact per-sample copy: a saved view would drag the batch
            assert osp.getsize(path) < t.numel() * t.element_size() + 4096
            hits = [(suffix, j) for suffix in ('', '@lr')
                    if name + suffix in out for j in range(2)
                    if torch.equal(t, out[name + suffix][j])]
            assert len(hits) == 1
            found.add((name, ) + hits[0])
    assert found == {('feat', '', 0), ('feat', '', 1), ('logits', '', 0),
                     ('logits', '', 1), ('logits', '@lr', 0),
                     ('logits', '@lr', 1)}


def test_teacher_changes_land_in_another_namespace(tiny_teacher_ckpt,
                                                   tmp_path):
    root = str(tmp_path / 'cache')

    def namespace(ckpt, **overrides):
        model, _ = build(ckpt, dict(cache_dir=root), **overrides)
        hr, lr = hr_lr(model, n=1)
        model.teacher_forward(hr, lr)
        return model.teacher_cache.namespace

    base = namespace(tiny_teacher_ckpt)
    # the same weights elsewhere: the same namespace (content, not path)
    copy = str(tmp_path / 'copy.pth')
    shutil.copy(tiny_teacher_ckpt, copy)
    assert namespace(copy) == base
    # other weights
    ckpt = torch.load(tiny_teacher_ckpt, weights_only=False)
    ckpt['state_dict']['decode_head.conv_seg.bias'] += 1e-3
    changed = str(tmp_path / 'changed.pth')
    torch.save(ckpt, changed)
    assert namespace(changed) != base
    # another tap (the same names, recorded elsewhere): the same namespace,
    # another tap directory (tap specs key the entries, not the namespace)
    taps = dict(feat=dict(module='neck', index=0, source='output'),
                logits=dict(module='decode_head.conv_seg', index=None))
    assert namespace(tiny_teacher_ckpt, teacher_taps=taps) == base
    assert sorted(os.listdir(root)) == sorted([base, namespace(changed)])
    for name in os.listdir(root):
        assert osp.isfile(osp.join(root, name, 'meta.json'))
    tap_dirs = sorted(d for d in os.listdir(osp.join(root, base))
                      if d != 'meta.json')
    assert [d.rsplit('-', 1)[0] for d in tap_dirs] == [
        'decode_head.conv_seg.output', 'decode_head.dropout.input',
        'neck.output.0']


def test_float16_entries_are_rounded_alike_cold_and_warm(tiny_teacher_ckpt,
                                                         tmp_path):
    cache = dict(cache_dir=str(tmp_path), dtype='float16')
    cold, _ = build(tiny_teacher_ckpt, cache)
    hr, lr = hr_lr(cold, n=2)
    first = cold.teacher_forward(hr, lr)
    warm, _ = build(tiny_teacher_ckpt, cache)
    second = warm.teacher_forward(hr, lr)
    assert warm.teacher_cache.hits == 4
    online, _ = build(tiny_teacher_ckpt)
    expected = online.teacher_forward(hr, lr)
    assert set(first) == {'feat', 'logits', 'logits@lr'}
    for k in first:
        v = expected[k]
        assert first[k].dtype == torch.float32
        assert torch.equal(first[k], second[k])
        assert torch.equal(first[k], first[k].half().float())
        assert_close(first[k], v, rel=2e-3)


def test_a_damaged_entry_is_recomputed(tiny_teacher_ckpt, tmp_path):
    cache = dict(cache_dir=str(tmp_path), max_memory_gb=0)
    model, _ = build(tiny_teacher_ckpt, cache)
    hr, lr = hr_lr(model, n=2)
    expected = model.teacher_forward(hr, lr)
    files = pt_files(tmp_path)
    assert len(files) == 6  # 2 HR x (feat, logits) + 2 LR x logits
    with open(files[0], 'wb') as f:
        f.write(b'not a checkpoint')
    again, _ = build(tiny_teacher_ckpt, cache)
    with Records() as log:
        out = again.teacher_forward(hr, lr)
    # the sample with the damaged tap is a miss, its other taps are read
    assert again.teacher_cache.hits == 3
    assert again.teacher_cache.tap_hits == 5
    assert any('cannot read' in m for m in log.warnings())
    for k, v in expected.items():
        assert torch.equal(out[k], v)
    torch.load(files[0], weights_only=True)  # rewritten
    assert not [f for r, _, fs in os.walk(tmp_path) for f in fs
                if f.endswith('.tmp')]


def test_memory_budget_is_respected(tiny_teacher_ckpt):
    feat, logits = 16 * 16 * 16 * 4, 5 * 16 * 16 * 4  # per sample, 64 px
    cache = TeacherOutputCache(
        None, max_memory_gb=(feat + 2 * logits) / 2**30)
    model, _ = build(tiny_teacher_ckpt)
    model.teacher_cache = cache
    hr, _ = hr_lr(model, n=3)
    model.teacher_forward(hr)
    # first come, first kept, tap by tap: sample 0's taps, then the
    # logits of sample 1 still fit, its feat does not
    assert len(cache.memory) == 3
    assert cache.memory_bytes == feat + 2 * logits


def test_bad_cache_arguments_are_named():
    with pytest.raises(ValueError, match="dtype='bfloat16'"):
        TeacherOutputCache('x', dtype='bfloat16')
    with pytest.raises(ValueError, match='would store nothing'):
        TeacherOutputCache(None, max_memory_gb=0)


# ----------------------------------------------------------------------
# sharing across runs: per-tap entries, namespace
# ----------------------------------------------------------------------
class ToyTeacher(nn.Module):
    """Two convs: taps ``body`` (feat), ``head`` (logits), the body's
    input (other)."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.body = nn.Conv2d(3, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 2, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g))

    def taps(self, x):
        feat = self.body(x)
        return {'body': feat, 'head': self.head(feat), 'body@in': x + 0}


SPECS = dict(feat='body', logits='head',
             other=dict(module='body', source='input'))
TOY_CFG = dict(type='ToyTeacher')


def toy_cache(root, teacher, **specs):
    """A new cache on ``root`` (as a new run would make it), bound to
    ``teacher`` with ``specs`` (name -> spec), and a counting runner that
    records taps under those names."""
    cache = TeacherOutputCache(str(root))
    cache.bind(teacher, TOY_CFG, specs)
    calls = []

    def run(x):
        calls.append(len(x))
        with torch.no_grad():
            out = teacher.taps(x)
        where = {name: spec if isinstance(spec, str) else
                 spec['module'] + ('@in' if spec.get('source') == 'input'
                                   else '')
                 for name, spec in specs.items()}
        return {name: out[w] for name, w in where.items()}

    return cache, run, calls


def toy_batch(n=4, seed=0):
    return torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(
        seed))


def test_taps_are_shared_across_runs_by_spec(tmp_path):
    teacher, x = ToyTeacher(), toy_batch()
    # run 1 (RKD-like: feat and logits) fills the cache
    first, run, calls = toy_cache(tmp_path, teacher, feat='body',
                                  logits='head')
    filled = first.lookup(x, ['feat', 'logits'], run)
    assert calls == [4] and (first.hits, first.lookups) == (0, 4)
    logits_files = pt_files(osp.join(first.directory, tap_id('head')))
    assert len(logits_files) == 4
    stamps = [(os.stat(f).st_ino, os.stat(f).st_mtime_ns)
              for f in logits_files]

    # run 2 (KD-like: logits only), a new process: all hits, from disk
    second, run, calls = toy_cache(tmp_path, teacher, logits='head')
    assert second.namespace == first.namespace and not second.memory
    out = second.lookup(x, ['logits'], run)
    assert calls == [] and (second.hits, second.lookups) == (4, 4)
    assert torch.equal(out['logits'], filled['logits'])

    # the tap's name does not matter, its spec does
    named, run, calls = toy_cache(tmp_path, teacher, scores='head')
    assert torch.equal(named.lookup(x, ['scores'], run)['scores'],
                       filled['logits'])
    assert calls == []

    # run 3 adds a tap: the teacher runs once, for `other` only; the
    # stored logits are returned as stored and not rewritten
    third, run, calls = toy_cache(tmp_path, teacher, logits='head',
                                  other=SPECS['other'])
    out = third.lookup(x, ['logits', 'other'], run)
    assert calls == [4]
    assert (third.hits, third.lookups) == (0, 4)
    assert (third.tap_hits, third.tap_lookups) == (4, 8)
    assert torch.equal(out['logits'], filled['logits'])
    assert torch.equal(out['other'], x)
    assert len(pt_files(osp.join(third.directory,
                                 tap_id(SPECS['other'])))) == 4
    assert [(os.stat(f).st_ino, os.stat(f).st_mtime_ns)
            for f in logits_files] == stamps
    assert len(pt_files(tmp_path)) == 4 * 3  # feat, logits, other

    # and now every tap of every sample is there
    fourth, run, calls = toy_cache(tmp_path, teacher, **SPECS)
    out = fourth.lookup(x, ['feat', 'logits', 'other'], run)
    assert calls == [] and fourth.hits == 4
    for name in ('feat', 'logits'):
        assert torch.equal(out[name], filled[name])


def test_a_partial_sample_runs_with_the_other_misses(tmp_path):
    """Samples missing any asked tap run together (one forward); fully
    stored ones do not run."""
    teacher, x = ToyTeacher(), toy_batch(n=4)
    cache, run, _ = toy_cache(tmp_path, teacher, **SPECS)
    cache.lookup(x[:2], ['feat', 'logits'], run)  # 0, 1: feat and logits
    cache.lookup(x[2:3], ['logits'], run)  # 2: logits only
    cache.lookup(x[:1], ['other'], run)  # 0: other too
    again, run, calls = toy_cache(tmp_path, teacher, **SPECS)
    ran = []
    out = again.lookup(x, ['logits', 'other'],
                       lambda b: ran.append(b) or run(b))
    assert calls == [3] and torch.equal(ran[0], x[[1, 2, 3]])
    assert (again.hits, again.tap_hits, again.tap_lookups) == (1, 4, 8)
    assert torch.equal(out['other'], x)
    with torch.no_grad():
        assert torch.equal(out['logits'], teacher.taps(x)['head'])


def test_another_spec_under_the_same_name_is_a_miss(tmp_path):
    teacher, x = ToyTeacher(), toy_batch()
    first, run, _ = toy_cache(tmp_path, teacher, feat='body')
    first.lookup(x, ['feat'], run)
    other, run, calls = toy_cache(tmp_path, teacher,
                                  feat=dict(module='body', source='input'))
    assert other.namespace == first.namespace
    out = other.lookup(x, ['feat'], run)
    assert calls == [4] and other.hits == 0
    assert torch.equal(out['feat'], x)
    # the default fields of a spec do not matter
    same, run, calls = toy_cache(
        tmp_path, teacher, feat=dict(module='body', index=None,
                                     source='output'))
    same.lookup(x, ['feat'], run)
    assert calls == [] and same.hits == 4


@pytest.mark.parametrize('package', ['torch', 'numpy', 'mmengine', 'mmcv',
                                     'mmseg', 'rkd_mm'])
def test_library_versions_are_part_of_the_namespace(tmp_path, monkeypatch,
                                                    package):
    teacher, x = ToyTeacher(), toy_batch()
    base, run, _ = toy_cache(tmp_path, teacher, logits='head')
    base.lookup(x, ['logits'], run)
    with open(osp.join(base.directory, 'meta.json')) as f:
        meta = f.read()
    module = __import__(package)
    assert f'"{package}": "{module.__version__}"' in meta
    monkeypatch.setattr(module, '__version__', '999.0.0')
    upgraded, run, calls = toy_cache(tmp_path, teacher, logits='head')
    assert upgraded.namespace != base.namespace
    assert upgraded.description['versions'][package] == '999.0.0'
    upgraded.lookup(x, ['logits'], run)
    assert calls == [4] and upgraded.hits == 0
    monkeypatch.undo()
    again, _, _ = toy_cache(tmp_path, teacher, logits='head')
    assert again.namespace == base.namespace
    assert sorted(os.listdir(tmp_path)) == sorted(
        [base.namespace, upgraded.namespace])


def test_meta_json_says_what_a_namespace_holds(tmp_path):
    teacher = ToyTeacher()
    cache, _, _ = toy_cache(tmp_path, teacher, **SPECS)
    with open(osp.join(cache.directory, 'meta.json')) as f:
        meta = json.load(f)
    assert meta['format'] == 'rkd_mm.teacher_cache/2'
    assert meta['teacher_cfg'] == TOY_CFG
    assert meta['dtype'] == 'torch.float32'
    assert meta['numerics']['device'] == 'cpu'
    assert meta['numerics']['threads'] == torch.get_num_threads()
    assert set(meta['versions']) == {'torch', 'numpy', 'mmengine', 'mmcv',
                                     'mmseg', 'rkd_mm'}
    assert len(meta['teacher_weights']) == 32
    for spec in SPECS.values():
        with open(osp.join(cache.directory, tap_id(spec), 'tap.json')) as f:
            tap = json.load(f)
        assert tap['module'] == (spec if isinstance(spec, str)
                                 else spec['module'])


def test_concurrent_runs_share_a_directory(tmp_path):
    """Runs that fill the same entries at once: every reader gets whole
    files (no warning, the same bits), no temporary file is left."""
    teacher, x = ToyTeacher(), toy_batch(n=6)
    with torch.no_grad():
        expected = teacher.taps(x)
    start = threading.Barrier(4)
    results, errors = [], []

    def worker(k):
        try:
            for rnd in range(3):
                cache, run, _ = toy_cache(tmp_path, teacher, **SPECS)
                cache.max_memory_bytes = 0  # always through the files
                if rnd == 0:
                    start.wait()
                order = torch.randperm(6, generator=torch.Generator()
                                       .manual_seed(k * 10 + rnd))
                out = cache.lookup(x[order], list(SPECS), run)
                results.append((order, out, cache._warned))
        except Exception as e:  # reported below
            errors.append(e)

    with Records() as log:
        threads = [threading.Thread(target=worker, args=(k, ))
                   for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors and len(results) == 12
    assert log.warnings() == []
    for order, out, warned in results:
        assert not warned
        assert torch.equal(out['feat'], expected['body'][order])
        assert torch.equal(out['logits'], expected['head'][order])
        assert torch.equal(out['other'], x[order])
    names = [f for _, _, fs in os.walk(tmp_path) for f in fs]
    assert not [f for f in names if f.endswith('.tmp')]
    assert len([f for f in names if f.endswith('.pt')]) == 6 * 3


def test_lookup_of_an_unbound_tap_is_named(tmp_path):
    teacher = ToyTeacher()
    cache, run, _ = toy_cache(tmp_path, teacher, logits='head')
    with pytest.raises(KeyError, match=r"\['feat'\] were not given"):
        cache.lookup(toy_batch(), ['feat'], run)


def test_an_added_teacher_tap_reuses_the_stored_ones(tiny_teacher_ckpt,
                                                     tmp_path):
    """The distiller with one more teacher tap: the teacher runs once on
    HR for the new tap only, the LR view is all hits, and the stored taps
    come back bit for bit."""
    cache = dict(cache_dir=str(tmp_path))
    first, _ = build(tiny_teacher_ckpt, cache)
    hr, lr = hr_lr(first, n=3)
    filled = first.teacher_forward(hr, lr)
    taps = dict(Config.fromfile(TINY_RKD).model.distiller.teacher_taps,
                neck0=dict(module='neck', index=0))
    second, _ = build(tiny_teacher_ckpt, cache, teacher_taps=taps)
    ran = []
    original = second._run_teacher
    second._run_teacher = lambda x: ran.append(x) or original(x)
    out = second.teacher_forward(hr, lr)
    assert len(ran) == 1 and torch.equal(ran[0], hr)
    assert second.teacher_cache.namespace == first.teacher_cache.namespace
    assert set(out) == set(filled) | {'neck0'}
    for k, v in filled.items():
        assert torch.equal(out[k], v), k
    assert tuple(out['neck0'].shape) == (3, 16, 16, 16)


# ----------------------------------------------------------------------
# the hook
# ----------------------------------------------------------------------
def flips_pipeline():
    return list(Config.fromfile(FLIPS).train_pipeline)


def check(model, dataset, **kwargs):
    runner = SimpleNamespace(
        model=model, cfg=Config(dict(train_dataloader=dict(dataset=dataset))))
    with Records() as log:
        TeacherCacheHook(**kwargs).before_train(runner)
    return log.warnings()


def test_hook_keeps_the_cache_for_flips(tiny_teacher_ckpt):
    model, _ = build(tiny_teacher_ckpt, dict(cache_dir=None))
    pipeline = flips_pipeline()
    assert [t['type'] for t in pipeline].count('RandomFlip') == 2
    assert check(model, dict(pipeline=pipeline)) == []
    assert model.teacher_cache is not None
    # a fixed resize is deterministic too
    pipeline.insert(2, dict(type='Resize', scale=(64, 64), keep_ratio=False))
    assert check(model, dict(pipeline=pipeline)) == []
    assert model.teacher_cache is not None


@pytest.mark.parametrize('dataset,named', [
    (dict(pipeline='crop'), 'RandomCrop'),
    (dict(type='RepeatDataset', times=2, dataset=dict(pipeline='resize')),
     'RandomResize'),
    (dict(type='ConcatDataset', datasets=[
        dict(pipeline='flips'), dict(pipeline='ratio')]),
     'Resize(ratio_range)'),
])
def test_hook_switches_the_cache_off_for_random_augmentations(
        tiny_teacher_ckpt, dataset, named):
    extra = dict(
        crop=dict(type='RandomCrop', crop_size=(48, 48)),
        resize=dict(type='mmseg.RandomResize', scale=(64, 64),
                    ratio_range=(0.5, 2.0)),
        ratio=dict(type='Resize', scale=(64, 64), ratio_range=(0.5, 2.0)))

    def fill(d):
        if isinstance(d.get('pipeline'), str):
            pipeline = flips_pipeline()
            if d['pipeline'] in extra:
                pipeline.insert(2, extra[d['pipeline']])
            d['pipeline'] = pipeline
        for inner in [d.get('dataset')] + list(d.get('datasets', [])):
            if inner:
                fill(inner)
        return d

    model, _ = build(tiny_teacher_ckpt, dict(cache_dir=None))
    warnings = check(model, fill(dataset))
    assert model.teacher_cache is None
    assert warnings == [
        f'random augmentation {named} in the training pipeline: '
        'teacher-output cache off, teacher runs online.']


def test_hook_accepts_a_named_deterministic_transform(tiny_teacher_ckpt):
    model, _ = build(tiny_teacher_ckpt, dict(cache_dir=None))
    pipeline = flips_pipeline()
    pipeline.insert(2, dict(type='MyFixedTransform'))
    assert check(model, dict(pipeline=pipeline),
                 finite=['MyFixedTransform']) == []
    assert model.teacher_cache is not None
    assert 'MyFixedTransform' in check(model, dict(pipeline=pipeline))[0]


def test_hook_ignores_a_model_without_cache(tiny_teacher_ckpt):
    model, _ = build(tiny_teacher_ckpt)
    pipeline = flips_pipeline() + [dict(type='RandomCrop', crop_size=8)]
    assert check(model, dict(pipeline=pipeline)) == []


# ----------------------------------------------------------------------
# in a runner
# ----------------------------------------------------------------------
def tiny_runner(tmp_path, data_root, teacher_ckpt, crop=False):
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.model.teacher_cache = dict(cache_dir=str(tmp_path / 'cache'))
    cfg.work_dir = str(tmp_path / ('crop' if crop else 'flips'))
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks = [h for h in cfg.custom_hooks
                        if h['type'] != 'rkd_mm.TeacherCacheHook']
    cfg.custom_hooks.append(dict(type='rkd_mm.TeacherCacheHook'))
    if crop:
        cfg.train_dataloader.dataset.pipeline.insert(
            2, dict(type='RandomCrop', crop_size=(48, 48)))
    cfg.train_dataloader.dataset.data_root = data_root
    return Runner.from_cfg(cfg)


def test_runner_trains_with_the_cache_and_logs_its_hit_rate(
        tiny_data_root, tiny_teacher_ckpt, tmp_path):
    runner = tiny_runner(tmp_path, tiny_data_root, tiny_teacher_ckpt)
    runner.train()
    cache = runner.model.teacher_cache
    assert cache is not None and cache.lookups == 3 * 2 * 2  # HR + LR
    rates = runner.message_hub.get_scalar('train/teacher_cache.hit_rate')
    assert len(rates.data[0]) == 3
    assert 'train/distill.loss_kd' in runner.message_hub.log_scalars
    entries = [f for r, _, fs in os.walk(tmp_path / 'cache') for f in fs
               if f.endswith('.pt')]
    assert len(entries) == len(cache.memory) > 0


def test_runner_with_a_random_crop_runs_the_teacher_online(
        tiny_data_root, tiny_teacher_ckpt, tmp_path):
    runner = tiny_runner(tmp_path, tiny_data_root, tiny_teacher_ckpt,
                         crop=True)
    runner.train()
    assert runner.model.teacher_cache is None
    assert not osp.exists(tmp_path / 'cache')
    assert 'train/teacher_cache.hit_rate' not in \
        runner.message_hub.log_scalars


def test_the_rkd_configs_share_one_cache_and_the_tiny_one_has_none():
    paths = sorted(glob.glob(osp.join(REPO, 'configs', 'rkd', '**', '*.py'),
                             recursive=True))
    assert len(paths) >= 4
    for path in paths:
        cfg = Config.fromfile(path)
        # one shared folder (a config may set other options, e.g. the
        # ELPV one keeps no in-memory copy)
        assert cfg.model.teacher_cache.cache_dir == \
            'work_dirs/teacher_cache', path
        hooks = [h['type'] for h in cfg.custom_hooks]
        assert hooks == ['rkd_mm.NumClassCheckHook', 'rkd_mm.RNGStateHook',
                         'rkd_mm.TeacherCacheHook'], path
    # the tests' runs must not write into the repository's work_dirs
    assert Config.fromfile(TINY_RKD).model.teacher_cache is None
