# ResNet-50 (mmpretrain) with global average pooling and a linear head for
# ELPV's 4 levels, randomly initialised (nothing is downloaded; no ImageNet
# ResNet weights install offline here). The data preprocessor comes from the
# dataset base.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=50, num_stages=4, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=4,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
