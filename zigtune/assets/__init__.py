"""One pipeline stage per module: docs, qa_pairs, validation, dataset, training, evaluation."""
