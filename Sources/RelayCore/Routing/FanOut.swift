// Resolves an accepted event into the deliveries its matching routes ask for (pure).

/// One destination an event must reach, with the key and headers rendered for it.
package struct PlannedDelivery: Sendable, Hashable {
    package var destination: String
    package var key: String?
    package var headers: [Header]
    /// Route that produced it (the first matching route wins when several name the destination).
    package var route: String

    package struct Header: Sendable, Hashable {
        package var name: String
        package var value: String
        package init(name: String, value: String) { self.name = name; self.value = value }
    }

    package init(destination: String, key: String?, headers: [Header], route: String) {
        self.destination = destination
        self.key = key
        self.headers = headers
        self.route = route
    }
}

/// An export to fetch from the event's `apiUrl` and forward to a route's destinations.
package struct PlannedExport: Sendable, Hashable {
    /// The first matching route with `fetchExport`; its `export:` options shape the records.
    package var route: String
    /// Destinations of every matching `fetchExport` route, each once.
    package var destinations: [String]
    package var executionRef: ExecutionRef
    package var apiURL: String

    package init(route: String, destinations: [String], executionRef: ExecutionRef, apiURL: String) {
        self.route = route
        self.destinations = destinations
        self.executionRef = executionRef
        self.apiURL = apiURL
    }
}

/// What the routing table decided for one event.
package struct FanOutPlan: Sendable {
    package var matchedRoutes: [String]
    /// The notification itself, to the destinations of matching routes that do not fetch the export.
    package var deliveries: [PlannedDelivery]
    package var export: PlannedExport?
}

package enum FanOut {
    /// Every matching route contributes its destinations; a destination named twice gets one delivery.
    package static func plan(source: SourceConfig, fields: [String: JSONValue], table: RoutingTable) -> FanOutPlan {
        let event = JSONValue.object(fields)
        var matched: [String] = []
        var deliveries: [PlannedDelivery] = []
        var seen = Set<String>()
        var export: PlannedExport?
        for route in table.routes where route.matches(source: source.name, event: event) {
            if route.fetchExport {
                // A FAILED, ALERT or PENDING_* notification has no export to fetch (unless the route names its status).
                guard route.fetchesExport(for: event) else { continue }
                matched.append(route.name)
                if let apiURL = fields["apiUrl"]?.stringValue, let executionRef = fields["executionRef"]?.stringValue.flatMap(ExecutionRef.init) {
                    var plan = export ?? PlannedExport(route: route.name, destinations: [], executionRef: executionRef, apiURL: apiURL)
                    for destination in route.destinations where !plan.destinations.contains(destination) {
                        plan.destinations.append(destination)
                    }
                    export = plan
                }
                continue
            }
            matched.append(route.name)
            let renderedKey = (route.key ?? source.kind.defaultKey).render(event)
            let headers = route.headers.map { PlannedDelivery.Header(name: $0.name, value: $0.value.render(event)) }
            for destination in route.destinations where seen.insert(destination).inserted {
                deliveries.append(PlannedDelivery(
                    destination: destination,
                    key: renderedKey.isEmpty ? nil : renderedKey,
                    headers: headers,
                    route: route.name))
            }
        }
        return FanOutPlan(matchedRoutes: matched, deliveries: deliveries, export: export)
    }
}
