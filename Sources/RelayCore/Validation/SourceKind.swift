// The three inbound payload shapes and their built-in defaults (SPEC §1–2).

package enum SourceKind: String, Sendable, CaseIterable {
    case sitecoreExport = "sitecore-export"
    case adobeRun = "adobe-run"
    case adobeOperation = "adobe-operation"

    /// CloudEvents `type` of events from this kind of source.
    package var eventType: String {
        switch self {
        case .sitecoreExport: return "com.sitecore.cdp.audience-export.notification"
        case .adobeRun: return "com.adobe.aep.external-audience.run-status"
        case .adobeOperation: return "com.adobe.aep.external-audience.operation-status"
        }
    }

    /// Field whose value becomes the CloudEvents `subject`.
    package var subjectField: String {
        switch self {
        case .sitecoreExport: return "friendlyId"
        case .adobeRun: return "runId"
        case .adobeOperation: return "operationId"
        }
    }

    /// Default message key: keeps one export's / one audience's events on one partition.
    package var defaultKey: Template {
        switch self {
        case .sitecoreExport: return Template(field: FieldPath("friendlyId"))
        case .adobeRun, .adobeOperation: return Template(field: FieldPath("audienceId"))
        }
    }

    /// Fields that must be present unless a source overrides the list.
    package var defaultRequiredFields: [String] {
        switch self {
        case .sitecoreExport:
            return ["apiUrl", "audienceExportName", "clientKey", "definitionType", "executionRef",
                    "executionType", "friendlyId", "segmentName", "status"]
        case .adobeRun: return ["audienceId", "runId", "status"]
        case .adobeOperation: return ["operationId", "status"]
        }
    }

    /// Enum-valued fields and their default allowed values (each source may override each set).
    package var defaultEnums: [String: [String]] {
        switch self {
        case .sitecoreExport:
            return [
                "definitionType": ["FULL_SYNC", "DELTA"],
                "executionType": ["INSTANT_RUN", "SCHEDULED"],
                "status": ["PENDING_GUEST_CONTEXT", "PENDING_SEGMENTATION", "PENDING_EMR_SUBMIT",
                           "PENDING_EMR_JOB", "SUCCESS", "FAILED", "ALERT"],
            ]
        case .adobeRun:
            // (decision) Adobe documents SUCCESS and FAILED plus "in-progress values"; these are the ones seen.
            let runStatuses = ["QUEUED", "PENDING", "PROCESSING", "RUNNING", "SUCCESS", "FAILED"]
            return [
                "status": runStatuses,
                "details.stage": ["DATASET_INGEST", "PROFILE_STORE_INGEST"],
                "details.status": runStatuses,
            ]
        case .adobeOperation:
            return ["status": ["SUCCESS", "FAILED", "PROCESSING"]]
        }
    }

    /// Fields forming the dedupe key, in order (SPEC §1–2). Sitecore reports one execution once per
    /// status (PENDING_*, then SUCCESS or FAILED): each status is news, the same one twice is not.
    package var defaultDedupeFields: [String] {
        switch self {
        case .sitecoreExport: return ["executionRef", "status"]
        case .adobeRun: return ["audienceId", "runId", "status", "details.*.status"]
        case .adobeOperation: return ["operationId", "status"]
        }
    }

    /// Every field name the validator knows for this kind (enum overrides and `required` must name one).
    package var knownFields: Set<String> {
        switch self {
        case .sitecoreExport: return Set(defaultRequiredFields)
        case .adobeRun:
            return ["audienceId", "runId", "status", "details", "details.stage", "details.status",
                    "differentialIngestion", "dataFilterStartTime", "dataFilterEndTime", "createdAt", "createdBy"]
        case .adobeOperation: return ["operationId", "status", "audienceId"]
        }
    }
}
