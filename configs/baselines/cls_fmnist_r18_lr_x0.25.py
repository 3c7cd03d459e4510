# Entry point: the LR-only student (ResNet-18) on Fashion-MNIST at x0.25
# (28 -> 7 px). Only the scale changes.
_base_ = ['./resnet18-w32_1xb64-1k_fmnist-lr14px.py']
model = dict(data_preprocessor=dict(scale_factor=0.25))
