"""Config-level functions that build models, datasets or runs: the floor
above models, datasets and the engine, below the tools and the experiment
runner.

* :mod:`.lr_scale`: read and set the LR scale of any config (and make the
  LR-information ceiling of an HR one);
* :mod:`.complexity`: FLOPs and parameters of the deployed model;
* :mod:`.latency`: CPU latency of deployed models, timed interleaved;
* :mod:`.loss_gradients`: each distillation term's gradient on the student
  and the project's weight rule (calibration);
* :mod:`.teacher_cache_fill`: filling a distiller's teacher-output cache
  ahead of training.
"""
