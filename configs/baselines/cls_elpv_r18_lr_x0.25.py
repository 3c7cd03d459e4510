# Entry point: the LR-only ResNet-18 on ELPV at x0.25 (300 -> 75 px), GPU.
_base_ = ['./resnet18_1xb32-5k_elpv-lr150px.py']
model = dict(data_preprocessor=dict(scale_factor=0.25))
