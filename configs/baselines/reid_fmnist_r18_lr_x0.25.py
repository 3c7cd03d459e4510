# Entry point: the LR-only re-ID student on Fashion-MNIST at x0.25 (7x7).
_base_ = ['./resnet18-w32-bnneck_1xb64-1k_fmnist-reid-lr14px.py']
model = dict(data_preprocessor=dict(scale_factor=0.25))
