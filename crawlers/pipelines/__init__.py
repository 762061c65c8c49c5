"""Item pipelines: validate and de-duplicate, then land records in a JSONL file per run."""
