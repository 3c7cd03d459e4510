# ELPV solar cells (Buerhop-Lutz et al. 2018, Deitsch et al. 2019; data
# licence CC BY-NC-SA 4.0, non-commercial): 2,624 EL images of 300x300 grey,
# read in place from the PyPI package elpv-dataset (`pip install -e
# ".[elpv]"`, docs/data.md). rkd_mm's fixed stratified split: 1,574 / 525 /
# 525 train / val / test. 4-level labels (defect probability 0, 1/3, 2/3,
# 1; 904 / 177 / 64 / 429 train images); label_mode='binary' for two.
# Choose on val, report on test.
#
# HR = 224x224, area-resized from 300 (the ImageNet size of the pretrained
# MobileNetV2; the 1-3 px cracks survive it). The grey PNG is read as 3
# equal channels and normalised with ImageNet's statistics, which the
# pretrained weights expect (a from-scratch model does not care).
dataset_type = 'rkd_mm.ELPVDataset'
label_mode = '4-level'
num_classes = 4
hr_size = 224
data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False)  # grey: the 3 channels are equal
# Flips only (both are valid for a solar cell): a finite augmentation set,
# so a distiller can cache the teacher's outputs for it. (An LR model makes
# its LR view in its data preprocessor: the pipelines stay HR.)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(hr_size, hr_size), interpolation='area'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(hr_size, hr_size), interpolation='area'),
    dict(type='PackInputs'),
]
# the native 300x300 (no resize), for the GPU configs: the cracks and
# finger interruptions are 1-3 px wide there
native_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='PackInputs'),
]
native_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs')
]
train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        split='train',
        label_mode=label_mode,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        split='val',
        label_mode=label_mode,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        split='test',
        label_mode=label_mode,
        pipeline=test_pipeline))
# accuracy, macro-F1 (the classes are imbalanced: read both), per-class
# precision/recall/F1, confusion matrix
val_evaluator = dict(type='rkd_mm.ClassificationMetric')
test_evaluator = val_evaluator
