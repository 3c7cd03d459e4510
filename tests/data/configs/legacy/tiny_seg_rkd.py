# A config in the form written before 2026-12-07 (flat distiller
# fields; the student and teacher models inline): the tiny seg RKD
# config of that tree, for tests/test_apis/test_config_upgrade.py.
crop_size = (
    128,
    128,
)
custom_hooks = [
    dict(type='rkd_mm.NumClassCheckHook'),
    dict(type='rkd_mm.RNGStateHook'),
    dict(type='rkd_mm.TeacherCacheHook'),
]
custom_imports = dict(
    allow_failed_imports=False, imports=[
        'rkd_mm',
    ])
data_root = 'data/synthetic_defects'
dataset_type = 'rkd_mm.SyntheticDefectDataset'
default_hooks = dict(
    checkpoint=dict(
        by_epoch=False,
        interval=2,
        max_keep_ckpts=4,
        rule='greater',
        save_best='mIoU',
        type='CheckpointHook'),
    logger=dict(interval=1, log_metric_by_epoch=False, type='LoggerHook'),
    param_scheduler=dict(type='ParamSchedulerHook'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    timer=dict(type='IterTimerHook'),
    visualization=dict(type='SegVisualizationHook'))
default_scope = 'mmseg'
env_cfg = dict(
    cudnn_benchmark=False,
    dist_cfg=dict(backend='nccl'),
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0))
load_from = None
log_level = 'INFO'
log_processor = dict(by_epoch=False)
model = dict(
    adv_loss=dict(
        gan_type='lsgan', loss_weight=0.1, type='rkd_mm.AdversarialLoss'),
    disc_tap='feat',
    discriminator=dict(
        hidden_channels=16, in_channels=16,
        type='rkd_mm.FeatureDiscriminator'),
    distill_losses=dict(
        loss_kd=dict(
            detail_weight=2.0,
            loss_weight=1.0,
            tau=1.0,
            type='rkd_mm.ResolutionAwareKDLoss'),
        loss_mmd=dict(loss_weight=0.1, normalize=True, type='rkd_mm.MMDLoss'),
        loss_pair=dict(loss_weight=10.0,
                       type='rkd_mm.PairwiseSimilarityLoss')),
    distill_warmup_iters=2,
    loss_inputs=dict(
        loss_kd=dict(
            preds_S=dict(from_student=True, tap='logits'),
            preds_T=dict(from_student=False, tap='logits'),
            preds_T_lr=dict(from_student=False, tap='logits', view='lr')),
        loss_mmd=dict(
            preds_S=dict(from_student=True, tap='feat'),
            preds_T=dict(from_student=False, tap='feat')),
        loss_pair=dict(
            preds_S=dict(from_student=True, tap='feat'),
            preds_T=dict(from_student=False, tap='feat'))),
    student=dict(
        backbone=dict(
            base_channels=16,
            contract_dilation=True,
            depth=18,
            dilations=(
                1,
                1,
                1,
                1,
            ),
            init_cfg=None,
            norm_cfg=dict(requires_grad=True, type='BN'),
            norm_eval=False,
            num_stages=4,
            out_indices=(
                0,
                1,
                2,
                3,
            ),
            stem_channels=16,
            strides=(
                1,
                2,
                2,
                2,
            ),
            style='pytorch',
            type='ResNetV1c'),
        data_preprocessor=dict(
            bgr_to_rgb=True,
            mean=[
                123.675,
                116.28,
                103.53,
            ],
            pad_val=0,
            scale_factor=0.5,
            seg_pad_val=255,
            size_divisor=1,
            std=[
                58.395,
                57.12,
                57.375,
            ],
            type='rkd_mm.LRSegDataPreProcessor'),
        decode_head=dict(
            align_corners=False,
            channels=16,
            dropout_ratio=0.1,
            feature_strides=[
                4,
                8,
                16,
                32,
            ],
            in_channels=[
                16,
                16,
                16,
                16,
            ],
            in_index=[
                0,
                1,
                2,
                3,
            ],
            loss_decode=[
                dict(
                    avg_non_ignore=True,
                    class_weight=[
                        1.0,
                        4.0,
                        4.0,
                        4.0,
                        2.0,
                    ],
                    loss_weight=1.0,
                    type='CrossEntropyLoss',
                    use_sigmoid=False),
                dict(
                    classes='present',
                    loss_type='multi_class',
                    loss_weight=1.0,
                    per_image=False,
                    reduction='none',
                    type='LovaszLoss'),
            ],
            norm_cfg=dict(requires_grad=True, type='BN'),
            num_classes=5,
            type='FPNHead'),
        neck=dict(
            in_channels=[
                16,
                32,
                64,
                128,
            ],
            num_outs=4,
            out_channels=16,
            type='FPN'),
        pretrained=None,
        test_cfg=dict(mode='whole'),
        train_cfg=dict(),
        type='rkd_mm.LREncoderDecoder'),
    student_taps=dict(
        feat=dict(module='decode_head.dropout', source='input'),
        logits='decode_head.conv_seg'),
    teacher=dict(
        backbone=dict(
            base_channels=16,
            contract_dilation=True,
            depth=18,
            dilations=(
                1,
                1,
                1,
                1,
            ),
            init_cfg=None,
            norm_cfg=dict(requires_grad=True, type='BN'),
            norm_eval=False,
            num_stages=4,
            out_indices=(
                0,
                1,
                2,
                3,
            ),
            stem_channels=16,
            strides=(
                1,
                2,
                2,
                2,
            ),
            style='pytorch',
            type='ResNetV1c'),
        data_preprocessor=dict(
            bgr_to_rgb=True,
            mean=[
                123.675,
                116.28,
                103.53,
            ],
            pad_val=0,
            seg_pad_val=255,
            size_divisor=1,
            std=[
                58.395,
                57.12,
                57.375,
            ],
            type='SegDataPreProcessor'),
        decode_head=dict(
            align_corners=False,
            channels=16,
            dropout_ratio=0.1,
            feature_strides=[
                4,
                8,
                16,
                32,
            ],
            in_channels=[
                16,
                16,
                16,
                16,
            ],
            in_index=[
                0,
                1,
                2,
                3,
            ],
            loss_decode=[
                dict(
                    avg_non_ignore=True,
                    class_weight=[
                        1.0,
                        4.0,
                        4.0,
                        4.0,
                        2.0,
                    ],
                    loss_weight=1.0,
                    type='CrossEntropyLoss',
                    use_sigmoid=False),
                dict(
                    classes='present',
                    loss_type='multi_class',
                    loss_weight=1.0,
                    per_image=False,
                    reduction='none',
                    type='LovaszLoss'),
            ],
            norm_cfg=dict(requires_grad=True, type='BN'),
            num_classes=5,
            type='FPNHead'),
        neck=dict(
            in_channels=[
                16,
                32,
                64,
                128,
            ],
            num_outs=4,
            out_channels=16,
            type='FPN'),
        pretrained=None,
        test_cfg=dict(mode='whole'),
        train_cfg=dict(),
        type='EncoderDecoder'),
    teacher_cache=None,
    teacher_ckpt=None,
    teacher_config=None,
    teacher_taps=dict(
        feat=dict(module='decode_head.dropout', source='input'),
        logits='decode_head.conv_seg'),
    type='rkd_mm.ResolutionAwareDistiller')
