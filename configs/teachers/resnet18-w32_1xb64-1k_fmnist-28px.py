# HR teacher for Fashion-MNIST: ResNet-18 at half width (CIFAR stem) at the
# native 28x28, trained from scratch on CPU (1,000 iterations of batch 64).
_base_ = [
    '../_base_/models/resnet18-w32_cifar_grey.py',
    '../_base_/datasets/fashion_mnist.py',
    '../_base_/default_runtime_cls.py',
    '../_base_/schedules/schedule_cpu_cls_1k.py'
]
model = dict(data_preprocessor={{_base_.data_preprocessor}})
