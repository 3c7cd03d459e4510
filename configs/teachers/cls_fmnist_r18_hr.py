# The HR teacher for Fashion-MNIST classification: ResNet-18 at half width
# (CIFAR stem, grey) at the native 28x28, trained from scratch on a 2-core
# CPU (1,000 iterations of 64; about 5 min).
_base_ = [
    '../_base_/models/resnet18-w32_cifar_grey.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_cls_1k.py'
]
model = dict(data_preprocessor={{_base_.data_preprocessor}})
