# RKD into ONE student for x0.5 and x0.25 on Fashion-MNIST: a scale drawn
# per batch, validated at x0.25; the teacher sees HR, its @lr taps the drawn
# view.
_base_ = ['./cls_fmnist_r18_to_r18_lr.py']
model = dict(
    student=dict(
        data_preprocessor=dict(
            scale_factor=[0.5, 0.25], test_scale_factor=0.25)))
