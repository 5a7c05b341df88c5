"""Runs inside Autorubric's own venv: grade each conversation against each criterion with Autorubric's
CriterionGrader (one LLM call per criterion, its default), on the served model. Reads the job as JSON on stdin,
prints ``{"answers": {conversation: {criterion: "yes"|"no"|"na"|null}}, "errors": [...]}`` as the last line.

MET → yes, UNMET → no, CANNOT_ASSESS → na where the criterion allows na, else unanswered (null); a verdict that
stands in for a failed call (``error`` set) is unanswered."""

import asyncio
import json
import sys

from autorubric import LLMConfig, Rubric
from autorubric.graders import CriterionGrader


def transcript(conv):
    return "\n".join(f"{t['speaker']}: {t['text']}" for t in conv["turns"])


async def main(job):
    config = LLMConfig(model=f"openai/{job['model']}", api_base=job["base_url"], api_key="not-needed",
                       temperature=0.0, timeout=job["timeout"], max_retries=0)
    grader = CriterionGrader(judge_model_config=config)
    criteria = job["criteria"]
    rubric = Rubric.from_dict([{"name": c["id"], "weight": 10.0,
                                "requirement": c["question"] + (f" (Only when: {c['applies_when']})"
                                                                if c.get("applies_when") else "")}
                               for c in criteria])
    allows_na = {c["id"]: "na" in c["answers"] for c in criteria}
    answers, errors = {}, []
    for conv in job["conversations"]:
        report = await rubric.grade(to_grade=transcript(conv), grader=grader,
                                    query="A customer-support conversation to assess.")
        row = {}
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
        answers[conv["id"]] = row
        print(f"autorubric {conv['id']}: {row}", file=sys.stderr, flush=True)
    return {"answers": answers, "errors": errors}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.load(sys.stdin)))))
