# LR-only face-verification baseline on Fashion-MNIST: the teacher's config
# with an LR data preprocessor (x0.5: 28 -> 14 px), the one home of the LR
# scale.
_base_ = ['../teachers/resnet18-w32-arcface_1xb64-1k_fmnist-face-28px.py']
model = dict(
    data_preprocessor=dict(
        type='rkd_mm.LRClsDataPreProcessor', scale_factor=0.5))
