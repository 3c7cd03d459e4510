"""TeacherCacheHook's reading of a pipeline (the hook itself, on a model:
tests/test_models/test_algorithms/test_teacher_cache.py)."""
from rkd_mm.engine.hooks.teacher_cache_hook import random_transforms


def test_mmpretrain_pipeline_with_fixed_resize_and_flips_is_finite():
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='mmpretrain.ResizeEdge', scale=146, edge='short'),
        dict(type='CenterCrop', crop_size=128),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='mmpretrain.PackInputs')
    ]
    assert random_transforms(dict(pipeline=pipeline)) == []
    pipeline.insert(1, dict(type='RandomResizedCrop', scale=128))
    wrapped = dict(type='RepeatDataset', dataset=dict(pipeline=pipeline))
    assert random_transforms(wrapped) == ['RandomResizedCrop']
