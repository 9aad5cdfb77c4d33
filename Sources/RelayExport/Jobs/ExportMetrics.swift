// Export counters for /metrics: records, bytes, malformed and dead records, finished jobs by outcome.
import Metrics

struct ExportMetrics: Sendable {
    let records = Counter(label: "relay_export_records_total")
    let bytes = Counter(label: "relay_export_bytes_total")
    let malformed = Counter(label: "relay_export_records_malformed_total")
    let dead = Counter(label: "relay_export_records_dead_total")
    let done = Counter(label: "relay_export_jobs_finished_total", dimensions: [("state", "done")])
    let failed = Counter(label: "relay_export_jobs_finished_total", dimensions: [("state", "dead")])
    let polls = Counter(label: "relay_export_polls_not_ready_total")
    let retries = Counter(label: "relay_export_job_retries_total")
}
