"""Provider batch mode (``rubricate score --batch``): the same requests as online scoring, sent through the
provider's batch API at half the price, collected later into the normal pipeline. See docs/performance.md."""

from scorer.batch.flow import BatchRun, Submission
from scorer.batch.jobs import BatchJob, SubmittedBatch, create_job, find_open_job, load_job
from scorer.batch.provider import BatchClient, BatchState, batch_provider

__all__ = ["BatchClient", "BatchJob", "BatchRun", "BatchState", "Submission", "SubmittedBatch", "batch_provider",
           "create_job", "find_open_job", "load_job"]
