# The HR teacher for open-set retrieval on Fashion-MNIST in the Market-1501
# layout (data: tools/dataset_converters/fashion_mnist_to_reid.py): the
# classification network (ResNet-18 at half width, CIFAR stem, grey) with a
# re-ID head (BNNeck: ID cross-entropy with label smoothing on the BN
# feature's logits + batch-hard triplet on the pooled feature; Luo et al.
# 2019), P x K batches, 1,000 iterations of 64 at the native 28x28.
# Checkpoints are chosen on val mAP (held-out images of the training
# identities).
_base_ = [
    '../_base_/models/resnet18-w32_cifar_grey.py',
    '../_base_/datasets/fmnist_reid.py', '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_cls_1k.py'
]
model = dict(
    data_preprocessor={{_base_.data_preprocessor}},
    head=dict(
        _delete_=True, type='rkd_mm.BNNeckHead', num_classes=5,
        in_channels=256))
# tools/test.py --show-dir draws rank lists, not per-image predictions: a
# retrieval result needs the whole gallery
default_hooks = dict(
    checkpoint=dict(save_best='mAP'),
    visualization=dict(
        _delete_=True, type='rkd_mm.RetrievalVisualizationHook',
        enable=False))
