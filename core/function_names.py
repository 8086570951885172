"""Every orchestrator and activity name, in one place.

Each activity and sub-orchestration name is paired with its request and result types in
``core.contracts``; decorators register functions under ``contract.name`` and orchestrators call
them through the same contract objects, so a name is never typed twice.
"""

# Orchestrators
ANALYSIS_JOB = "analysis_job"
AGENTIC_JOB = "agentic_job"
ENSURE_ANALYZER = "ensure_analyzer"
MONITOR_OPERATION = "monitor_operation"
ANALYSIS_BATCH = "analysis_batch"

# Storage activities (activities/storage.py)
INGEST_INPUT = "ingest_input"
CREATE_SAS = "create_sas"
SAVE_RESULTS = "save_results"
PACKAGE_INPUTS = "package_inputs"
CLEANUP_JOB = "cleanup_job"

# Content Understanding activities (activities/analysis.py)
GET_ANALYZER_STATE = "get_analyzer_state"
BEGIN_CREATE_ANALYZER = "begin_create_analyzer"
BEGIN_ANALYSIS = "begin_analysis"
GET_OPERATION = "get_operation"

# The per-document job's batch activities (activities/batch.py)
PREPARE_INPUTS = "prepare_inputs"
BEGIN_ANALYSES = "begin_analyses"
POLL_OPERATIONS = "poll_operations"
SAVE_BATCH = "save_batch"
