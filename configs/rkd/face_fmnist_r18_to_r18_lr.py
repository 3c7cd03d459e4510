# Entry point: RKD for face verification on Fashion-MNIST (identity folders
# + LFW-style pairs), ResNet-18 teacher at 28x28 -> student at x0.5.
_base_ = [
    './rkd_resnet18-w32-arcface-resnet18-w32-arcface_1xb64-1k_'
    'fmnist-face-lr14px.py'
]
