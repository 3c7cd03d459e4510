# Entry point: RKD on Fashion-MNIST, ResNet-18 teacher at 28x28 -> ResNet-18
# student at x0.5 (14x14).
_base_ = ['./rkd_resnet18-w32-resnet18-w32_1xb64-1k_fmnist-lr14px.py']
