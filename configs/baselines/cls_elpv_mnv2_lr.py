# Entry point: the LR-only student on ELPV at x0.5 (224 -> 112 px). Only the
# scale changes.
_base_ = ['./mobilenet-v2_in1k-pre_1xb32-600it_elpv-lr56px.py']
model = dict(data_preprocessor=dict(scale_factor=0.5))
