# RKD for face verification on Fashion-MNIST at x0.25 (7x7): the scale
# changes.
_base_ = ['./face_fmnist_r18_to_r18_lr.py']
model = dict(student=dict(data_preprocessor=dict(scale_factor=0.25)))
