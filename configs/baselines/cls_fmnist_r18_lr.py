# The LR-only student for Fashion-MNIST: the teacher's network, pipelines
# and schedule with an LR data preprocessor, which shows the network each
# image at x0.5 (28 -> 14 px, area averaging) in training and testing,
# after normalisation; its scale_factor is the one home of the LR scale.
# (The preprocessor is the top-level one of mmpretrain's convention, which
# the Runner, and a distiller's cfg_path, hand to the model.)
_base_ = [
    '../_base_/models/resnet18-w32_cifar_grey.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_cls_1k.py'
]
data_preprocessor = dict(type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5)
