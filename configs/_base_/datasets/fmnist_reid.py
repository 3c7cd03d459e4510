# Open-set retrieval on real images, in the Market-1501 layout: Fashion-
# MNIST (Xiao et al. 2017, MIT licence) written out by
#   python tools/dataset_converters/fashion_mnist_to_reid.py \
#       --out data/fmnist_reid
# The 5 seen classes (T-shirt/top, trouser, pullover, dress, coat: 30,000
# train-file images, less the val ones) are the training "identities"; the
# test query and gallery hold the 5 unseen classes only (test file: 500
# queries, 4,500 gallery images). Val (500 queries / 2,500 gallery) is
# held-out train-file images of the 5 *seen* classes, never trained on:
# choosing a checkpoint never sees a test identity. Six "cameras" dealt in
# turn, so the official same-id-same-camera exclusion applies.
# What it is not: people. Five identities of thousands of images each make
# retrieval a clustering of unseen categories; it checks that the readers,
# the protocol and the distiller work on real images (docs/reid_face.md).
# HR = the native 28x28 grey; choose on val mAP, report on test.
dataset_type = 'rkd_mm.Market1501Dataset'
data_root = 'data/fmnist_reid/market1501'
# the training identities; the grey statistics of Fashion-MNIST
data_preprocessor = dict(
    num_classes=5, mean=[72.94], std=[90.02], to_rgb=False)
# Horizontal flips only: a finite augmentation set (a distiller can cache
# the teacher's outputs for it).
train_pipeline = [
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
# the identity, camera and query/gallery role the metric reads
test_pipeline = [
    dict(type='LoadImageFromFile', color_type='grayscale'),
    dict(type='PackInputs', algorithm_keys=('pid', 'camid', 'is_query')),
]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    # P x K batches (4 identities x 16 images): every anchor of the
    # batch-hard triplet loss has positives and negatives
    batch_sampler=dict(type='rkd_mm.PKBatchSampler', num_instances=16),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        query_dir='val_query',
        gallery_dir='bounding_box_val',
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
# CMC rank-1/5/10 and mAP, official rule; BNNeck embeddings by cosine
val_evaluator = dict(type='rkd_mm.ReIDMetric', dist='cosine')
test_evaluator = val_evaluator
