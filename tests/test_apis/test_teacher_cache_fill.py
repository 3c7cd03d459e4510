"""Enumerating the training variants and filling the teacher cache."""
import os
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import TINY_RKD
from rkd_mm.apis.teacher_cache_fill import (count_variants, fill_shard,
                                             flip_outcomes, leaf_datasets,
                                             pipeline_variants)

H = dict(type='RandomFlip', prob=0.5, direction='horizontal')
V = dict(type='RandomFlip', prob=0.5, direction='vertical')
LOAD = dict(type='LoadImageFromFile')
PACK = dict(type='PackSegInputs')


def test_flip_outcomes_follow_mmcv():
    assert flip_outcomes(H) == [dict(H, prob=1.0), None]
    assert flip_outcomes(dict(H, prob=1.0)) == [dict(H, prob=1.0)]
    assert flip_outcomes(dict(H, prob=0.0)) == [None]
    assert flip_outcomes(dict(H, prob=None)) == [None]
    both = dict(type='RandomFlip', prob=1.0,
                direction=['horizontal', 'vertical'])
    assert [o['direction'] for o in flip_outcomes(both)] == [
        'horizontal', 'vertical']
    per = dict(type='RandomFlip', prob=[0.3, 0.0],
               direction=['horizontal', 'diagonal'])
    assert [o and o['direction'] for o in flip_outcomes(per)] == [
        'horizontal', None]
    with pytest.raises(ValueError, match='one prob per direction'):
        flip_outcomes(dict(per, prob=[0.5]))


def test_two_flips_give_four_deterministic_pipelines():
    variants = pipeline_variants([LOAD, H, V, PACK])
    assert len(variants) == 4
    assert [LOAD, PACK] in variants  # neither flip
    for v in variants:
        assert v[0] == LOAD and v[-1] == PACK
        assert all(t.get('prob', 1.0) == 1.0 for t in v)


def test_random_transforms_cannot_be_enumerated():
    crop = dict(type='RandomCrop', crop_size=(8, 8))
    with pytest.raises(ValueError, match='RandomCrop'):
        pipeline_variants([LOAD, crop, PACK])


def test_leaves_of_wrapped_datasets():
    a = dict(type='A', pipeline=[LOAD])
    b = dict(type='B', pipeline=[PACK])
    cfg = dict(type='ConcatDataset',
               datasets=[dict(type='RepeatDataset', times=2, dataset=a), b])
    assert leaf_datasets(cfg) == [a, b]
    with pytest.raises(ValueError, match='no pipeline'):
        leaf_datasets(dict(type='RepeatDataset', times=2))


def tiny_cfg(teacher_ckpt, data_root, cache_dir):
    cfg = Config.fromfile(TINY_RKD)
    cfg.model.teacher_ckpt = teacher_ckpt
    cfg.model.teacher_cache = dict(cache_dir=str(cache_dir))
    cfg.train_dataloader.dataset.data_root = data_root
    return cfg


def test_fill_needs_a_disk_cache(tiny_teacher_ckpt, tiny_data_root,
                                 tmp_path):
    cfg = tiny_cfg(tiny_teacher_ckpt, tiny_data_root, tmp_path)
    cfg.model.teacher_cache = None
    with pytest.raises(ValueError, match='cache_dir'):
        fill_shard(cfg)


def test_filled_cache_serves_every_training_step(tiny_teacher_ckpt,
                                                 tiny_data_root, tmp_path):
    """Two shards fill what training meets: a run with the filled cache
    reads the teacher for every sample of every step (HR and @lr), and
    filling again computes nothing."""
    cache_dir = tmp_path / 'cache'
    cfg = tiny_cfg(tiny_teacher_ckpt, tiny_data_root, cache_dir)
    init_default_scope('mmseg')
    assert count_variants(cfg) == dict(images=8, variants=32)
    results = [fill_shard(cfg, k, 2) for k in range(2)]
    assert [r['samples'] for r in results] == [16, 16]
    # every HR variant, and its @lr view, once
    assert sum(r['computed'] for r in results) == 2 * 32
    assert fill_shard(cfg, 0, 1)['computed'] == 0

    cfg.work_dir = str(tmp_path / 'run')
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=6)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.custom_hooks.append(dict(type='rkd_mm.TeacherCacheHook'))
    MessageHub.get_current_instance().update_info('iter', 0)
    runner = Runner.from_cfg(cfg)
    runner.train()
    rates = runner.message_hub.get_scalar('train/teacher_cache.hit_rate')
    assert list(rates.data[0]) == [1.0] * 6
    cache = runner.model.teacher_cache
    assert cache.hits == cache.lookups == 6 * 2 * 2  # HR + @lr per step
    files = [f for _, _, fs in os.walk(cache_dir) for f in fs
             if f.endswith('.pt')]
    # HR: feat + logits; @lr: logits
    assert len(files) == 32 * 3
    assert osp.isdir(results[0]['directory'])


def test_entries_depend_on_the_thread_count(tiny_teacher_ckpt,
                                            tiny_data_root, tmp_path):
    """The namespace records the threads: a fill at another thread count
    than the training's would never be read."""
    cfg = tiny_cfg(tiny_teacher_ckpt, tiny_data_root, tmp_path / 'cache')
    cfg.train_dataloader.dataset.pipeline = [
        t for t in cfg.train_dataloader.dataset.pipeline
        if t['type'] != 'RandomFlip']
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = fill_shard(cfg)
        torch.set_num_threads(2)
        two = fill_shard(cfg)
    finally:
        torch.set_num_threads(threads)
    assert one['namespace'] != two['namespace']
    assert one['computed'] == two['computed'] == 2 * 8
