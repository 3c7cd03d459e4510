# LR-only baseline for Fashion-MNIST: the teacher's network and schedule,
# seeing each image at x0.5 (28 -> 14 px, area averaging) in training and
# testing.
_base_ = [
    '../_base_/models/resnet18-w32_cifar_grey.py',
    '../_base_/datasets/fashion_mnist_lr.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_cls_1k.py'
]
model = dict(data_preprocessor={{_base_.data_preprocessor}})
