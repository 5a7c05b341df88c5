"""Runs inside Autorubric's own venv: grade conversations against each criterion with Autorubric's
CriterionGrader (one LLM call per criterion, its default), on the served model.

Line protocol on stdin/stdout (so the bench can interleave the systems conversation by conversation): the first
line is the job (``base_url``, ``model``, ``timeout``, ``criteria``); every further line is one conversation
(``{"id", "turns"}``), answered by one line ``{"id", "answers": {criterion: "yes"|"no"|"na"|null}, "errors",
"seconds"}``. MET → yes, UNMET → no, CANNOT_ASSESS → na where the criterion allows na, else unanswered (null); a
verdict that stands in for a failed call (``error`` set) is unanswered."""

import asyncio
import json
import sys
import time

from autorubric import LLMConfig, Rubric
from autorubric.graders import CriterionGrader


def transcript(conv):
    return "\n".join(f"{t['speaker']}: {t['text']}" for t in conv["turns"])


async def grade(rubric, grader, allows_na, conv):
    report = await rubric.grade(to_grade=transcript(conv), grader=grader,
                                query="A customer-support conversation to assess.")
    row, errors = {}, []
    for item in report.report or []:
        name = item.criterion.name
        verdict = getattr(item.final_verdict, "value", item.final_verdict)
        if item.error:
            row[name] = None
            errors.append(f"{conv['id']}/{name}: {item.error[:160]}")
        elif verdict == "MET":
            row[name] = "yes"
        elif verdict == "UNMET":
            row[name] = "no"
        else:
            row[name] = "na" if allows_na.get(name) else None
    return row, errors


def main():
    out, sys.stdout = sys.stdout, sys.stderr  # the library may print; only the protocol goes to stdout
    job = json.loads(sys.stdin.readline())
    config = LLMConfig(model=f"openai/{job['model']}", api_base=job["base_url"], api_key="not-needed",
                       temperature=0.0, timeout=job["timeout"], max_retries=0)
    grader = CriterionGrader(judge_model_config=config)
    criteria = job["criteria"]
    rubric = Rubric.from_dict([{"name": c["id"], "weight": 10.0,
                                "requirement": c["question"] + (f" (Only when: {c['applies_when']})"
                                                                if c.get("applies_when") else "")}
                               for c in criteria])
    allows_na = {c["id"]: "na" in c["answers"] for c in criteria}
    print(json.dumps({"ready": True}), file=out, flush=True)
    loop = asyncio.new_event_loop()
    for line in sys.stdin:
        conv = json.loads(line)
        start = time.perf_counter()
        row, errors = loop.run_until_complete(grade(rubric, grader, allows_na, conv))
        print(json.dumps({"id": conv["id"], "answers": row, "errors": errors,
                          "seconds": time.perf_counter() - start}), file=out, flush=True)


if __name__ == "__main__":
    main()
