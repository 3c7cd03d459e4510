# Ablation: dense CRKD without its pixel MMD term (docs/results.md: at
# 1,000 iterations, x0.25, the one term whose removal helped).
_base_ = ['../rkd-dense_fpn_r50-fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(distill_losses=dict(loss_mmd=None))
