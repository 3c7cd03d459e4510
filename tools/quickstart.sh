#!/usr/bin/env bash
# The README's main job on the built-in defect data (2-core CPU, ~2 h):
# train + test the HR teacher, the LR-only students and the RKD students at
# x0.5 and x0.25, then print one table. Rerunning it skips finished runs and
# resumes interrupted ones.
#   bash tools/quickstart.sh [WORK_ROOT [TOOL ARGS...]]  (default: work_dirs)
# TOOL ARGS go to every train and test call, e.g. a smoke run:
#   bash tools/quickstart.sh /tmp/smoke --cfg-options train_cfg.max_iters=2
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=${1:-work_dirs}
EXTRA=("${@:2}")

run() {  # run NAME CONFIG [ARGS]: train (or resume), test on the test split
  local name=$1 config=$2 wd="$ROOT/$1"
  shift 2
  local start=$SECONDS
  if [ -f "$wd/test/done" ]; then
    echo "$name: finished earlier, skipped"
    return
  fi
  if [ -f "$wd/last_checkpoint" ]; then
    python tools/train.py "$config" --work-dir "$wd" --resume "$@" \
      ${EXTRA[@]+"${EXTRA[@]}"}
  else
    python tools/train.py "$config" --work-dir "$wd" "$@" \
      ${EXTRA[@]+"${EXTRA[@]}"}
  fi
  local ckpt
  ckpt=$(ls -t "$wd"/best_mIoU_iter_*.pth | head -n 1)
  python tools/test.py "$config" "$ckpt" --work-dir "$wd/test" "$@" \
    ${EXTRA[@]+"${EXTRA[@]}"}
  touch "$wd/test/done"
  echo "$name: $((SECONDS - start)) s (train + test), checkpoint $ckpt"
}

# the teacher goes where the RKD configs look for it (model.teacher_ckpt)
run defect_seg_r50_hr configs/teachers/defect_seg_r50_hr.py
run lr_only_r18_x0.5 configs/baselines/defect_seg_r18_lr.py
run lr_only_r18_x0.25 configs/baselines/defect_seg_r18_lr_x0.25.py
run rkd_r50_to_r18_x0.5 configs/rkd/defect_seg_r50_to_r18_lr.py \
  --cfg-options "model.teacher_ckpt=$ROOT/defect_seg_r50_hr/best_mIoU_iter_*.pth"
run rkd_r50_to_r18_x0.25 configs/rkd/defect_seg_r50_to_r18_lr_x0.25.py \
  --cfg-options "model.teacher_ckpt=$ROOT/defect_seg_r50_hr/best_mIoU_iter_*.pth"

python tools/analysis_tools/summarize_results.py "$ROOT"
