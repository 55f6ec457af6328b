"""Model evaluation: does the code the model writes compile and run the requested task? No dagster here.

- ``tasks``: what the models are asked — the eval split's code tasks and a gold set from the reference's
  runnable examples, each marked by its source.
- ``decoding``: the pinned decoding settings every result row is stamped with.
- ``generation``: the two generation backends behind one interface — ``hf`` (transformers + peft, run out
  of process by the training executor's worker machinery) and ``openai`` (any OpenAI-compatible server).
- ``scoring``: the Zig engine's verdicts turned into compile / run / correct-output / pass rates, pass@k.
- ``tracking``: the results as an MLflow run next to the training run.
- ``worker``: ``python -m zigtune.evaluation.worker``, the GPU side of the ``hf`` backend.
"""
