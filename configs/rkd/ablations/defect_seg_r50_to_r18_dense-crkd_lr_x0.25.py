# Dense CRKD with its pixel-MMD term at x0.25, weights 1 (adversarial 0.1).
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_dense.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    distiller={{_base_.crkd_dense_mmd}})
