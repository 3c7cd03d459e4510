# Dense CRKD with its pixel-MMD term, x0.5, weights 1 (adversarial 0.1):
# the recipe before the rule set its weights (tools/run_experiment.py
# --methods rkd_dense calibrates them). Without MMD it is the default.
_base_ = [
    '../defect_seg_r50_to_r18_lr.py', '../../_base_/recipes/crkd_dense.py'
]
model = dict(distiller={{_base_.crkd_dense_mmd}})
