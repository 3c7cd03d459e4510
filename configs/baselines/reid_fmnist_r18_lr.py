# The LR-only re-ID student on Fashion-MNIST: the teacher's network, head,
# data and schedule with an LR data preprocessor (x0.5: 28 -> 14 px, area
# averaging, after normalisation), the one home of the LR scale.
_base_ = [
    '../_base_/models/resnet18-w32_cifar_grey.py',
    '../_base_/datasets/fmnist_reid.py', '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_cls_1k.py'
]
data_preprocessor = dict(type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5)
model = dict(
    head=dict(
        _delete_=True, type='rkd_mm.BNNeckHead', num_classes=5,
        in_channels=256))
default_hooks = dict(
    checkpoint=dict(save_best='mAP'),
    visualization=dict(
        _delete_=True, type='rkd_mm.RetrievalVisualizationHook',
        enable=False))
