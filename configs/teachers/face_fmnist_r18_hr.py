# Entry point: the HR face-verification teacher on Fashion-MNIST (identity
# folders + LFW-style pairs; data:
# tools/dataset_converters/fashion_mnist_to_reid.py).
_base_ = ['./resnet18-w32-arcface_1xb64-1k_fmnist-face-28px.py']
