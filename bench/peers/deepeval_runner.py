"""Runs inside DeepEval's own venv: DeepEval's conversational G-Eval, one metric per criterion, with a custom model
class that calls the served model (the way DeepEval documents custom models).

Line protocol on stdin/stdout, as autorubric_runner.py: the job first, then one conversation per line, each
answered by one line ``{"id", "answers": {criterion: "yes"|"no"|null}, "errors", "seconds"}``.

G-Eval gives a 0–1 score per criterion; score ≥ the metric's threshold (0.5) → yes, else no (G-Eval has no "does
not apply"); a metric that raised is unanswered (null). Structured calls send ``json_object`` with the pydantic
schema (llama-cpp-python's dialect) and fall back to DeepEval's own JSON parsing."""

import json
import sys
import time
import urllib.request

from deepeval.metrics import ConversationalGEval
from deepeval.models import DeepEvalBaseLLM
from deepeval.test_case import ConversationalTestCase, MultiTurnParams, Turn


class ServedModel(DeepEvalBaseLLM):
    def __init__(self, base_url, model, timeout):
        self.base_url, self.model_name, self.timeout = base_url, model, timeout
        super().__init__(model)

    def load_model(self):
        return self

    def _call(self, prompt, schema):
        body = {"model": self.model_name, "temperature": 0.0,
                "messages": [{"role": "user", "content": prompt}]}
        if schema is not None:
            body["response_format"] = {"type": "json_object", "schema": schema.model_json_schema()}
        request = urllib.request.Request(f"{self.base_url}/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            text = json.load(response)["choices"][0]["message"]["content"] or ""
        if schema is not None:
            try:
                return schema.model_validate_json(text)
            except Exception:
                return text
        return text

    def generate(self, prompt, schema=None):
        return self._call(prompt, schema)

    async def a_generate(self, prompt, schema=None):
        return self._call(prompt, schema)

    def get_model_name(self):
        return f"served {self.model_name}"


def main():
    out, sys.stdout = sys.stdout, sys.stderr  # the library may print; only the protocol goes to stdout
    job = json.loads(sys.stdin.readline())
    model = ServedModel(job["base_url"], job["model"], job["timeout"])
    metrics = {c["id"]: ConversationalGEval(
        name=c["id"], model=model, async_mode=False,
        evaluation_params=[MultiTurnParams.ROLE, MultiTurnParams.CONTENT],
        criteria=c["question"] + (f" (Only when: {c['applies_when']})" if c.get("applies_when") else ""))
        for c in job["criteria"]}
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        conv = json.loads(line)
        start = time.perf_counter()
        turns = [Turn(role="user" if t["speaker"] == "customer" else "assistant", content=t["text"])
                 for t in conv["turns"]]
        case = ConversationalTestCase(turns=turns)
        row, errors = {}, []
        for cid, metric in metrics.items():
            try:
                score = metric.measure(case, _show_indicator=False)
                row[cid] = "yes" if score >= metric.threshold else "no"
            except Exception as exc:
                row[cid] = None
                errors.append(f"{conv['id']}/{cid}: {type(exc).__name__}: {str(exc)[:160]}")
        print(json.dumps({"id": conv["id"], "answers": row, "errors": errors,
                          "seconds": time.perf_counter() - start}), file=out, flush=True)


if __name__ == "__main__":
    main()
