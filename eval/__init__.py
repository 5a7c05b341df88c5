"""Evaluation: labelled datasets, agreement metrics, calibration, the learned judge, the harness and its report."""

__all__: list[str] = []
