# Entry point: the HR teacher for Fashion-MNIST classification.
_base_ = ['./resnet18-w32_1xb64-1k_fmnist-28px.py']
