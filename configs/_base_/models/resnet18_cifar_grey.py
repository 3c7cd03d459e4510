# ResNet-18 with the CIFAR stem (3x3 conv, stride 1, no max-pool: meant for
# inputs of 32x32 and below) on grey images, global average pooling and a
# linear head (mmpretrain). The data preprocessor comes from the dataset
# base (its mean/std), set by the configs that combine the two.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',
        depth=18,
        in_channels=1,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch'),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
