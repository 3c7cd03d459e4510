# Entry point: RKD on ELPV, MobileNetV2 teacher at 224x224 -> the same
# network at x0.25 (56x56). Weights by the project's rule: run it through
# tools/run_experiment.py CONFIG --target-ratio R (docs/results.md, ELPV).
_base_ = ['./rkd_mobilenet-v2-mobilenet-v2_1xb32-600it_elpv-lr56px.py']
