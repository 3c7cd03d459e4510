# Face-verification protocol on real images: Fashion-MNIST (MIT licence)
# written out by tools/dataset_converters/fashion_mnist_to_reid.py (--out
# data/fmnist_reid) as identity folders for training (lfw_style/train/
# <Name>/<Name>_0001.jpg: the 5 seen classes, mmpretrain CustomDataset)
# and LFW-style pairs of the 5 unseen classes (pairs.txt: 10 folds of 300
# same + 300 different pairs over lfw/; val_pairs.txt over val_lfw/:
# held-out train-file images of the 5 *seen* classes, so choosing a
# checkpoint never sees a test identity). Folds are disjoint in images
# (LFW's are disjoint in people, impossible with 5). Not faces:
# docs/reid_face.md says what it is.
# HR = the native 28x28 grey; choose on val, report on test.
data_root = 'data/fmnist_reid/lfw_style'
data_preprocessor = dict(
    num_classes=5, mean=[72.94], std=[90.02], to_rgb=False)
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='rkd_mm.LFWPairsDataset',
        data_root=data_root,
        pairs_file='val_pairs.txt',
        img_dir='val_lfw',
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='rkd_mm.LFWPairsDataset',
        data_root=data_root,
        pairs_file='pairs.txt',
        img_dir='lfw',
        pipeline=test_pipeline))
# 10-fold accuracy (threshold chosen on the other 9 folds), TAR at FAR=1e-3
val_evaluator = dict(type='rkd_mm.FaceVerificationMetric', num_folds=10)
test_evaluator = val_evaluator
