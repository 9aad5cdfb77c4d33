// Things a valid routing table does that an operator probably did not mean: reported by `routes check`, logged by `serve`.

package enum RoutingTableWarnings {
    /// One sentence per questionable route, in table order.
    package static func warnings(_ table: RoutingTable) -> [String] {
        var warnings: [String] = []
        for route in table.routes where route.fetchExport {
            if let named = route.namedStatuses {
                let others = named.filter { $0 != Route.exportStatus }
                guard !others.isEmpty else { continue }
                warnings.append("route '\(route.name)': fetchExport for status \(others.joined(separator: ", ")) as its predicates name it; "
                    + "Sitecore publishes an export only for \(Route.exportStatus), so those jobs poll apiUrl until pollDeadline and fail")
            } else {
                warnings.append("route '\(route.name)': its predicates admit any status, but fetchExport fetches only for status "
                    + "\(Route.exportStatus) (other notifications match nothing here); "
                    + "add {field: status, equals: \(Route.exportStatus)} to say so, or name other statuses to fetch for them too")
            }
        }
        return warnings
    }
}
