# RKD on ELPV on a GPU at x0.25 (300 -> 75 px): the scale changes.
_base_ = ['./cls_elpv_r50_to_r18_lr.py']
model = dict(student=dict(data_preprocessor=dict(scale_factor=0.25)))
