# Entry point: the HR teacher for ELPV solar-cell classification (4 levels).
_base_ = ['./mobilenet-v2_in1k-pre_1xb32-600it_elpv-224px.py']
