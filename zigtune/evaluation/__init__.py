"""Model evaluation: does the code the model writes do the requested task, on tasks it never saw? No dagster here.

- ``suite``: task suites as data (the JSONL format: prompt, visible files, hidden tests, a check).
- ``judging``: a solution and the task's hidden files compiled together by the Zig engine, the check run.
- ``contamination``: which tasks share text with the training data (seen / unseen).
- ``eval_split``: the dataset's held-out split converted to tasks (``zig_source`` cuts files into stubs and tests).
- ``selfcheck``: cheating solutions a suite must reject.
- ``decoding``: the pinned decoding settings every result row is stamped with.
- ``replies``: the model's replies, from two backends behind one interface — ``hf`` (transformers + peft, run out
  of process by the training executor's worker machinery) and ``openai`` (any OpenAI-compatible server).
- ``scoring``: judged samples → compile rate, pass@1, pass@k, fine-tuned − base with a bootstrap interval.
- ``report``: markdown tables and the chart; ``tracking``: the results in MLflow; ``progress``: rate and ETA lines.
- ``steps``: the steps of the ``model_evaluation`` asset that need no Dagster.
- ``cli``: ``python -m zigtune.evaluation score|ask``; ``worker``: the GPU side of the ``hf`` backend.
"""
