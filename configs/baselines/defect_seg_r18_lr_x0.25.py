# Entry point: the LR-only student (R18-FPN) at x0.25.
_base_ = ['./fpn_r18_1xb8-2k_syndefect-lr32x32.py']
