# RKD for Fashion-MNIST at x0.25 (28 -> 7 px): the scale changes.
_base_ = ['./cls_fmnist_r18_to_r18_lr.py']
model = dict(student=dict(data_preprocessor=dict(scale_factor=0.25)))
