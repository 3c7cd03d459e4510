# The default recipe (dense CRKD without MMD) at weights 1 (adversarial
# 0.1), x0.25.
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_dense.py'
]
model = dict(
    student=dict(data_preprocessor=dict(scale_factor=0.25)),
    distiller={{_base_.crkd_dense_unit_weights}})
