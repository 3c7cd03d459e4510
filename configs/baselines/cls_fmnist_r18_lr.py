# Entry point: the LR-only student (ResNet-18) on Fashion-MNIST at x0.5.
_base_ = ['./resnet18-w32_1xb64-1k_fmnist-lr14px.py']
