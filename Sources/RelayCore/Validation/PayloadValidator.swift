// Validates a decoded inbound payload against its source's rules, collecting every bad field at once.
import Foundation

/// A payload that passed validation: its fields (unknown ones kept) and derived identity.
package struct ValidatedPayload: Sendable {
    package var fields: [String: JSONValue]
    package var dedupeKey: String
    package var subject: String?
}

package enum PayloadValidator {
    package static func validate(_ object: [String: JSONValue], rules: PayloadRules) -> Result<ValidatedPayload, ValidationFailure> {
        var errors: [FieldError] = []
        for field in rules.requiredFields.sorted() where object[field] == nil || object[field] == .null {
            errors.append(FieldError(field: field, reason: "is required"))
        }
        for (field, check) in checks(for: rules) {
            guard let value = object[field], value != .null else { continue }
            if let reason = check(value) { errors.append(FieldError(field: field, reason: reason)) }
        }
        if rules.kind == .adobeRun, let details = object["details"], details != .null {
            errors.append(contentsOf: validateRunDetails(details, rules: rules))
        }
        guard errors.isEmpty else { return .failure(ValidationFailure(errors.sorted { $0.field < $1.field })) }
        let root = JSONValue.object(object)
        return .success(ValidatedPayload(
            fields: object,
            dedupeKey: dedupeKey(root, fields: rules.dedupeFields),
            subject: object[rules.kind.subjectField]?.stringValue))
    }

    /// The single-field checks of a kind, in field order.
    private static func checks(for rules: PayloadRules) -> [(String, (JSONValue) -> String?)] {
        let enumCheck: (String) -> (JSONValue) -> String? = { field in
            { FieldRules.enumMember($0, allowed: rules.enums[field] ?? []) }
        }
        switch rules.kind {
        case .sitecoreExport:
            return [
                ("apiUrl", FieldRules.absoluteHTTPURL),
                ("audienceExportName", FieldRules.nonEmptyString),
                ("clientKey", FieldRules.nonEmptyString),
                ("definitionType", enumCheck("definitionType")),
                ("executionRef", FieldRules.uuid),
                ("executionType", enumCheck("executionType")),
                ("friendlyId", { FieldRules.friendlyID($0, maxLength: rules.friendlyIdMaxLength) }),
                ("segmentName", FieldRules.nonEmptyString),
                ("status", enumCheck("status")),
            ]
        case .adobeRun:
            return [
                ("audienceId", FieldRules.nonEmptyString),
                ("runId", FieldRules.nonEmptyString),
                ("status", enumCheck("status")),
                ("differentialIngestion", FieldRules.boolean),
                ("dataFilterStartTime", FieldRules.nonNegativeNumber),
                ("dataFilterEndTime", FieldRules.nonNegativeNumber),
                ("createdAt", FieldRules.nonNegativeNumber),
                ("createdBy", FieldRules.nonEmptyString),
            ]
        case .adobeOperation:
            return [
                ("operationId", FieldRules.nonEmptyString),
                ("status", enumCheck("status")),
                ("audienceId", FieldRules.nonEmptyString),
            ]
        }
    }

    private static func validateRunDetails(_ details: JSONValue, rules: PayloadRules) -> [FieldError] {
        guard case .array(let entries) = details else {
            return [FieldError(field: "details", reason: "must be an array, got \(details.typeDescription)")]
        }
        var errors: [FieldError] = []
        for (index, entry) in entries.enumerated() {
            guard case .object(let stage) = entry else {
                errors.append(FieldError(field: "details[\(index)]", reason: "must be an object, got \(entry.typeDescription)"))
                continue
            }
            for field in ["stage", "status"] {
                if let value = stage[field], value != .null,
                   let reason = FieldRules.enumMember(value, allowed: rules.enums["details.\(field)"] ?? []) {
                    errors.append(FieldError(field: "details[\(index)].\(field)", reason: reason))
                }
            }
        }
        return errors
    }

    /// Joins the dedupe fields' values; `a.*.b` collects `b` from every entry of array `a`.
    static func dedupeKey(_ root: JSONValue, fields: [String]) -> String {
        fields.map { field -> String in
            // A plain top-level name (the defaults: executionRef, status) needs no path parsing.
            if !field.utf8.contains(UInt8(ascii: ".")), case .object(let object) = root {
                return object[field]?.renderedText ?? ""
            }
            let parts = field.components(separatedBy: ".*.")
            if parts.count == 2, case .array(let items)? = root.value(at: FieldPath(parts[0])) {
                return items.map { $0.value(at: FieldPath(parts[1]))?.renderedText ?? "" }.joined(separator: ",")
            }
            return root.value(at: FieldPath(field))?.renderedText ?? ""
        }.joined(separator: "|")
    }
}
