# The HR teacher for the face-verification protocol on Fashion-MNIST
# (identity folders + LFW-style pairs; data:
# tools/dataset_converters/fashion_mnist_to_reid.py): the classification
# network (ResNet-18 at half width, CIFAR stem, grey) with an ArcFace head
# (Deng et al. 2019; additive angular margin on normalised features and
# class centres, predicting the 256-d pooled feature as the embedding),
# 1,000 iterations of 64 at the native 28x28. Scale 16 and margin 0.3
# instead of face recognition's 64 / 0.5, which are meant for thousands of
# identities (5 here). Checkpoints are chosen on val 10-fold accuracy
# (pairs of held-out images of the training identities).
_base_ = [
    '../_base_/models/resnet18-w32_cifar_grey.py',
    '../_base_/datasets/fmnist_face.py', '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_cls_1k.py'
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    head=dict(
        _delete_=True,
        type='rkd_mm.ArcFaceEmbeddingHead',
        num_classes=5,
        in_channels=256,
        scale=16.0,
        margins=0.3))
# tools/test.py --show-dir draws the hardest verification pairs, not
# per-image predictions: a verification result needs the pairs
default_hooks = dict(
    checkpoint=dict(save_best='verif_acc'),
    visualization=dict(
        _delete_=True, type='rkd_mm.RetrievalVisualizationHook',
        enable=False))
