# Entry point: the LR-only student on ELPV at x0.25 (224 -> 56 px).
_base_ = ['./mobilenet-v2_in1k-pre_1xb32-600it_elpv-lr56px.py']
