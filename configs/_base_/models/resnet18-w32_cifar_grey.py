# ResNet-18 at half width (32 base channels instead of 64: stages of 32,
# 64, 128, 256) with the CIFAR stem (3x3 conv, stride 1, no max-pool: meant
# for inputs of 32x32 and below) on grey images, global average pooling and
# a linear head (mmpretrain). Half width: a 28x28 training step of batch 64
# costs 0.36 s instead of 1.30 s on one CPU thread (2026-12-02), so a
# teacher trains in minutes and a 3-seed comparison fits 2 cores; a GPU
# config sets base_channels=64, stem_channels=64, head in_channels=512.
# The data preprocessor comes from the dataset base (its mean/std), set by
# the configs that combine the two.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        in_channels=1,
        stem_channels=32,
        base_channels=32,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=256,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
