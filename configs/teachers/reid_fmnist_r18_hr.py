# Entry point: the HR re-ID teacher on Fashion-MNIST in the Market-1501
# layout (data: tools/dataset_converters/fashion_mnist_to_reid.py).
_base_ = ['./resnet18-w32-bnneck_1xb64-1k_fmnist-reid-28px.py']
