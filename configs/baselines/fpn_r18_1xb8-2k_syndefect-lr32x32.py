# LR-only baseline at x0.25 (128 -> 32 px); otherwise as the x0.5 config.
_base_ = ['./fpn_r18_1xb8-2k_syndefect-lr64x64.py']
model = dict(data_preprocessor=dict(scale_factor=0.25))
