# Your own images for classification, in mmpretrain's CustomDataset layout
#   <data_root>/{train,val,test}/<class>/*.png
# for a config that inherits one of ours (docs/new_task.md). It adds two
# keys that none of our configs has, so it can sit beside any of them in
# _base_, and a user config puts the three data sets into the loaders:
#   data = dict(data_root='data/my_cells')
#   train_dataloader = dict(dataset=dict(_base_.cls_folder.train, **data))
# (and val, test alike). Each data set holds _delete_=True: it replaces our
# data set (another type, other fields) instead of being merged into it.
#
# * Labels: mmpretrain numbers the class subfolders in sorted order, per
#   split, so every split needs the same subfolders. metainfo=dict(
#   classes=...) in `data` only renames them (in that sorted order).
# * cls_folder reads grey images (1 channel, as our grey ResNet-18);
#   cls_folder_rgb reads 3 channels (BGR; set model.backbone.in_channels=3
#   and a 3-value mean/std with to_rgb=True).
# * No resize: the images must share one size (add a Resize step
#   otherwise, as configs/_base_/datasets/elpv.py does).
# * Flips only, as ours: a finite augmentation set, so a distiller can
#   cache its teacher's outputs.
cls_folder, cls_folder_rgb = ({
    split: dict(
        _delete_=True,
        type='CustomDataset',
        data_prefix=split,
        with_label=True,
        pipeline=[dict(type='LoadImageFromFile', color_type=color)] + (
            [dict(type='RandomFlip', prob=0.5, direction='horizontal')]
            if split == 'train' else []) + [dict(type='PackInputs')])
    for split in ('train', 'val', 'test')
} for color in ('grayscale', 'color'))
