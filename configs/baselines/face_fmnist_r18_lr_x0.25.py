# Entry point: the LR-only face-verification student on Fashion-MNIST at
# x0.25 (7x7).
_base_ = ['./resnet18-w32-arcface_1xb64-1k_fmnist-face-lr14px.py']
model = dict(data_preprocessor=dict(scale_factor=0.25))
