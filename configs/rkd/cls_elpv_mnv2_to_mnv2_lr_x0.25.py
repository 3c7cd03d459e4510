# RKD on ELPV at x0.25 (224 -> 56 px): the scale changes. Weights by the
# project's rule: tools/run_experiment.py CONFIG --target-ratio R
# (docs/results.md, ELPV).
_base_ = ['./cls_elpv_mnv2_to_mnv2_lr.py']
model = dict(student=dict(data_preprocessor=dict(scale_factor=0.25)))
