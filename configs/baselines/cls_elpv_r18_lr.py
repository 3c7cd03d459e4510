# Entry point: the LR-only ResNet-18 on ELPV at x0.5 (300 -> 150 px), GPU.
_base_ = ['./resnet18_1xb32-5k_elpv-lr150px.py']
