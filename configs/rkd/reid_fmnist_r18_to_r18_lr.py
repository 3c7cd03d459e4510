# Entry point: RKD for re-ID on Fashion-MNIST (Market-1501 layout), ResNet-18
# teacher at 28x28 -> ResNet-18 student at x0.5 (14x14).
_base_ = [
    './rkd_resnet18-w32-bnneck-resnet18-w32-bnneck_1xb64-1k_'
    'fmnist-reid-lr14px.py'
]
