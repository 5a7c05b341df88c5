"""Deterministic rule criteria: the ``check:`` block (``check``), its normaliser and matcher, timing checks and the
rule engine (``engine.answer_rules``). Import the submodules; this package imports nothing so ``scorer.types`` can
use :class:`scorer.rules.check.Check`."""

__all__: list[str] = []
