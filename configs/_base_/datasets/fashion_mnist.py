# Fashion-MNIST (Xiao et al. 2017, MIT licence) at its native 28x28 (HR),
# read in place from Debian's dataset-fashion-mnist (docs/data.md; no
# download). The set has no val split: val is the last 10,000 training
# images, train the first 50,000, test the 10,000 test images (each class
# 1/10 of each split, near enough). Choose on val, report on test.
dataset_type = 'rkd_mm.OfflineFashionMNIST'
data_root = '/usr/share/datasets/fashion-mnist'
val_size = 10000
# grey levels of the training images: mean 0.286 x 255, std 0.353 x 255
data_preprocessor = dict(
    num_classes=10, mean=[72.94], std=[90.02], to_rgb=False)
# Horizontal flips only: a finite augmentation set (a distiller can cache
# the teacher's outputs for it).
train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        val_size=val_size,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        val_size=val_size,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline))
# accuracy, macro-F1, per-class precision/recall, confusion matrix
val_evaluator = dict(type='rkd_mm.ClassificationMetric')
test_evaluator = val_evaluator
