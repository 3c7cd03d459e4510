# LR-only baseline for Fashion-MNIST: the teacher's config (network,
# pipelines, schedule) with an LR data preprocessor, which shows the network
# each image at x0.5 (28 -> 14 px, area averaging) in training and testing,
# after normalisation. Its scale_factor is the one home of the LR scale.
_base_ = ['../teachers/resnet18-w32_1xb64-1k_fmnist-28px.py']
model = dict(
    data_preprocessor=dict(
        type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5))