model_wrapper_cfg = dict(
    broadcast_buffers=False,
    find_unused_parameters=False,
    type='MMSeparateDistributedDataParallel')
optim_wrapper = dict(
    constructor='rkd_mm.MultiOptimWrapperConstructor',
    discriminator=dict(
        optimizer=dict(betas=(
            0.5,
            0.999,
        ), lr=0.0002, type='Adam'),
        type='OptimWrapper'),
    student=dict(
        clip_grad=dict(max_norm=10.0),
        optimizer=dict(
            betas=(
                0.9,
                0.999,
            ),
            fused=True,
            lr=0.002,
            type='AdamW',
            weight_decay=0.0001),
        type='OptimWrapper'))
optimizer = dict(
    betas=(
        0.9,
        0.999,
    ),
    fused=True,
    lr=0.002,
    type='AdamW',
    weight_decay=0.0001)
param_scheduler = dict(
    discriminator=[
        dict(begin=0, by_epoch=False, end=1, factor=1.0, type='ConstantLR'),
    ],
    student=[
        dict(
            begin=0, by_epoch=False, end=2, start_factor=0.1, type='LinearLR'),
        dict(
            begin=2,
            by_epoch=False,
            end=4,
            eta_min=1e-05,
            power=1.0,
            type='PolyLR'),
    ])
randomness = dict(deterministic=False, seed=0)
resume = False
taps = dict(
    feat=dict(module='decode_head.dropout', source='input'),
    logits='decode_head.conv_seg')
test_cfg = dict(type='rkd_mm.DistillTestLoop')
test_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_prefix=dict(img_path='img_dir/test', seg_map_path='ann_dir/test'),
        data_root='data/synthetic_defects',
        generator_cfg=dict(
            img_size=64, num_test=4, num_train=8, num_val=4, seed=1),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs'),
        ],
        type='rkd_mm.SyntheticDefectDataset'),
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=False, type='DefaultSampler'))
test_evaluator = dict(
    iou_metrics=[
        'mIoU',
    ], type='rkd_mm.PerClassIoUMetric')
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_cfg = dict(max_iters=4, type='IterBasedTrainLoop', val_interval=2)
train_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        data_root='data/synthetic_defects',
        generator_cfg=dict(
            img_size=64, num_test=4, num_train=8, num_val=4, seed=1),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(direction='horizontal', prob=0.5, type='RandomFlip'),
            dict(direction='vertical', prob=0.5, type='RandomFlip'),
            dict(type='PackSegInputs'),
        ],
        type='rkd_mm.SyntheticDefectDataset'),
    num_workers=1,
    persistent_workers=True,
    sampler=dict(shuffle=True, type='InfiniteSampler'))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(direction='horizontal', prob=0.5, type='RandomFlip'),
    dict(direction='vertical', prob=0.5, type='RandomFlip'),
    dict(type='PackSegInputs'),
]
val_cfg = dict(type='rkd_mm.DistillValLoop')
val_dataloader = dict(
    batch_size=2,
    dataset=dict(
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        data_root='data/synthetic_defects',
        generator_cfg=dict(
            img_size=64, num_test=4, num_train=8, num_val=4, seed=1),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations'),
            dict(type='PackSegInputs'),
        ],
        type='rkd_mm.SyntheticDefectDataset'),
    num_workers=0,
    persistent_workers=False,
    sampler=dict(shuffle=False, type='DefaultSampler'))
val_evaluator = dict(
    iou_metrics=[
        'mIoU',
    ], type='rkd_mm.PerClassIoUMetric')
vis_backends = [
    dict(type='LocalVisBackend'),
]
visualizer = dict(
    name='visualizer',
    type='SegLocalVisualizer',
    vis_backends=[
        dict(type='LocalVisBackend'),
    ])
