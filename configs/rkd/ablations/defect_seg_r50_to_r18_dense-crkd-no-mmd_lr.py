# The default recipe (dense CRKD without MMD) at weights 1 (adversarial
# 0.1), x0.5: what the rule's weights are compared with.
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_dense.py'
]
model = dict(distiller={{_base_.crkd_dense_unit_weights}})
