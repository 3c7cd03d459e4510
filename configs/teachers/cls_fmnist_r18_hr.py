# Entry point: the HR teacher for Fashion-MNIST classification.
_base_ = ['./resnet18_1xb64-1k_fmnist-28px.py']
