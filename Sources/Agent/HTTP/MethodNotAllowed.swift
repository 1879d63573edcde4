import Hummingbird

extension Router {
    /// Answers 405 with an `Allow` header for every known path asked with a method it does not serve.
    ///
    /// Call after every controller has added its routes: it reads the router's own route table.
    func addMethodNotAllowedRoutes() {
        var methodsByPath: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            methodsByPath[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        let all: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch]
        for (_, entry) in methodsByPath {
            let allow = entry.methods.map(\.rawValue).sorted().joined(separator: ", ")
            for method in all where !entry.methods.contains(method) {
                on(entry.path, method: method) { _, _ -> Response in
                    throw HTTPError(.methodNotAllowed, headers: [.allow: allow], message: "method \(method.rawValue) not allowed; allowed: \(allow)")
                }
            }
        }
    }
}
