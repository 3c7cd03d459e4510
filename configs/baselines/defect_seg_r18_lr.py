# Entry point: the LR-only student (R18-FPN) at x0.5.
_base_ = ['./fpn_r18_1xb8-2k_syndefect-lr64x64.py']
